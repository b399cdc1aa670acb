package store

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
)

func sha(c byte) string { return strings.Repeat(string(c), 40) }

// TestWebhookDeliveries records deliveries: the same id again is a
// duplicate once handled, also after the store is reopened.
func TestWebhookDeliveries(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cohort.db")
	s := openAt(t, path)
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	if dup, err := s.RecordDelivery(ctx, "d1", "push", at); dup || err != nil {
		t.Fatalf("first delivery: dup %v, %v", dup, err)
	}
	if dup, err := s.RecordDelivery(ctx, "d1", "push", at); dup || err != nil {
		t.Errorf("a delivery not handled to the end is handled again: dup %v, %v", dup, err)
	}
	if err := s.DeliveryOutcome(ctx, "d1", "queued"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeliveryOutcome(ctx, "nope", "queued"); !errors.Is(err, ErrNotFound) {
		t.Errorf("outcome of an unknown delivery: %v", err)
	}
	if _, err := s.RecordDelivery(ctx, "", "push", at); !errors.Is(err, ErrInvalid) {
		t.Errorf("no delivery id: %v", err)
	}
	s.Close()
	s = openAt(t, path)
	if dup, err := s.RecordDelivery(ctx, "d1", "push", at.Add(time.Hour)); !dup || err != nil {
		t.Errorf("redelivery after reopening: dup %v, %v", dup, err)
	}
	ds, err := s.Deliveries(ctx)
	if err != nil || len(ds) != 1 || ds[0].Outcome != "queued" || !ds[0].Received.Equal(at) {
		t.Errorf("deliveries: %+v %v", ds, err)
	}
}

// TestWebhookQueue queues pushes: a newer one supersedes a queued older
// one, one grading per candidate at a time, leases expire and are taken
// over, a push after the freeze is late.
func TestWebhookQueue(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 2)
	clk := newClock()
	s.now = clk.Now
	at := clk.Now()

	if _, err := s.QueuePush(ctx, "c09", sha('a'), at); !errors.Is(err, ErrNotFound) {
		t.Errorf("a push of a candidate not in the roster: %v", err)
	}
	if _, err := s.QueuePush(ctx, "c01", "main", at); !errors.Is(err, ErrInvalid) {
		t.Errorf("a push of no commit: %v", err)
	}
	p1, err := s.QueuePush(ctx, "c01", sha('a'), at)
	if err != nil || p1.State != PushQueued || p1.ID != 1 {
		t.Fatalf("queue: %+v %v", p1, err)
	}
	if again, err := s.QueuePush(ctx, "c01", sha('a'), at); err != nil || again.ID != p1.ID {
		t.Errorf("the same commit again: %+v %v", again, err)
	}
	p2, _ := s.QueuePush(ctx, "c01", sha('b'), at)
	if _, err := s.QueuePush(ctx, "c02", sha('c'), at); err != nil {
		t.Fatal(err)
	}
	states := func() string {
		ps, err := s.Pushes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var b []string
		for _, p := range ps {
			b = append(b, p.Candidate+":"+p.Commit[:1]+":"+string(p.State))
		}
		return strings.Join(b, " ")
	}
	if got := states(); got != "c01:a:superseded c01:b:queued c02:c:queued" {
		t.Errorf("after a newer push: %s", got)
	}

	l, err := s.NextPush(ctx, "w1", time.Minute)
	if err != nil || l.Push.ID != p2.ID || l.Push.State != PushRunning || l.Push.Attempts != 1 {
		t.Fatalf("next push: %+v %v", l, err)
	}
	// A push while c01 is graded waits for that grading.
	p4, _ := s.QueuePush(ctx, "c01", sha('d'), at)
	l2, err := s.NextPush(ctx, "w2", time.Minute)
	if err != nil || l2.Push.Candidate != "c02" {
		t.Fatalf("second worker: %+v %v", l2, err)
	}
	if _, err := s.NextPush(ctx, "w3", time.Minute); !errors.Is(err, ErrNoPush) {
		t.Errorf("with both candidates being graded: %v", err)
	}
	if err := s.MarkPush(ctx, l, PushDone); err != nil {
		t.Fatal(err)
	}
	l3, err := s.NextPush(ctx, "w3", time.Minute)
	if err != nil || l3.Push.ID != p4.ID {
		t.Fatalf("after c01's grading ended: %+v %v", l3, err)
	}
	// w2 dies: its lease expires and the push is handed out again.
	clk.Add(2 * time.Minute)
	l4, err := s.NextPush(ctx, "w4", time.Minute)
	if err != nil || l4.Push.Candidate != "c02" || l4.Push.Attempts != 2 {
		t.Fatalf("after w2's lease expired: %+v %v", l4, err)
	}
	if err := s.MarkPush(ctx, l2, PushDone); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("marking under an expired lease: %v", err)
	}
	if err := l4.Renew(ctx); err != nil {
		t.Errorf("renew: %v", err)
	}
	if err := s.MarkPush(ctx, l4, PushRunning); !errors.Is(err, ErrInvalid) {
		t.Errorf("mark running: %v", err)
	}
	if err := s.MarkPush(ctx, l4, PushQueued); err != nil {
		t.Fatal(err)
	}
	// The given-back push comes first, then c01's, whose lease expired.
	l5, err := s.NextPush(ctx, "w5", time.Minute)
	if err != nil || l5.Push.Candidate != "c02" || l5.Push.Attempts != 3 {
		t.Errorf("next: %+v %v", l5, err)
	}
	l6, err := s.NextPush(ctx, "w6", time.Minute)
	if err != nil || l6.Push.ID != p4.ID {
		t.Errorf("next: %+v %v", l6, err)
	}
	if got := states(); got != "c01:a:superseded c01:b:done c02:c:running c01:d:running" {
		t.Errorf("states: %s", got)
	}

	// A candidate leased for a cohort grading gets no push grading.
	if err := s.MarkPush(ctx, l6, PushQueued); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Acquire(ctx, "c01", "cohort", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NextPush(ctx, "w7", time.Minute); !errors.Is(err, ErrNoPush) {
		t.Errorf("while the candidate is leased: %v", err)
	}

	// After the freeze, pushes are late: recorded, not queued, and
	// superseding nothing.
	r := testRoster(2)
	f, _ := json.Marshal(cohort.Freeze{Version: cohort.FreezeVersion, Roster: r.Digest, At: at.Add(time.Hour)})
	if err := s.SetFreeze(ctx, f, nil); err != nil {
		t.Fatal(err)
	}
	if p, err := s.QueuePush(ctx, "c02", sha('e'), at.Add(time.Hour+time.Second)); err != nil || p.State != PushLate {
		t.Errorf("a push after the freeze: %+v %v", p, err)
	}
	if p, err := s.QueuePush(ctx, "c02", sha('f'), at.Add(time.Hour)); err != nil || p.State != PushQueued {
		t.Errorf("a push received at the freeze: %+v %v", p, err)
	}
	if got := states(); got != "c01:a:superseded c01:b:done c02:c:running c01:d:queued c02:e:late c02:f:queued" {
		t.Errorf("states: %s", got)
	}
}

// TestWebhookMigrateV1 opens a store of schema version 1, from before
// the push queue: it is migrated, and keeps its roster.
func TestWebhookMigrateV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cohort.db")
	released := migrations
	t.Cleanup(func() { migrations = released })
	migrations = released[:1]
	s := openAt(t, path)
	if err := s.SetRoster(ctx, testRoster(2)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	migrations = released

	s = openAt(t, path)
	var v int
	if err := s.db.QueryRowContext(ctx, "SELECT max(version) FROM schema_version").Scan(&v); err != nil || v != SchemaVersion() {
		t.Fatalf("version %d %v, want %d", v, err, SchemaVersion())
	}
	if p, err := s.QueuePush(ctx, "c02", sha('a'), time.Now()); err != nil || p.State != PushQueued {
		t.Errorf("queue in a migrated store: %+v %v", p, err)
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}
