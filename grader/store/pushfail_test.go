package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestFailPush ends a push that can never be graded: failed, its reason
// kept for proctors, never handed out again; only under its lease.
func TestFailPush(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 1)
	clk := newClock()
	s.now = clk.Now
	pl := leasedPush(t, s, "c01", sha('a'), clk.Now())
	// Another holder took it over: nothing changes.
	stolen := &PushLease{store: s, Push: pl.Push, token: "other", ttl: time.Minute}
	if err := s.FailPush(ctx, stolen, "x"); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("FailPush without the lease: %v, want ErrLeaseLost", err)
	}
	if err := s.FailPush(ctx, pl, "fetch: commit "+sha('a')+" is not in the repository"); err != nil {
		t.Fatal(err)
	}
	ps, err := s.Pushes(ctx)
	if err != nil || len(ps) != 1 {
		t.Fatalf("pushes: %+v %v", ps, err)
	}
	if p := ps[0]; p.State != PushFailed || p.LastError != "fetch: commit "+sha('a')+" is not in the repository" || p.Attempts != 1 {
		t.Errorf("failed push: %+v", p)
	}
	clk.Add(time.Hour)
	if _, err := s.NextPush(ctx, "worker", time.Minute); !errors.Is(err, ErrNoPush) {
		t.Errorf("NextPush after the push failed: %v, want ErrNoPush", err)
	}
	if err := pl.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("renew a failed push's lease: %v", err)
	}
	// A new push of the same commit is queued again.
	if p, err := s.QueuePush(ctx, "c01", sha('a'), clk.Now()); err != nil || p.State != PushQueued || p.ID != 2 {
		t.Errorf("push again after a failure: %+v %v", p, err)
	}
}

// TestFailedPushMigrateV3 opens a store of schema version 3, from before
// failed pushes, holding pushes: they are kept with their ids, and the
// next push numbers after them.
func TestFailedPushMigrateV3(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cohort.db")
	released := migrations
	t.Cleanup(func() { migrations = released })
	migrations = released[:3]
	s := openAt(t, path)
	if err := s.SetRoster(ctx, testRoster(2)); err != nil {
		t.Fatal(err)
	}
	// Written as schema 3's code wrote them.
	for _, row := range []struct{ sha, state string }{{sha('a'), "superseded"}, {sha('b'), "queued"}} {
		if _, err := s.db.ExecContext(ctx, "INSERT INTO pushes (candidate, commit_sha, received_ns, state, updated_ns) VALUES ('c01', ?, 1, ?, 1)",
			row.sha, row.state); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	migrations = released

	s = openAt(t, path)
	var v int
	if err := s.db.QueryRowContext(ctx, "SELECT max(version) FROM schema_version").Scan(&v); err != nil || v != SchemaVersion() {
		t.Fatalf("version %d %v, want %d", v, err, SchemaVersion())
	}
	ps, err := s.Pushes(ctx)
	if err != nil || len(ps) != 2 || ps[0].State != PushSuperseded || ps[1].State != PushQueued || ps[1].ID != 2 {
		t.Fatalf("pushes after the migration: %+v %v", ps, err)
	}
	if p, err := s.QueuePush(ctx, "c02", sha('c'), time.Now()); err != nil || p.ID != 3 {
		t.Errorf("a push queued after the migration: %+v %v, want id 3", p, err)
	}
	pl, err := s.NextPush(ctx, "worker", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FailPush(ctx, pl, "gone"); err != nil {
		t.Errorf("fail a push in a migrated store: %v", err)
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}
