package kubecluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/internal/flock"
)

// TestStartFailureTearsDown starts a cluster whose API server exits at
// once: Start must fail naming it and showing its log, and leave no
// process, root or changed sysctl behind (etcd had started).
func TestStartFailureTearsDown(t *testing.T) {
	unlock, err := flock.Lock(t.Context(), hostLock())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	cache := t.TempDir()
	key, err := cacheKey(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(cache, key, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	const script = "#!/bin/sh\necho \"broken component: $0\" >&2\nexit 3\n"
	for _, name := range kubeCommands {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(cache, key, "pause"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	before, err := readSysctls()
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	c, err := Start(t.Context(), Options{CacheDir: cache, Log: &log})
	if err == nil {
		c.Stop()
		t.Fatal("Start with a broken kube-apiserver: no error")
	}
	t.Logf("Start: %v", err)
	for _, want := range []string{"kube-apiserver", "broken component"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start's error does not hold %q", want)
		}
	}
	roots, _ := filepath.Glob(filepath.Join(os.TempDir(), rootPrefix+"*"))
	if len(roots) > 0 {
		t.Errorf("cluster roots %v left after a failed Start", roots)
	}
	if left := processesMatching(os.TempDir() + "/" + rootPrefix); len(left) > 0 {
		t.Errorf("processes %v of the failed cluster still run", left)
	}
	after, err := readSysctls()
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range before {
		if after[name] != v {
			t.Errorf("sysctl %s is %s after a failed Start, was %s", name, after[name], v)
		}
	}
	if !strings.Contains(log.String(), "etcd up") {
		t.Errorf("progress log %q does not show etcd starting (the test must tear down a started component)", log.String())
	}
}
