package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/cmcgrader/cmcgrader/grader/gradertest"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/sandbox"
)

// recorder is a Publisher that records its calls, and fails them when
// fail is set.
type recorder struct {
	mu    sync.Mutex
	calls []string
	fail  bool
}

func (p *recorder) add(call string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, call)
	if p.fail {
		return errors.New("publisher down")
	}
	return nil
}

func (p *recorder) Queued(_ context.Context, candidate, repo, sha string) error {
	return p.add(fmt.Sprintf("queued %s %s %.7s", candidate, repo, sha))
}

func (p *recorder) Started(_ context.Context, candidate, repo, sha string) error {
	return p.add(fmt.Sprintf("started %s %s %.7s", candidate, repo, sha))
}

func (p *recorder) Completed(_ context.Context, candidate, repo, sha string, r *report.Report) error {
	return p.add(fmt.Sprintf("completed %s %s %.7s %s %.7s", candidate, repo, sha, r.Verdict, r.Commit))
}

func (p *recorder) Failed(_ context.Context, candidate, repo, sha string, reason error) error {
	return p.add(fmt.Sprintf("failed %s %s %.7s", candidate, repo, sha))
}

func (p *recorder) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// servePushes runs the push workers of r until the test ends, or until
// stop is called; stop returns once Pushes returned.
func servePushes(t *testing.T, r *Runner, grace time.Duration) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Pushes(ctx, grace) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Pushes: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return ctx, stop
}

// waitFor waits until cond holds; the test's deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-t.Context().Done():
			t.Fatalf("never: %s", what)
		case <-tick.C:
		}
	}
}

// pushOf returns push id of the store.
func pushOf(t *testing.T, st *store.Store, id int64) store.Push {
	t.Helper()
	ps, err := st.Pushes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no push %d", id)
	return store.Push{}
}

func queue(t *testing.T, r *Runner, candidate, sha string) store.Push {
	t.Helper()
	p, err := r.Store.QueuePush(t.Context(), candidate, sha, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.Queued(t.Context(), p)
	return p
}

// TestPushesGradeThePushedCommit grades a queued push at its commit (not
// the branch's head), saves the report as the candidate's next run,
// marks the push done and publishes queued, started and completed, in
// that order.
func TestPushesGradeThePushedCommit(t *testing.T) {
	fork := gittest.NewForkRepo(t)
	st, _ := newCohortOf(t, fork, "cmc-1:cmc", "cmc-2:cmc")
	run := &gradertest.ScriptedRunner{Default: "pass"}
	r := newRunner(t, st, run, 1)
	pub := &recorder{}
	r.Publisher = pub
	servePushes(t, r, time.Minute)

	// C2 is on main, not the branch's head (C3): the push is what is
	// graded.
	c2 := fork.C2
	p := queue(t, r, "cmc-1", c2)
	waitFor(t, "push graded", func() bool { return pushOf(t, st, p.ID).State == store.PushDone })

	s := states(t, st)
	if c := s["cmc-1"]; c.State != store.Done || c.Latest == nil || c.Latest.Commit != c2 || c.Latest.Run != 1 || c.Latest.SavedBy != "test" {
		t.Errorf("cmc-1 after its push: %s, latest %+v; want done, run 1 of %s", c.State, c.Latest, c2)
	}
	if c := s["cmc-2"]; c.State != store.Pending || c.Latest != nil {
		t.Errorf("cmc-2 has no push and was graded: %s %+v", c.State, c.Latest)
	}
	repo := s["cmc-1"].Repo
	want := []string{
		"queued cmc-1 " + repo + " " + c2[:7],
		"started cmc-1 " + repo + " " + c2[:7],
		"completed cmc-1 " + repo + " " + c2[:7] + " PARTIAL " + c2[:7],
	}
	waitFor(t, "completed published", func() bool { return len(pub.Calls()) == 3 })
	if got := pub.Calls(); !slices.Equal(got, want) {
		t.Errorf("publisher calls:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPushesPublisherFailing keeps the grade when every publication
// fails.
func TestPushesPublisherFailing(t *testing.T) {
	fork := gittest.NewForkRepo(t)
	st, _ := newCohortOf(t, fork, "cmc-1:cmc")
	r := newRunner(t, st, &gradertest.ScriptedRunner{Default: "pass"}, 1)
	pub := &recorder{fail: true}
	r.Publisher = pub
	servePushes(t, r, time.Minute)
	p := queue(t, r, "cmc-1", fork.C3)
	waitFor(t, "push graded", func() bool { return pushOf(t, st, p.ID).State == store.PushDone })
	if c := states(t, st)["cmc-1"]; c.State != store.Done || c.Latest == nil {
		t.Errorf("cmc-1: %s, latest %+v; want the grade kept", c.State, c.Latest)
	}
	waitFor(t, "completed published", func() bool { return len(pub.Calls()) == 3 })
}

// TestPushesBackendDown gives a push back to the queue while the backend
// is down, and gives it up after MaxPushAttempts; nothing is completed.
func TestPushesBackendDown(t *testing.T) {
	fork := gittest.NewForkRepo(t)
	st, _ := newCohortOf(t, fork, "cmc-1:cmc")
	r := newRunner(t, st, &gradertest.ScriptedRunner{Default: "down"}, 1)
	r.RetryWait, r.Poll = time.Millisecond, time.Millisecond
	pub := &recorder{}
	r.Publisher = pub
	servePushes(t, r, time.Minute)
	p := queue(t, r, "cmc-1", fork.C3)
	waitFor(t, "push given up", func() bool { return pushOf(t, st, p.ID).State == store.PushFailed })
	got := pushOf(t, st, p.ID)
	if got.Attempts != MaxPushAttempts {
		t.Errorf("push given up after %d attempts, want %d", got.Attempts, MaxPushAttempts)
	}
	if !strings.Contains(got.LastError, fmt.Sprintf("given up after %d attempts", MaxPushAttempts)) {
		t.Errorf("last error %q: want why it was given up", got.LastError)
	}
	waitFor(t, "failed published", func() bool {
		calls := pub.Calls()
		return len(calls) > 0 && calls[len(calls)-1] == "failed cmc-1 "+fork.URL+" "+fork.C3[:7]
	})
	if c := states(t, st)["cmc-1"]; c.Latest != nil {
		t.Errorf("a report saved while the backend was down: %+v", c.Latest)
	}
	for _, c := range pub.Calls() {
		if strings.HasPrefix(c, "completed") {
			t.Errorf("published %q", c)
		}
	}
}

// TestPushesNotGradable fails a push whose commit is not in the
// repository, without a report and without retrying it, and publishes it
// as failed once.
func TestPushesNotGradable(t *testing.T) {
	fork := gittest.NewForkRepo(t)
	st, _ := newCohortOf(t, fork, "cmc-1:cmc")
	run := &gradertest.ScriptedRunner{Default: "pass"}
	r := newRunner(t, st, run, 1)
	pub := &recorder{}
	r.Publisher = pub
	servePushes(t, r, time.Minute)
	p := queue(t, r, "cmc-1", strings.Repeat("f", 40))
	waitFor(t, "push ended", func() bool { return pushOf(t, st, p.ID).State == store.PushFailed })
	got := pushOf(t, st, p.ID)
	if got.Attempts != 1 {
		t.Errorf("%d attempts at a commit that is not there, want 1", got.Attempts)
	}
	if got.LastError == "" {
		t.Error("a failed push keeps no reason")
	}
	waitFor(t, "failed published", func() bool { return slices.Contains(pub.Calls(), "failed cmc-1 "+fork.URL+" fffffff") })
	if n := len(pub.Calls()); n != 3 {
		t.Errorf("publications %q: want queued, started, failed", pub.Calls())
	}
	if c := states(t, st)["cmc-1"]; c.Latest != nil || run.Runs != 0 {
		t.Errorf("report %+v after %d sandbox runs; want none", c.Latest, run.Runs)
	}
}

// stopping is a sandbox.Runner whose first run stops the workers (as
// SIGTERM would) and then either ends normally or blocks until its own
// context ends (the grace ran out).
type stopping struct {
	gradertest.ScriptedRunner
	stop  func()
	block bool
	once  sync.Once
}

func (s *stopping) Run(ctx context.Context, spec sandbox.Spec) (sandbox.Result, error) {
	first := false
	s.once.Do(func() { first = true })
	if first {
		go s.stop()
		if s.block {
			<-ctx.Done()
			return sandbox.Result{}, ctx.Err()
		}
	}
	return s.ScriptedRunner.Run(ctx, spec)
}

// TestPushesShutdown stops the workers mid-grade: within the grace the
// grading finishes and is saved; past it, the grading is cancelled and
// the push goes back to the queue, the attempt not counted, for the next
// Pushes to grade.
func TestPushesShutdown(t *testing.T) {
	t.Run("finishes within the grace", func(t *testing.T) {
		fork := gittest.NewForkRepo(t)
		st, _ := newCohortOf(t, fork, "cmc-1:cmc")
		run := &stopping{ScriptedRunner: gradertest.ScriptedRunner{Default: "pass"}}
		r := newRunner(t, st, run, 1)
		_, stop := servePushes(t, r, time.Hour)
		run.stop = stop
		p := queue(t, r, "cmc-1", fork.C3)
		waitFor(t, "push graded", func() bool { return pushOf(t, st, p.ID).State == store.PushDone })
		stop()
		if c := states(t, st)["cmc-1"]; c.State != store.Done {
			t.Errorf("cmc-1: %s, want done", c.State)
		}
	})
	t.Run("cancelled past the grace", func(t *testing.T) {
		fork := gittest.NewForkRepo(t)
		st, _ := newCohortOf(t, fork, "cmc-1:cmc")
		run := &stopping{ScriptedRunner: gradertest.ScriptedRunner{Default: "pass"}, block: true}
		r := newRunner(t, st, run, 1)
		_, stop := servePushes(t, r, 0)
		run.stop = stop
		p := queue(t, r, "cmc-1", fork.C3)
		waitFor(t, "push given back", func() bool {
			got := pushOf(t, st, p.ID)
			return got.State == store.PushQueued && got.Updated.After(got.Received)
		})
		stop()
		if got := pushOf(t, st, p.ID); got.Attempts != 0 {
			t.Errorf("push given back with %d attempts counted, want 0", got.Attempts)
		}
		if c := states(t, st)["cmc-1"]; c.Latest != nil {
			t.Errorf("a report saved of a cancelled grading: %+v", c.Latest)
		}
		// A restart grades it.
		r2 := newRunner(t, st, &gradertest.ScriptedRunner{Default: "pass"}, 1)
		servePushes(t, r2, time.Minute)
		waitFor(t, "push graded after the restart", func() bool { return pushOf(t, st, p.ID).State == store.PushDone })
		if got := pushOf(t, st, p.ID); got.Attempts != 1 {
			t.Errorf("%d attempts, want 1", got.Attempts)
		}
	})
}

// TestPushesWaitForACohortGrading leaves a push of a candidate leased by a
// cohort grading until the lease ends.
func TestPushesWaitForACohortGrading(t *testing.T) {
	fork := gittest.NewForkRepo(t)
	st, _ := newCohortOf(t, fork, "cmc-1:cmc")
	l, err := st.Acquire(t.Context(), "cmc-1", "cohort", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	run := &gradertest.ScriptedRunner{Default: "pass"}
	r := newRunner(t, st, run, 1)
	r.Poll = time.Millisecond
	servePushes(t, r, time.Minute)
	p := queue(t, r, "cmc-1", fork.C3)
	// Several polls pass, none takes the push.
	for range 5 {
		r.Queued(t.Context(), p)
		if got := pushOf(t, st, p.ID); got.State != store.PushQueued || got.Attempts != 0 {
			t.Fatalf("push of a leased candidate: %s, %d attempts", got.State, got.Attempts)
		}
	}
	if err := l.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "push graded", func() bool { return pushOf(t, st, p.ID).State == store.PushDone })
}
