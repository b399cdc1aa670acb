package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/report"
)

// TestLeaseTwoStores has two Stores on one file, as two processes would:
// a lease keeps the other out until it expires, then the other takes it
// over, and the first can no longer renew it or save under it.
func TestLeaseTwoStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cohort.db")
	a, b := openAt(t, path), openAt(t, path)
	clk := newClock()
	a.now, b.now = clk.Now, clk.Now
	if err := a.SetRoster(ctx, testRoster(2)); err != nil {
		t.Fatal(err)
	}

	la, err := a.Acquire(ctx, "c01", "grader-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if la.Candidate.Repo != "https://git.example/c01/meshery" || la.Attempt != 1 || la.Commit != "" {
		t.Errorf("lease = %+v", la)
	}
	if _, err := b.Acquire(ctx, "c01", "grader-b", time.Minute); !errors.Is(err, ErrLeased) {
		t.Fatalf("second Acquire: %v, want ErrLeased", err)
	}
	if lb, err := b.Next(ctx, "grader-b", time.Minute); err != nil || lb.Candidate.ID != "c02" {
		t.Fatalf("Next beside a lease: %v, %v; want c02", lb, err)
	}

	clk.Add(30 * time.Second)
	if err := la.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Add(59 * time.Second) // renewed: still held
	if _, err := b.Acquire(ctx, "c01", "grader-b", time.Minute); !errors.Is(err, ErrLeased) {
		t.Fatalf("Acquire of a renewed lease: %v, want ErrLeased", err)
	}

	clk.Add(2 * time.Second) // expired: grader-a stalled or died
	lb, err := b.Acquire(ctx, "c01", "grader-b", time.Minute)
	if err != nil {
		t.Fatalf("take over an expired lease: %v", err)
	}
	if lb.Attempt != 2 {
		t.Errorf("attempt %d, want 2", lb.Attempt)
	}
	if err := la.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("Renew of a lease taken over: %v, want ErrLeaseLost", err)
	}
	rep, raw, sig := testReport(t, "c01", reportOpts{})
	if err := a.SaveReport(ctx, la, rep, raw, sig); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("SaveReport under a lease taken over: %v, want ErrLeaseLost", err)
	}
	if _, _, _, err := b.Report(ctx, "c01"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a report was saved under a lost lease: %v", err)
	}
	if err := la.Release(ctx); err != nil { // nothing to release
		t.Fatal(err)
	}
	if c := stateOf(t, b, "c01"); c.State != Running || c.Lease == nil || c.Lease.Holder != "grader-b" {
		t.Fatalf("the old holder's Release changed the new holder's candidate: %+v", c)
	}

	if err := b.SaveReport(ctx, lb, rep, raw, sig); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Acquire(ctx, "c01", "grader-a", time.Minute); !errors.Is(err, ErrDone) {
		t.Errorf("Acquire of a done candidate: %v, want ErrDone", err)
	}
	if err := lb.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("Renew after SaveReport: %v, want ErrLeaseLost", err)
	}
}

// TestNext walks candidates through their states.
func TestNext(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 5)
	clk := newClock()
	s.now = clk.Now
	next := func(want string) *Lease {
		t.Helper()
		l, err := s.Next(ctx, "tester", time.Minute)
		if err != nil {
			t.Fatalf("Next: %v, want %s", err, want)
		}
		if l.Candidate.ID != want {
			t.Fatalf("Next gave %s, want %s", l.Candidate.ID, want)
		}
		return l
	}
	l1, l2, l3, l4, l5 := next("c01"), next("c02"), next("c03"), next("c04"), next("c05")
	rep, raw, sig := testReport(t, "c01", reportOpts{})
	if err := s.SaveReport(ctx, l1, rep, raw, sig); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(ctx, l2, errors.New("the sandbox engine stopped answering")); err != nil {
		t.Fatal(err)
	}
	if err := s.Fail(ctx, l3, errors.New("form.json: not a form")); err != nil {
		t.Fatal(err)
	}
	if err := l4.Release(ctx); err != nil {
		t.Fatal(err)
	}
	_ = l5 // its holder dies: the lease expires
	if _, err := s.Next(ctx, "tester", time.Minute); err != nil {
		t.Fatal(err) // c04, released
	}
	clk.Add(2 * time.Minute)
	// Interrupted and pending ones come before retries.
	l4b := next("c04") // its lease expired too
	l5b := next("c05")
	want := Counts{Total: 5, Running: 2, Done: 1, NotGradable: 1, Failed: 1}
	if got, err := s.Counts(ctx); err != nil || got != want {
		t.Errorf("Counts = %+v, %v; want %+v", got, err, want)
	}
	if c := stateOf(t, s, "c03"); c.State != Failed || c.LastError != "form.json: not a form" || c.Attempts != 1 {
		t.Errorf("c03: %+v", c)
	}
	if c := stateOf(t, s, "c05"); c.Attempts != 2 || c.Lease == nil || c.Interrupted(clk.Now()) {
		t.Errorf("c05: %+v", c)
	}
	for _, l := range []*Lease{l4b, l5b} {
		r, raw, sig := testReport(t, l.Candidate.ID, reportOpts{})
		if err := s.SaveReport(ctx, l, r, raw, sig); err != nil {
			t.Fatal(err)
		}
	}

	// A not gradable candidate is retried until it had MaxAttempts.
	for attempt := 2; attempt <= MaxAttempts; attempt++ {
		l := next("c02")
		if l.Attempt != attempt {
			t.Errorf("attempt %d, want %d", l.Attempt, attempt)
		}
		if err := s.Retry(ctx, l, errors.New("still down")); err != nil {
			t.Fatal(err)
		}
	}
	if l, err := s.Next(ctx, "tester", time.Minute); !errors.Is(err, ErrNoCandidate) {
		t.Fatalf("Next after the retries: %v, %v; want ErrNoCandidate", l, err)
	}

	// Regrade makes them pending again.
	if n, err := s.Regrade(ctx, "c01"); err != nil || n != 1 {
		t.Fatalf("Regrade c01: %d, %v", n, err)
	}
	if _, err := s.Regrade(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Regrade of an unknown candidate: %v", err)
	}
	l := next("c01")
	if l.Attempt != 1 {
		t.Errorf("attempt after Regrade %d, want 1", l.Attempt)
	}
	if n, err := s.Regrade(ctx); err != nil || n != 4 {
		t.Errorf("Regrade everyone: %d, %v; want 4 (c01 is running)", n, err)
	}
}

// TestNextConcurrent races goroutines over two Stores on one file: each
// candidate is graded once.
func TestNextConcurrent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cohort.db")
	stores := []*Store{openAt(t, path), openAt(t, path)}
	const n = 30
	if err := stores[0].SetRoster(ctx, testRoster(n)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	graded := map[string]int{}
	var wg sync.WaitGroup
	for w := range 6 {
		s := stores[w%2]
		wg.Go(func() {
			for {
				l, err := s.Next(ctx, "worker", time.Minute)
				if errors.Is(err, ErrNoCandidate) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				rep, raw, sig := testReport(t, l.Candidate.ID, reportOpts{})
				if err := s.SaveReport(ctx, l, rep, raw, sig); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				graded[l.Candidate.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(graded) != n {
		t.Errorf("%d candidates graded, want %d", len(graded), n)
	}
	for id, k := range graded {
		if k != 1 {
			t.Errorf("%s graded %d times", id, k)
		}
	}
}

// TestKeep renews a lease while grading, and cancels the grading when the
// lease is lost.
func TestKeep(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 1)
	const ttl = 300 * time.Millisecond
	l, err := s.Acquire(ctx, "c01", "tester", ttl)
	if err != nil {
		t.Fatal(err)
	}
	kept, stop := l.Keep(ctx)
	defer stop()
	time.Sleep(5 * ttl / 2) // long past the first expiry
	if _, err := s.Acquire(ctx, "c01", "other", ttl); !errors.Is(err, ErrLeased) {
		t.Fatalf("Acquire while kept: %v, want ErrLeased", err)
	}
	if kept.Err() != nil {
		t.Fatalf("kept context ended: %v", context.Cause(kept))
	}
	// Someone takes the lease over (the store lost track of time, say).
	if _, err := s.db.ExecContext(ctx, "UPDATE leases SET token = 'stolen'"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-kept.Done():
	case <-time.After(10 * ttl):
		t.Fatal("the kept context outlived the lease")
	}
	if err := context.Cause(kept); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("cause %v, want ErrLeaseLost", err)
	}

	// Stopped after a save, the context ends as cancelled, not lost.
	if _, err := s.db.ExecContext(ctx, "DELETE FROM leases"); err != nil {
		t.Fatal(err)
	}
	l, err = s.Acquire(ctx, "c01", "tester", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	kept, stop = l.Keep(ctx)
	rep, raw, sig := testReport(t, "c01", reportOpts{status: report.Failed})
	if err := s.SaveReport(kept, l, rep, raw, sig); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := context.Cause(kept); !errors.Is(err, context.Canceled) || errors.Is(err, ErrLeaseLost) {
		t.Errorf("cause after stop %v, want context.Canceled", err)
	}
}
