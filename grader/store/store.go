package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors of the store; test with errors.Is. The error returned says which
// candidate, report or proctor, and what to do.
var (
	// ErrNotStore means the file is not a store: not an SQLite database,
	// or one that another program made.
	ErrNotStore = errors.New("not a cmcgrader store")
	// ErrNewerSchema means the store was written by a newer cmcgrader,
	// whose schema this one does not know.
	ErrNewerSchema = errors.New("store written by a newer cmcgrader")
	// ErrLeased means another holder has an unexpired lease on the
	// candidate.
	ErrLeased = errors.New("candidate is leased")
	// ErrLeaseLost means the lease expired or was taken over: whatever
	// the holder did since is not saved.
	ErrLeaseLost = errors.New("lease lost")
	// ErrDone means the candidate is done: Regrade it first.
	ErrDone = errors.New("candidate is done")
	// ErrNoCandidate means Next found no candidate to grade now.
	ErrNoCandidate = errors.New("no candidate to grade")
	// ErrNotFound means the candidate, report, freeze or proctor is not
	// in the store.
	ErrNotFound = errors.New("not found")
	// ErrExists means the proctor's name is taken.
	ErrExists = errors.New("already exists")
	// ErrConflict means the store holds something else than the caller
	// expected: another roster or freeze, or a newer report than the one
	// reviewed.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the caller's input cannot be stored as given.
	ErrInvalid = errors.New("invalid")
	// ErrTooLarge means a report or a freeze is larger than the store
	// keeps (MaxReportSize, MaxFreezeSize).
	ErrTooLarge = errors.New("too large")
)

// busyTimeout is how long a statement waits for another connection's
// write lock (another process saving a report) before it fails. A save
// is one short transaction, so waiting this long means something is
// stuck.
const busyTimeout = 30 * time.Second

// Store is a cohort's results store: one SQLite file. A Store is safe for
// concurrent use, and any number of Stores, in this process or others on
// the same host, may have the same file open.
type Store struct {
	db   *sql.DB
	path string
	// now is the clock of leases and timestamps; tests replace it.
	now func() time.Time
}

// Open opens the store in the file path, creating it (mode 0600) when
// there is no such file, and brings its schema up to date. The file must
// be on a local disk: SQLite's locks do not hold over network file
// systems.
//
// A file that is not a store is refused (ErrNotStore) and left as it is;
// so is one readable by others than its owner, since a store holds
// candidates' names and proctors' token hashes. A store whose schema is
// newer than this binary knows is refused (ErrNewerSchema); an older one
// is migrated in one transaction, so it is either migrated whole or left
// as it was.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// A file this call created stays when the rest fails: another
	// process may be opening it too, and an empty file is an empty store.
	if err := prepareFile(abs); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s, err := open(ctx, abs)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// sqliteMagic opens every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// prepareFile creates the store's file, private to its owner, or checks
// that the existing one may be a store. SQLite gives the -wal and -shm
// files it makes beside it the same mode.
func prepareFile(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f.Close()
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
		fi, err = os.Stat(path) // another process made it first
	}
	switch {
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("%w: it is a folder; give the store's file", ErrNotStore)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: it is not a regular file", ErrNotStore)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("open to others (mode %v): a store holds candidates' details and proctors' token hashes; make it private with chmod 600", fi.Mode().Perm())
	}
	// An empty file is a store not made yet; anything else must open as
	// SQLite databases do.
	if fi.Size() == 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, []byte(sqliteMagic)) {
		return fmt.Errorf("%w: the file is not an SQLite database", ErrNotStore)
	}
	return nil
}

// dsn is the connection string: every connection waits for locks, checks
// foreign keys, and syncs each commit (see the package doc); write
// transactions take the write lock when they begin (BEGIN IMMEDIATE), so
// two writers queue rather than fail when one upgrades a read.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	q.Set("mode", "rw") // the file exists: never create another by mistake
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// open opens the SQLite file, checks it is a store (or empty), turns on
// its write-ahead log and migrates it.
func open(ctx context.Context, path string) (*Store, error) {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: path, now: time.Now}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	// Read before anything is written: a database of another program is
	// left exactly as it was, its journal mode included.
	if _, err := s.identify(ctx, s.db); err != nil {
		return err
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return fmt.Errorf("turn on the write-ahead log: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("turn on the write-ahead log: the journal mode stayed %q (is the file on a network file system?)", mode)
	}
	return s.migrate(ctx)
}

// queryer is a database or a transaction.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// identify says whether the database is empty (a store to make), and
// refuses one that is neither empty nor a store.
func (s *Store) identify(ctx context.Context, q queryer) (fresh bool, err error) {
	var id, objects int64
	err = q.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id)
	if err == nil {
		err = q.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&objects)
	}
	var se *sqlite.Error
	switch {
	case errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_NOTADB:
		return false, fmt.Errorf("%w: the file is not an SQLite database", ErrNotStore)
	case err != nil:
		return false, err
	case id == applicationID:
		return false, nil
	case id == 0 && objects == 0:
		return true, nil
	default:
		return false, fmt.Errorf("%w: an SQLite database of another program (application id %#x, %d objects)", ErrNotStore, id, objects)
	}
}

// SchemaVersion is the version of the schema this cmcgrader writes.
func SchemaVersion() int { return len(migrations) }

// migrate brings the schema up to date in one write transaction: two
// processes opening a new store at once make it once.
func (s *Store) migrate(ctx context.Context) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		fresh, err := s.identify(ctx, tx)
		if err != nil {
			return err
		}
		have := 0
		if !fresh {
			if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&have); err != nil {
				return fmt.Errorf("read the schema version: %w", err)
			}
		}
		if have > len(migrations) {
			return fmt.Errorf("%w: its schema is version %d, this cmcgrader knows versions up to %d; use a newer cmcgrader", ErrNewerSchema, have, len(migrations))
		}
		if fresh {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
				return err
			}
		}
		for v := have; v < len(migrations); v++ {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrate the schema from version %d to %d: %w", v, v+1, err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version, applied_ns) VALUES (?, ?)", v+1, ns(s.now())); err != nil {
				return fmt.Errorf("migrate the schema from version %d to %d: %w", v, v+1, err)
			}
		}
		return nil
	})
}

// Close closes the store. The last process to close it folds the
// write-ahead log back into the file.
func (s *Store) Close() error { return s.db.Close() }

// Path is the store's file, as an absolute path.
func (s *Store) Path() string { return s.path }

// Check runs SQLite's integrity and foreign key checks over the whole
// file, and says what is wrong if anything is.
func (s *Store) Check(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("check store: %w", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return fmt.Errorf("check store: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check store: %w", err)
	}
	rows, err = s.db.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("check store: %w", err)
	}
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			rows.Close()
			return fmt.Errorf("check store: %w", err)
		}
		problems = append(problems, fmt.Sprintf("%s row %d refers to a missing %s row", table, rowid.Int64, parent))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check store: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("check store: %s", strings.Join(problems, "; "))
	}
	return nil
}

// write runs fn in a write transaction, which holds the store's write lock
// from its start, and commits it when fn returns nil.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// read runs fn in a read transaction: one snapshot of the store, which
// writers do not wait for.
func (s *Store) read(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// ns is t as the store keeps times: nanoseconds since 1970.
func ns(t time.Time) int64 { return t.UnixNano() }

// fromNS is the time the store kept as n, in UTC.
func fromNS(n int64) time.Time { return time.Unix(0, n).UTC() }

// clip bounds a message kept in the store to max bytes, cut at a rune.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Writable checks that the store takes writes now: it takes the write
// lock and lets it go, changing nothing.
func (s *Store) Writable(ctx context.Context) error {
	if err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE schema_version SET applied_ns = applied_ns WHERE 0")
		return err
	}); err != nil {
		return fmt.Errorf("store %s not writable: %w", s.path, err)
	}
	return nil
}
