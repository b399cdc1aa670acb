package batch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader"
	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/cmcgrader/cmcgrader/grader/gradertest"
	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/sandbox"
)

// newCohort serves a fork, writes a roster of candidates on its branches
// (id:branch) and opens a store holding it.
func newCohort(t *testing.T, rows ...string) (*store.Store, string) {
	t.Helper()
	return newCohortOf(t, gittest.NewForkRepo(t), rows...)
}

// newCohortOf is newCohort of the fork given.
func newCohortOf(t *testing.T, fork *gittest.ForkRepo, rows ...string) (*store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("id,repo,branch\n")
	for _, r := range rows {
		id, branch, _ := strings.Cut(r, ":")
		fmt.Fprintf(&csv, "%s,%s,%s\n", id, fork.URL, branch)
	}
	name := filepath.Join(dir, "roster.csv")
	if err := os.WriteFile(name, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	roster, err := cohort.LoadRoster(name)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), filepath.Join(dir, "cohort.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.SetRoster(t.Context(), roster); err != nil {
		t.Fatal(err)
	}
	return st, dir
}

func newRunner(t *testing.T, st *store.Store, run sandbox.Runner, parallel int) *Runner {
	return &Runner{
		Grader:   &grader.Grader{Runner: run, Images: gradertest.FixedImages{}, Log: gittest.Log(t)},
		Store:    st,
		Bank:     gradertest.Bank(),
		Holder:   "test",
		TTL:      5 * time.Second,
		Parallel: parallel,
		Log:      gittest.Log(t),
	}
}

func states(t *testing.T, st *store.Store) map[string]store.CandidateState {
	t.Helper()
	cs, err := st.Candidates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.CandidateState{}
	for _, c := range cs {
		out[c.ID] = c
	}
	return out
}

func TestRunGradesEveryCandidateOnce(t *testing.T) {
	st, _ := newCohort(t, "cmc-1:cmc", "cmc-2:cmc", "cmc-3:nosuch", "cmc-4:cmc")
	r := newRunner(t, st, &gradertest.ScriptedRunner{Default: "pass"}, 2)
	var progress strings.Builder
	c := NewCounter(&progress, 4, false)
	r.Progress = c
	if err := r.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := states(t, st)
	for _, id := range []string{"cmc-1", "cmc-2", "cmc-4"} {
		s := got[id]
		if s.State != store.Done || s.Attempts != 1 || s.Latest == nil || s.Latest.Run != 1 {
			t.Errorf("%s: %s after %d attempts, latest %+v; want done once", id, s.State, s.Attempts, s.Latest)
		}
	}
	if s := got["cmc-3"]; s.State != store.Failed || !strings.Contains(s.LastError, "unknown branch") {
		t.Errorf("cmc-3: %s (%s); want failed: unknown branch", s.State, s.LastError)
	}
	if !strings.Contains(progress.String(), "cmc-3: failed: ") || strings.Count(progress.String(), ": done, ") != 3 {
		t.Errorf("progress:\n%s", progress.String())
	}
	if line := c.Line(); !strings.HasPrefix(line, "3/4 graded, 1 failed, 0 not gradable, 0 running") {
		t.Errorf("status line %q", line)
	}
	// A second run finds nothing to do.
	again := &gradertest.ScriptedRunner{Default: "pass"}
	if err := newRunner(t, st, again, 2).Run(t.Context()); err != nil || again.Runs != 0 {
		t.Errorf("second run: %v after %d sandbox runs; want nothing run", err, again.Runs)
	}
}

func TestRunStopsWhenTheBackendIsDown(t *testing.T) {
	st, _ := newCohort(t, "cmc-1:cmc", "cmc-2:cmc", "cmc-3:cmc")
	run := &gradertest.ScriptedRunner{Default: "down"}
	err := newRunner(t, st, run, 1).Run(t.Context())
	if !errors.Is(err, ErrStopped) || !errors.Is(err, sandbox.ErrBackendDown) {
		t.Fatalf("Run = %v, want ErrStopped wrapping ErrBackendDown", err)
	}
	for id, s := range states(t, st) {
		// The candidate being graded is given back, not left leased.
		if s.State != store.Pending || s.Lease != nil {
			t.Errorf("%s: %s (lease %+v); want pending, free to grade again", id, s.State, s.Lease)
		}
	}
	if run.Runs != 1 {
		t.Errorf("%d sandbox runs after the backend went down; want 1", run.Runs)
	}
}

func TestRunNotGradableIsRetried(t *testing.T) {
	st, _ := newCohort(t, "cmc-1:cmc")
	// Every run errs: the task is not gradable (after its retry), so the
	// candidate is tried store.MaxAttempts times and then left.
	run := &gradertest.ScriptedRunner{Default: "error"}
	if err := newRunner(t, st, run, 1).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := states(t, st)["cmc-1"]
	if s.State != store.NotGradable || s.Attempts != store.MaxAttempts {
		t.Errorf("cmc-1: %s after %d attempts; want not gradable after %d", s.State, s.Attempts, store.MaxAttempts)
	}
}

// countingRunner records how many runs overlap.
type countingRunner struct {
	mu       sync.Mutex
	now, max int
}

func (c *countingRunner) Run(ctx context.Context, _ sandbox.Spec) (sandbox.Result, error) {
	c.mu.Lock()
	c.now++
	c.max = max(c.max, c.now)
	c.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	c.mu.Lock()
	c.now--
	c.mu.Unlock()
	return sandbox.Result{}, nil
}

func TestBoundedRunner(t *testing.T) {
	inner := &countingRunner{}
	b := &boundedRunner{Runner: inner, slots: make(chan struct{}, 3)}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { b.Run(t.Context(), sandbox.Spec{}) })
	}
	wg.Wait()
	if inner.max != 3 {
		t.Errorf("%d runs at once, want at most (and, with 20 waiting, exactly) 3", inner.max)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	full := &boundedRunner{Runner: inner, slots: make(chan struct{})}
	if _, err := full.Run(ctx, sandbox.Spec{}); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting for a slot with a cancelled context: %v", err)
	}
}
