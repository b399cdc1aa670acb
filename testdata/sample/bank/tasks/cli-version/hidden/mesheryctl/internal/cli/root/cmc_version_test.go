package root_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/meshery/meshery/mesheryctl/internal/cli/root"
)

func cmcVersionRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	oldVersion, oldCommit := root.Version, root.Commit
	root.Version, root.Commit = "v1.2.3", "c0ffee1"
	t.Cleanup(func() { root.Version, root.Commit = oldVersion, oldCommit })
	cmd := root.NewRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"version"}, args...))
	err := cmd.Execute()
	return out.String(), err
}

func TestCMCVersionDefault(t *testing.T) {
	out, err := cmcVersionRun(t)
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	if want := "mesheryctl v1.2.3 (commit c0ffee1)\n"; out != want {
		t.Errorf("output = %q, want %q", out, want)
	}
}

func TestCMCVersionShort(t *testing.T) {
	out, err := cmcVersionRun(t, "--short")
	if err != nil {
		t.Fatalf("version --short: %v", err)
	}
	if out != "v1.2.3\n" {
		t.Errorf("output = %q, want %q", out, "v1.2.3\n")
	}
}

func TestCMCVersionJSON(t *testing.T) {
	for _, args := range [][]string{{"--output", "json"}, {"-o", "json"}} {
		out, err := cmcVersionRun(t, args...)
		if err != nil {
			t.Fatalf("version %v: %v", args, err)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("version %v: output %q is not JSON: %v", args, out, err)
		}
		if got["version"] != "v1.2.3" || got["commit"] != "c0ffee1" {
			t.Errorf("version %v = %v", args, got)
		}
	}
	if _, err := cmcVersionRun(t, "--output", "yaml"); err == nil {
		t.Error("--output yaml succeeded, want an error")
	}
}
