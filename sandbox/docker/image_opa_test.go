package docker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostOPA builds opa with a stand-in for the go command, which notes
// its arguments and environment, and checks the build is kept by version.
func TestHostOPA(t *testing.T) {
	dir := t.TempDir()
	fakeGo := filepath.Join(dir, "go")
	calls := filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho \"$* CGO_ENABLED=$CGO_ENABLED GOOS=$GOOS GOARCH=$GOARCH\" >> " + calls + "\nmkdir -p \"$GOBIN\" && echo opa > \"$GOBIN/opa\"\n"
	if err := os.WriteFile(fakeGo, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	log := imageTestLog(t)
	opts := BaseOptions{GoVersion: "1.26.8", TempDir: dir, GoCommand: fakeGo}.withDefaults()
	for range 2 {
		bin, err := hostOPA(context.Background(), log, opts)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, "cmcgrader-opa", DefaultOPAVersion, "opa"); bin != want {
			t.Errorf("opa at %s, want %s", bin, want)
		}
	}
	data, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 {
		t.Fatalf("go ran %d times, want once (then cached): %q", len(lines), lines)
	}
	for _, want := range []string{"install -trimpath", "github.com/open-policy-agent/opa@v" + DefaultOPAVersion, "CGO_ENABLED=0 GOOS=linux GOARCH=amd64"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("go %s: lacks %q", lines[0], want)
		}
	}

	opts.OPAVersion = "latest"
	if _, err := hostOPA(context.Background(), log, opts); err == nil || !strings.Contains(err.Error(), "want a release like") {
		t.Errorf("opa version latest: err = %v", err)
	}
	opts.OPAVersion, opts.GoCommand = "9.9.9", filepath.Join(dir, "missing-go")
	if _, err := hostOPA(context.Background(), log, opts); err == nil || !strings.Contains(err.Error(), "build opa 9.9.9") {
		t.Errorf("no go command: err = %v", err)
	}
}
