package system_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/meshery/meshery/mesheryctl/internal/cli/root/system"
)

type cmcStatusSource struct {
	comps []system.Component
	err   error
}

func (s cmcStatusSource) Status(context.Context) ([]system.Component, error) { return s.comps, s.err }

func cmcStatusRun(src system.StatusSource, args ...string) (string, error) {
	cmd := system.NewStatusCmd(src)
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

var cmcStatusComps = []system.Component{
	{Name: "meshery-server", Status: "running", Version: "v0.8.0"},
	{Name: "meshery-broker", Status: "running", Version: "v2.10.5"},
	{Name: "meshery-meshsync", Status: "stopped", Version: "v0.6.9"},
}

func TestCMCStatusTable(t *testing.T) {
	out, err := cmcStatusRun(cmcStatusSource{comps: cmcStatusComps})
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	want := [][]string{
		{"NAME", "STATUS", "VERSION"},
		{"meshery-broker", "running", "v2.10.5"},
		{"meshery-meshsync", "stopped", "v0.6.9"},
		{"meshery-server", "running", "v0.8.0"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, line := range lines {
		if got := strings.Join(strings.Fields(line), " "); got != strings.Join(want[i], " ") {
			t.Errorf("line %d = %q, want fields %v", i, line, want[i])
		}
	}
	if !strings.Contains(lines[1], "meshery-broker  ") {
		t.Errorf("columns are not separated by two spaces: %q", lines[1])
	}
}

func TestCMCStatusSourceError(t *testing.T) {
	cause := errors.New("connection refused")
	_, err := cmcStatusRun(cmcStatusSource{err: cause})
	if !errors.Is(err, cause) {
		t.Fatalf("err = %v, want one wrapping the source's error", err)
	}
}

func TestCMCStatusStrict(t *testing.T) {
	out, err := cmcStatusRun(cmcStatusSource{comps: cmcStatusComps}, "--strict")
	if !errors.Is(err, system.ErrNotHealthy) {
		t.Fatalf("err = %v, want one wrapping ErrNotHealthy", err)
	}
	if !strings.Contains(err.Error(), "meshery-meshsync") {
		t.Errorf("error %q does not name meshery-meshsync", err)
	}
	if !strings.Contains(out, "meshery-server") {
		t.Errorf("table not printed before failing:\n%s", out)
	}
	healthy := []system.Component{{Name: "meshery-server", Status: "running", Version: "v0.8.0"}}
	if _, err := cmcStatusRun(cmcStatusSource{comps: healthy}, "--strict"); err != nil {
		t.Errorf("all running with --strict: %v", err)
	}
}
