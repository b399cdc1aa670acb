package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestPendingPublishes keeps results that could not be published, lists
// them oldest first, records a failed retry and a success, and lets a
// newer result of the same commit supersede an older one.
func TestPendingPublishes(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "cohort.db"))
	repo := "https://github.com/alice/meshery"
	a, err := s.AddPendingPublish(ctx, "c01", repo, sha('a'), []byte(`{"v":1}`), "502 Bad Gateway")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.AddPendingPublish(ctx, "c02", "https://github.com/bob/meshery", sha('b'), []byte(`{"v":2}`), "timeout")
	if err != nil {
		t.Fatal(err)
	}
	// A regrade of c01's commit that also failed to publish: only it is
	// left to publish.
	a2, err := s.AddPendingPublish(ctx, "c01", repo, sha('a'), []byte(`{"v":3}`), "502 again")
	if err != nil {
		t.Fatal(err)
	}
	list := func() string {
		t.Helper()
		ps, err := s.PendingPublishes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out string
		for _, p := range ps {
			out += p.Candidate + ":" + string(p.View) + ":" + p.LastError + ";"
			if p.Attempts > 0 {
				out += "retried;"
			}
		}
		return out
	}
	if got, want := list(), `c02:{"v":2}:timeout;c01:{"v":3}:502 again;`; got != want {
		t.Errorf("pending: %s, want %s", got, want)
	}
	if err := s.PendingPublishFailed(ctx, b, "403 secondary rate limit"); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishedPending(ctx, a2); err != nil {
		t.Fatal(err)
	}
	if got, want := list(), `c02:{"v":2}:403 secondary rate limit;retried;`; got != want {
		t.Errorf("pending: %s, want %s", got, want)
	}
	for _, id := range []int64{a, a2, 999} {
		if err := s.PublishedPending(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("publish %d again (superseded, published or unknown): %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.AddPendingPublish(ctx, "c03", repo, sha('c'), nil, "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty view: %v, want ErrInvalid", err)
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}

// TestPendingMigrateV2 opens a store of schema version 2, from before
// pending publishes: it is migrated and keeps its push queue.
func TestPendingMigrateV2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cohort.db")
	released := migrations
	t.Cleanup(func() { migrations = released })
	migrations = released[:2]
	s := openAt(t, path)
	if err := s.SetRoster(ctx, testRoster(1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	migrations = released

	s = openAt(t, path)
	if _, err := s.AddPendingPublish(ctx, "c01", "https://github.com/a/b", sha('a'), []byte("{}"), "x"); err != nil {
		t.Errorf("keep a pending publish in a migrated store: %v", err)
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}
