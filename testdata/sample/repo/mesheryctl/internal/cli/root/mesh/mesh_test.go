package mesh

import (
	"bytes"
	"strings"
	"testing"
)

func TestMeshList(t *testing.T) {
	cmd := NewMeshCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"list"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(Supported)+1 {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(Supported)+1, out.String())
	}
	if f := strings.Fields(lines[1]); f[0] != "istio" || f[1] != "meshery-istio" {
		t.Errorf("first row = %q", lines[1])
	}
}
