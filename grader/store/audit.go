package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Entry is one line of the audit log: what a proctor did.
type Entry struct {
	// ID numbers the entries in the order recorded; the store sets it.
	ID int64
	// Proctor is who acted, as AddProctor named them.
	Proctor string
	// Action names what they did ("accept", "reject", "regrade").
	Action string
	// Candidate and Task are what it concerned, if anything.
	Candidate string
	Task      string
	// Reason is the proctor's reason, in their words.
	Reason string
	// At is when; the zero time means now.
	At time.Time
}

// maxEntryBytes bounds each text of an audit entry.
const maxEntryBytes = 4 << 10

// checkEntry refuses an entry without a proctor or an action, or with a
// text too long to keep.
func checkEntry(e *Entry) error {
	switch {
	case e.Proctor == "":
		return fmt.Errorf("%w: the audit entry names no proctor", ErrInvalid)
	case e.Action == "":
		return fmt.Errorf("%w: the audit entry names no action", ErrInvalid)
	}
	for _, f := range []string{e.Proctor, e.Action, e.Candidate, e.Task, e.Reason} {
		if len(f) > maxEntryBytes {
			return fmt.Errorf("%w: an audit entry's text has %d bytes, at most %d are kept", ErrInvalid, len(f), maxEntryBytes)
		}
	}
	return nil
}

// Audit records an entry in the audit log, which is append-only: the
// store refuses to change or delete an entry.
func (s *Store) Audit(ctx context.Context, e Entry) error {
	if err := checkEntry(&e); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		return s.insertEntry(ctx, tx, e, s.now())
	})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func (s *Store) insertEntry(ctx context.Context, tx *sql.Tx, e Entry, now time.Time) error {
	if e.At.IsZero() {
		e.At = now
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO audit (at_ns, proctor, action, candidate, task, reason) VALUES (?, ?, ?, ?, ?, ?)",
		ns(e.At), e.Proctor, e.Action, e.Candidate, e.Task, e.Reason)
	return err
}

// AuditLog returns the audit log, oldest entry first.
func (s *Store) AuditLog(ctx context.Context) ([]Entry, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, at_ns, proctor, action, candidate, task, reason FROM audit ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Proctor, &e.Action, &e.Candidate, &e.Task, &e.Reason); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.At = fromNS(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

// tokenBytes is the randomness of a proctor's token.
const tokenBytes = 32

// tokenEncoding writes tokens: URL-safe, no padding (43 characters).
var tokenEncoding = base64.RawURLEncoding

// AddProctor adds a proctor and returns their token, the only time it is
// shown: the store keeps its SHA-256 alone. A name is printable text of at
// most 64 bytes; a name taken fails with ErrExists.
func (s *Store) AddProctor(ctx context.Context, name string) (token string, err error) {
	if err := checkProctor(name); err != nil {
		return "", fmt.Errorf("add proctor: %w", err)
	}
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("add proctor: %w", err)
	}
	token = tokenEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	err = s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM proctors WHERE name = ?", name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: a proctor is named %q; remove them first to issue a new token", ErrExists, name)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO proctors (name, token_sha256, added_ns) VALUES (?, ?, ?)", name, sum[:], ns(s.now()))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("add proctor: %w", err)
	}
	return token, nil
}

func checkProctor(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the proctor's name is empty", ErrInvalid)
	case len(name) > 64:
		return fmt.Errorf("%w: the proctor's name has %d bytes, at most 64", ErrInvalid, len(name))
	case !utf8.ValidString(name) || strings.TrimSpace(name) != name:
		return fmt.Errorf("%w: the proctor's name %q is not valid UTF-8 or has spaces at an end", ErrInvalid, name)
	case strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("%w: the proctor's name %q holds a character that is not printable", ErrInvalid, name)
	}
	return nil
}

// CheckToken says whose token this is: ok is false for a token no proctor
// holds. Its time does not depend on which stored hash, if any, matches:
// the token's SHA-256 is compared with every proctor's, each in constant
// time, and the loop never stops early.
func (s *Store) CheckToken(ctx context.Context, token string) (name string, ok bool, err error) {
	if tokenEncoding.EncodedLen(tokenBytes) != len(token) {
		return "", false, nil // the length is no secret
	}
	sum := sha256.Sum256([]byte(token))
	rows, err := s.db.QueryContext(ctx, "SELECT name, token_sha256 FROM proctors")
	if err != nil {
		return "", false, fmt.Errorf("check token: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		var h []byte
		if err := rows.Scan(&n, &h); err != nil {
			return "", false, fmt.Errorf("check token: %w", err)
		}
		if subtle.ConstantTimeCompare(sum[:], h) == 1 {
			name, ok = n, true
		}
	}
	if err := rows.Err(); err != nil {
		return "", false, fmt.Errorf("check token: %w", err)
	}
	return name, ok, nil
}

// RemoveProctor removes a proctor: their token stops working at once. The
// audit log keeps what they did. It fails with ErrNotFound for a name no
// proctor has.
func (s *Store) RemoveProctor(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM proctors WHERE name = ?", name)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = fmt.Errorf("%w: no proctor is named %q", ErrNotFound, name)
		}
	}
	if err != nil {
		return fmt.Errorf("remove proctor: %w", err)
	}
	return nil
}

// Proctor is a proctor as the store lists them; their token is not kept.
type Proctor struct {
	Name  string
	Added time.Time
}

// Proctors lists the proctors by name.
func (s *Store) Proctors(ctx context.Context) ([]Proctor, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name, added_ns FROM proctors ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list proctors: %w", err)
	}
	defer rows.Close()
	var out []Proctor
	for rows.Next() {
		var p Proctor
		var added int64
		if err := rows.Scan(&p.Name, &added); err != nil {
			return nil, fmt.Errorf("list proctors: %w", err)
		}
		p.Added = fromNS(added)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list proctors: %w", err)
	}
	return out, nil
}
