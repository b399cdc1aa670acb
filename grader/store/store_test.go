package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestOpenNewStore(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "exam window?#%20 2026")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "cohort.db")
	s := openAt(t, path)
	if s.Path() != path {
		t.Errorf("Path() = %s, want %s", s.Path(), path)
	}
	if err := s.SetRoster(ctx, testRoster(1)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(name), fi.Mode().Perm())
		}
	}
	for _, tc := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "30000"},
		{"application_id", strconv.Itoa(applicationID)},
	} {
		var got string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
	var v int
	if err := s.db.QueryRowContext(ctx, "SELECT max(version) FROM schema_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() {
		t.Errorf("schema version %d, want %d", v, SchemaVersion())
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
	// Opened again, it is the same store: nothing migrates twice.
	s.Close()
	s = openAt(t, path)
	r, err := s.Roster(ctx)
	if err != nil || len(r.Candidates) != 1 {
		t.Fatalf("roster after reopening: %+v, %v", r, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	otherDB := func(t *testing.T, path string) {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine')"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		os.Chmod(path, 0o600)
	}
	for _, tc := range []struct {
		name    string
		make    func(t *testing.T, path string)
		wantErr error
		want    string
	}{
		{"a text file", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(`{"version": 2, "commit": "3f2c9e"}`+"\n"), 0o600)
		}, ErrNotStore, "not an SQLite database"},
		{"a short file", func(t *testing.T, path string) {
			os.WriteFile(path, []byte("SQLite"), 0o600)
		}, ErrNotStore, "not an SQLite database"},
		{"an SQLite file with a damaged header", func(t *testing.T, path string) {
			b := make([]byte, 4096)
			copy(b, sqliteMagic)
			os.WriteFile(path, b, 0o600)
		}, ErrNotStore, "not an SQLite database"},
		{"another program's database", otherDB, ErrNotStore, "another program"},
		{"a folder", func(t *testing.T, path string) { os.Mkdir(path, 0o700) }, ErrNotStore, "folder"},
		{"a file others may read", func(t *testing.T, path string) {
			os.WriteFile(path, nil, 0o644)
		}, nil, "chmod 600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cohort.db")
			tc.make(t, path)
			before, _ := os.ReadFile(path)
			s, err := Open(ctx, path)
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q: want the path and %q", err, tc.want)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Error("the file was changed")
			}
			if _, err := os.Stat(path + "-wal"); err == nil {
				t.Error("a write-ahead log was left beside the file")
			}
		})
	}
}

func TestOpenNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cohort.db")
	s := openAt(t, path)
	if _, err := s.db.ExecContext(ctx, "INSERT INTO schema_version VALUES (?, 0)", SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(ctx, path)
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "newer cmcgrader") {
		t.Fatalf("error %v, want ErrNewerSchema that says to use a newer cmcgrader", err)
	}
}

// TestMigrate adds migrations as a later cmcgrader would: an older store
// is migrated, and a migration that fails leaves it as it was.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cohort.db")
	s := openAt(t, path)
	if err := s.SetRoster(ctx, testRoster(2)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	released := migrations
	t.Cleanup(func() { migrations = released })

	migrations = append(released[:len(released):len(released)],
		"ALTER TABLE candidates ADD COLUMN notes TEXT NOT NULL DEFAULT ''")
	s = openAt(t, path)
	var notes string
	if err := s.db.QueryRowContext(ctx, "SELECT notes FROM candidates WHERE id = 'c01'").Scan(&notes); err != nil {
		t.Fatalf("migrated column: %v", err)
	}
	if c := stateOf(t, s, "c02"); c.State != Pending {
		t.Errorf("c02 after migrating: %+v", c)
	}
	s.Close()

	migrations = append(migrations[:len(migrations):len(migrations)],
		"CREATE TABLE half (x INTEGER) STRICT; INSERT INTO no_such_table VALUES (1)")
	if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("a failing migration: %v", err)
	}
	migrations = migrations[:len(migrations)-1]
	s = openAt(t, path)
	var v, half int
	s.db.QueryRowContext(ctx, "SELECT max(version) FROM schema_version").Scan(&v)
	s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = 'half'").Scan(&half)
	if v != len(released)+1 || half != 0 {
		t.Errorf("after a failed migration: version %d, table half %d; want %d and none", v, half, len(released)+1)
	}
}

func TestCancelled(t *testing.T) {
	s := withRoster(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	l, err := s.Next(ctx, "tester", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	rep, raw, sig := testReport(t, "c01", reportOpts{})
	for name, err := range map[string]error{
		"Open":       func() error { _, err := Open(ctx, filepath.Join(t.TempDir(), "x.db")); return err }(),
		"Next":       func() error { _, err := s.Next(ctx, "tester", time.Minute); return err }(),
		"SaveReport": s.SaveReport(ctx, l, rep, raw, sig),
		"Renew":      l.Renew(ctx),
		"Candidates": func() error { _, err := s.Candidates(ctx); return err }(),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", name, err)
		}
	}
	// Release is cleanup: it runs after the caller gave up.
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if c := stateOf(t, s, "c01"); c.State != Pending || c.Lease != nil {
		t.Errorf("c01 after release: %s, lease %v", c.State, c.Lease)
	}
}
