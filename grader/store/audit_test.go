package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestProctors(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cohort.db")
	s := openAt(t, path)
	ana, err := s.AddProctor(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	bo, err := s.AddProctor(ctx, "bo")
	if err != nil {
		t.Fatal(err)
	}
	if len(ana) != 43 || ana == bo {
		t.Fatalf("tokens %q and %q", ana, bo)
	}
	if _, err := s.AddProctor(ctx, "ana"); !errors.Is(err, ErrExists) {
		t.Errorf("a name taken: %v", err)
	}
	for _, name := range []string{"", " ana", "a\x1bb"} {
		if _, err := s.AddProctor(ctx, name); !errors.Is(err, ErrInvalid) {
			t.Errorf("name %q: %v", name, err)
		}
	}

	wrong := []byte(ana)
	wrong[10] ^= 1
	for _, tc := range []struct {
		token, name string
		ok          bool
	}{
		{ana, "ana", true},
		{bo, "bo", true},
		{string(wrong), "", false},
		{"", "", false},
		{ana + "=", "", false},
	} {
		name, ok, err := s.CheckToken(ctx, tc.token)
		if err != nil || name != tc.name || ok != tc.ok {
			t.Errorf("CheckToken(%q) = %q, %v, %v; want %q, %v", tc.token, name, ok, err, tc.name, tc.ok)
		}
	}
	ps, err := s.Proctors(ctx)
	if err != nil || len(ps) != 2 || ps[0].Name != "ana" || ps[1].Name != "bo" {
		t.Errorf("Proctors = %+v, %v", ps, err)
	}

	// No token is kept, in the file or its log.
	for _, name := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(ana)) || bytes.Contains(b, []byte(bo)) {
			t.Errorf("%s holds a token", filepath.Base(name))
		}
	}

	if err := s.RemoveProctor(ctx, "ana"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.CheckToken(ctx, ana); ok {
		t.Error("a removed proctor's token still works")
	}
	if err := s.RemoveProctor(ctx, "ana"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing twice: %v", err)
	}
}

func TestAudit(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	clk := newClock()
	s.now = clk.Now
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	entries := []Entry{
		{Proctor: "ana", Action: "regrade", Candidate: "c01", Reason: "engine restarted", At: at},
		{Proctor: "bo", Action: "reject", Candidate: "c02", Task: "cli-1", Reason: "forged output"},
	}
	for _, e := range entries {
		if err := s.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []Entry{{Action: "accept"}, {Proctor: "ana"}, {Proctor: "ana", Action: "x", Reason: string(make([]byte, 5000))}} {
		if err := s.Audit(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Audit(%.40v): %v, want ErrInvalid", bad, err)
		}
	}
	entries[0].ID, entries[1].ID, entries[1].At = 1, 2, clk.Now()
	log, err := s.AuditLog(ctx)
	if err != nil || !slices.Equal(log, entries) {
		t.Errorf("audit log:\n got %+v\nwant %+v (%v)", log, entries, err)
	}
}
