package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
)

// TestPushAndCandidateLeasesExclude grades a candidate by one holder at a
// time, whether it leased a push (NextPush) or the candidate (Next,
// Acquire), in either order.
func TestPushAndCandidateLeasesExclude(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 2)
	clk := newClock()
	s.now = clk.Now

	pl := leasedPush(t, s, "c01", commitOf("c01"), clk.Now())
	if _, err := s.Acquire(ctx, "c01", "cohort", time.Minute); !errors.Is(err, ErrLeased) {
		t.Errorf("Acquire while a push of the candidate is graded: %v, want ErrLeased", err)
	}
	l, err := s.Next(ctx, "cohort", time.Minute)
	if err != nil || l.Candidate.ID != "c02" {
		t.Fatalf("Next while c01's push is graded: %+v %v, want c02", l, err)
	}
	if _, err := s.Next(ctx, "cohort", time.Minute); !errors.Is(err, ErrNoCandidate) {
		t.Errorf("Next with c01's push graded and c02 leased: %v, want ErrNoCandidate", err)
	}
	// The other way round: c02 is leased, so its push waits.
	if _, err := s.QueuePush(ctx, "c02", commitOf("c02"), clk.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NextPush(ctx, "worker", time.Minute); !errors.Is(err, ErrNoPush) {
		t.Errorf("NextPush while c02 is leased: %v, want ErrNoPush", err)
	}
	// Once the push's lease expired (its worker died), the candidate is
	// free again.
	clk.Add(2 * time.Minute)
	if err := pl.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("renew an expired push lease: %v", err)
	}
	if l, err := s.Acquire(ctx, "c01", "cohort", time.Minute); err != nil || l.Candidate.ID != "c01" {
		t.Errorf("Acquire once the push's lease expired: %v", err)
	}
}

// TestSavePushReport saves a push's report as the candidate's next run,
// marks the push done and the candidate by the report; only under the
// push's lease, and only a report of the push's commit.
func TestSavePushReport(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 1)
	clk := newClock()
	s.now = clk.Now
	grade(t, s, "c01", reportOpts{status: "failed"})
	pl := leasedPush(t, s, "c01", commitOf("c01"), clk.Now())
	rep, raw, sig := testReport(t, "c01", reportOpts{})

	other := *rep
	other.Commit = sha('f')
	oraw, osig := encode(t, &other)
	if err := s.SavePushReport(ctx, pl, &other, oraw, osig); !errors.Is(err, ErrInvalid) {
		t.Errorf("a report of another commit: %v, want ErrInvalid", err)
	}
	if err := s.SavePushReport(ctx, pl, rep, raw, sig); err != nil {
		t.Fatal(err)
	}
	c := stateOf(t, s, "c01")
	if c.State != Done || c.Latest == nil || c.Latest.Run != 2 || c.Latest.SavedBy != "worker" || c.Latest.Commit != commitOf("c01") {
		t.Errorf("after the push's report: %s, latest %+v; want done, run 2 saved by the worker", c.State, c.Latest)
	}
	ps, _ := s.Pushes(ctx)
	if ps[0].State != PushDone {
		t.Errorf("push after its report: %s, want done", ps[0].State)
	}
	if err := s.SavePushReport(ctx, pl, rep, raw, sig); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("saving twice under one lease: %v, want ErrLeaseLost", err)
	}

	// An expired lease saves nothing.
	pl = leasedPush(t, s, "c01", sha('b'), clk.Now())
	clk.Add(2 * time.Minute)
	late := *rep
	late.Commit = sha('b')
	lraw, lsig := encode(t, &late)
	if err := s.SavePushReport(ctx, pl, &late, lraw, lsig); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("saving under an expired lease: %v, want ErrLeaseLost", err)
	}
	if c := stateOf(t, s, "c01"); c.Latest.Run != 2 {
		t.Errorf("latest run %d after a refused save, want 2", c.Latest.Run)
	}
}

// TestPushRelease gives a push back without counting the attempt; a
// newer push queued meanwhile supersedes it.
func TestPushRelease(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 1)
	clk := newClock()
	s.now = clk.Now
	if _, err := s.QueuePush(ctx, "c01", sha('a'), clk.Now()); err != nil {
		t.Fatal(err)
	}
	pl, err := s.NextPush(ctx, "worker", time.Minute)
	if err != nil || pl.Push.Attempts != 1 {
		t.Fatalf("lease: %+v %v", pl, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := pl.Release(cctx); err != nil {
		t.Fatalf("release with its context done: %v", err)
	}
	if err := pl.Release(ctx); err != nil {
		t.Errorf("release twice: %v", err)
	}
	ps, _ := s.Pushes(ctx)
	if ps[0].State != PushQueued || ps[0].Attempts != 0 {
		t.Errorf("released push: %s after %d attempts; want queued, no attempt counted", ps[0].State, ps[0].Attempts)
	}
	pl, err = s.NextPush(ctx, "worker", time.Minute)
	if err != nil || pl.Push.ID != 1 || pl.Push.Attempts != 1 {
		t.Fatalf("lease again: %+v %v", pl, err)
	}
	if _, err := s.QueuePush(ctx, "c01", sha('b'), clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := pl.Release(ctx); err != nil {
		t.Fatal(err)
	}
	ps, _ = s.Pushes(ctx)
	if ps[0].State != PushSuperseded || ps[1].State != PushQueued {
		t.Errorf("released with a newer push queued: %s, %s; want superseded, queued", ps[0].State, ps[1].State)
	}
}

// TestPushKeep renews a push's lease while it is graded, and cancels the
// grading once the lease is lost.
func TestPushKeep(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 1)
	if _, err := s.QueuePush(ctx, "c01", sha('a'), time.Now()); err != nil {
		t.Fatal(err)
	}
	pl, err := s.NextPush(ctx, "worker", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	kept, stop := pl.Keep(ctx)
	defer stop()
	first := pl.Expires()
	// The lease is renewed: it outlives its first expiry.
	for !pl.Expires().After(first) {
		select {
		case <-kept.Done():
			t.Fatalf("grading cancelled: %v", context.Cause(kept))
		case <-time.After(5 * time.Millisecond):
		}
	}
	// Another holder takes the push over: the grading is cancelled.
	if _, err := s.db.ExecContext(ctx, "UPDATE pushes SET token = 'other' WHERE id = ?", pl.Push.ID); err != nil {
		t.Fatal(err)
	}
	<-kept.Done()
	if err := context.Cause(kept); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("cause: %v, want ErrLeaseLost", err)
	}
}

// TestSetFreezeRegradesOtherCommits makes a candidate graded before the
// deadline at another commit than the one frozen pending again; one
// graded at the commit frozen stays done.
func TestSetFreezeRegradesOtherCommits(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 3)
	grade(t, s, "c01", reportOpts{})
	grade(t, s, "c02", reportOpts{})
	freeze := cohort.Freeze{Version: cohort.FreezeVersion, Roster: testRoster(3).Digest, At: time.Now(),
		Commits: []cohort.FrozenCommit{{Candidate: "c01", Commit: commitOf("c01")}, {Candidate: "c02", Commit: sha('e')}, {Candidate: "c03", Commit: sha('f')}}}
	raw, _ := json.Marshal(freeze)
	if err := s.SetFreeze(ctx, raw, nil); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]State{"c01": Done, "c02": Pending, "c03": Pending} {
		if c := stateOf(t, s, id); c.State != want {
			t.Errorf("%s after the freeze: %s, want %s", id, c.State, want)
		}
	}
	if c := stateOf(t, s, "c02"); c.Latest == nil || c.Latest.Run != 1 {
		t.Errorf("c02's report is kept: %+v", c.Latest)
	}
}
