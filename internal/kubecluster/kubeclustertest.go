package kubecluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/internal/flock"
)

// hostLock is the file that lets one cluster run on a host at a time (the
// kubelet owns the host's pod cgroups and some sysctls).
func hostLock() string { return filepath.Join(os.TempDir(), "cmcgrader-kubecluster.lock") }

// ForTest starts a cluster for the test t and stops it in t.Cleanup. It
// waits for any other test cluster on the host to stop first, removes
// what a test process that died left behind, and fails the test if the
// cluster does not start. Progress goes to the test log.
func ForTest(t testing.TB) *Cluster {
	t.Helper()
	ctx := t.Context()
	waitStart := time.Now()
	unlock, err := flock.Lock(ctx, hostLock())
	if err != nil {
		t.Fatalf("waiting for the host's test cluster lock %s: %v", hostLock(), err)
	}
	if waited := time.Since(waitStart); waited > time.Second {
		t.Logf("kubecluster: waited %s for another test cluster on this host", waited.Round(time.Second))
	}
	if err := cleanStale(testLog{t}); err != nil {
		unlock()
		t.Fatalf("cleaning up after an earlier test cluster: %v", err)
	}
	c, err := Start(ctx, Options{Log: testLog{t}})
	if err != nil {
		unlock()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer unlock()
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// testLog writes progress lines to a test's log.
type testLog struct{ t testing.TB }

// Write logs p, one log call per write.
func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
