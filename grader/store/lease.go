package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
)

// Lease is the right to grade one candidate until it expires. The holder
// renews it while grading (Renew, or Keep), and ends it with SaveReport,
// Retry or Fail, or gives it back with Release. A lease that expires (its
// holder died or stalled) may be taken by another: from then on, the old
// holder can neither renew it nor save under it (ErrLeaseLost).
//
// A Lease is safe for concurrent use.
type Lease struct {
	store *Store
	// Candidate is the roster row of the candidate to grade.
	Candidate cohort.Candidate
	// Commit is the commit to grade, as the freeze fixed it; "" without a
	// freeze (grade the branch).
	Commit string
	// Holder names who holds the lease, as given to Acquire or Next.
	Holder string
	// Attempt numbers this attempt at the candidate, from 1.
	Attempt int

	token string
	ttl   time.Duration

	mu      sync.Mutex
	expires time.Time
	ended   bool
}

// Expires is when the lease expires unless renewed.
func (l *Lease) Expires() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expires
}

// end marks the lease ended by its holder: saved, failed or released.
func (l *Lease) end() {
	l.mu.Lock()
	l.ended = true
	l.mu.Unlock()
}

func (l *Lease) isEnded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ended
}

// Acquire takes the lease on a candidate for holder (a name for the
// process, such as host and pid) for ttl, and marks the candidate
// Running. It fails with ErrLeased while another lease on the candidate
// has not expired, whoever holds it, or a push of the candidate is being
// graded (NextPush); ErrDone when the candidate is done
// (Regrade it first); ErrNotFound when it is not in the roster. An
// expired lease is taken over.
func (s *Store) Acquire(ctx context.Context, candidate, holder string, ttl time.Duration) (*Lease, error) {
	if err := checkLease(holder, ttl); err != nil {
		return nil, fmt.Errorf("lease candidate %s: %w", candidate, err)
	}
	var l *Lease
	err := s.write(ctx, func(tx *sql.Tx) error {
		var state State
		err := tx.QueryRowContext(ctx, "SELECT state FROM candidates WHERE id = ?", candidate).Scan(&state)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: candidate %s is not in the roster", ErrNotFound, candidate)
		case err != nil:
			return err
		case state == Done:
			return fmt.Errorf("%w: candidate %s is graded; regrade it to grade it again", ErrDone, candidate)
		}
		l, err = s.acquire(ctx, tx, candidate, holder, ttl)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lease candidate %s: %w", candidate, err)
	}
	return l, nil
}

// Next leases the next candidate to grade, in roster order: one pending,
// one whose grading was interrupted (Running under an expired lease), and
// last one not gradable that has had fewer than MaxAttempts attempts; a
// candidate whose push is being graded (NextPush) waits. It fails with
// ErrNoCandidate when there is none now; see Counts for
// whether others are still being graded.
func (s *Store) Next(ctx context.Context, holder string, ttl time.Duration) (*Lease, error) {
	if err := checkLease(holder, ttl); err != nil {
		return nil, fmt.Errorf("next candidate: %w", err)
	}
	var l *Lease
	err := s.write(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT c.id FROM candidates c LEFT JOIN leases l ON l.candidate = c.id
			WHERE (l.candidate IS NULL OR l.expires_ns <= ?1)
				AND (c.state IN ('pending', 'running') OR (c.state = 'not-gradable' AND c.attempts < ?2))
				AND NOT EXISTS (SELECT 1 FROM pushes p WHERE p.candidate = c.id AND p.state = 'running' AND p.expires_ns > ?1)
			ORDER BY c.state = 'not-gradable', c.ord
			LIMIT 1`, ns(s.now()), MaxAttempts).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoCandidate
		}
		if err != nil {
			return err
		}
		l, err = s.acquire(ctx, tx, id, holder, ttl)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("next candidate: %w", err)
	}
	return l, nil
}

func checkLease(holder string, ttl time.Duration) error {
	switch {
	case holder == "":
		return fmt.Errorf("%w: no holder named", ErrInvalid)
	case len(holder) > 256:
		return fmt.Errorf("%w: the holder's name has %d bytes, at most 256 are kept", ErrInvalid, len(holder))
	case ttl < time.Millisecond:
		return fmt.Errorf("%w: lease time %s: give at least a millisecond", ErrInvalid, ttl)
	}
	return nil
}

// acquire leases candidate in tx, unless an unexpired lease holds it.
func (s *Store) acquire(ctx context.Context, tx *sql.Tx, candidate, holder string, ttl time.Duration) (*Lease, error) {
	now := s.now()
	var other string
	var expires int64
	err := tx.QueryRowContext(ctx, "SELECT holder, expires_ns FROM leases WHERE candidate = ?", candidate).Scan(&other, &expires)
	switch {
	case err == nil && expires > ns(now):
		return nil, fmt.Errorf("%w: %s grades candidate %s until %s", ErrLeased, other, candidate, fromNS(expires).Format(time.RFC3339))
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}
	// A push of the candidate being graded (NextPush) holds it too.
	err = tx.QueryRowContext(ctx, `SELECT holder, expires_ns FROM pushes WHERE candidate = ? AND state = 'running' AND expires_ns > ?
		ORDER BY expires_ns DESC LIMIT 1`, candidate, ns(now)).Scan(&other, &expires)
	switch {
	case err == nil:
		return nil, fmt.Errorf("%w: %s grades a push of candidate %s until %s", ErrLeased, other, candidate, fromNS(expires).Format(time.RFC3339))
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	l := &Lease{store: s, Holder: holder, token: token, ttl: ttl, expires: now.Add(ttl)}
	if _, err := tx.ExecContext(ctx, `INSERT INTO leases (candidate, holder, token, acquired_ns, expires_ns) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (candidate) DO UPDATE SET holder = excluded.holder, token = excluded.token,
			acquired_ns = excluded.acquired_ns, expires_ns = excluded.expires_ns`,
		candidate, holder, token, ns(now), ns(l.expires)); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE candidates SET state = 'running', attempts = attempts + 1, updated_ns = ? WHERE id = ?",
		ns(now), candidate); err != nil {
		return nil, err
	}
	var frozen sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT `+candidateColumns+`, attempts,
		(SELECT commit_sha FROM frozen_commits WHERE candidate = ?) FROM candidates WHERE id = ?`, candidate, candidate).
		Scan(append(candidateDest(&l.Candidate), &l.Attempt, &frozen)...)
	if err != nil {
		return nil, err
	}
	l.Commit = frozen.String
	return l, nil
}

// newToken returns a random lease token: a lease is its token, so that a
// holder that lost its lease cannot act under the next one, even under
// the same holder name.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Renew extends the lease to its time-to-live from now. It fails with
// ErrLeaseLost when the lease expired, was taken over, or was ended.
func (l *Lease) Renew(ctx context.Context) error {
	if l.isEnded() {
		return fmt.Errorf("renew lease on candidate %s: %w: it was ended", l.Candidate.ID, ErrLeaseLost)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("renew lease on candidate %s: %w", l.Candidate.ID, err)
	}
	now := l.store.now()
	expires := now.Add(l.ttl)
	res, err := l.store.db.ExecContext(ctx, "UPDATE leases SET expires_ns = ? WHERE candidate = ? AND token = ? AND expires_ns > ?",
		ns(expires), l.Candidate.ID, l.token, ns(now))
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = fmt.Errorf("%w: it expired or was taken over", ErrLeaseLost)
		}
	}
	if err != nil {
		return fmt.Errorf("renew lease on candidate %s: %w", l.Candidate.ID, err)
	}
	l.mu.Lock()
	l.expires = expires
	l.mu.Unlock()
	return nil
}

// Release gives the lease back without an outcome: the candidate is
// pending again (its attempt still counts). It is for an attempt that
// stopped (an interrupt), and does nothing once the lease was ended by
// SaveReport, Retry or Fail, or lost; so defer it after Acquire and Next.
// It runs even when ctx is done, for a few seconds at most.
func (l *Lease) Release(ctx context.Context) error {
	if l.isEnded() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := l.store.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM leases WHERE candidate = ? AND token = ?", l.Candidate.ID, l.token)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // lost: the candidate is another holder's
		}
		_, err = tx.ExecContext(ctx, "UPDATE candidates SET state = 'pending', updated_ns = ? WHERE id = ? AND state = 'running'",
			ns(l.store.now()), l.Candidate.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("release lease on candidate %s: %w", l.Candidate.ID, err)
	}
	l.end()
	return nil
}

// Keep renews the lease every third of its time-to-live until stop is
// called or ctx is done, and returns a context derived from ctx that is
// cancelled, with a cause wrapping ErrLeaseLost, once the lease is lost:
// grade under it, so that grading stops when another process may take
// the candidate over. A renewal that fails for another reason (the store
// busy) is tried again at the next tick, until the lease expires. Call
// stop when grading ends; it returns once the renewals stopped.
func (l *Lease) Keep(ctx context.Context) (kept context.Context, stop func()) {
	return keep(ctx, l.ttl, l.Renew, l.isEnded, l.Expires, l.store.now)
}

// keep renews a lease every third of ttl, as Lease.Keep and PushLease.Keep
// describe: renew renews it, ended says its holder ended it, expires when
// it expires unless renewed.
func keep(ctx context.Context, ttl time.Duration, renew func(context.Context) error, ended func() bool,
	expires func() time.Time, now func() time.Time) (kept context.Context, stop func()) {
	kept, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(max(ttl/3, time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-kept.Done():
				return
			case <-tick.C:
			}
			err := renew(kept)
			switch {
			case err == nil:
			case ended() || kept.Err() != nil:
				return
			case errors.Is(err, ErrLeaseLost):
				cancel(err)
				return
			case !now().Before(expires()):
				cancel(fmt.Errorf("%w: it expired while it could not be renewed: %w", ErrLeaseLost, err))
				return
			}
		}
	}()
	return kept, func() {
		cancel(context.Canceled)
		<-done
	}
}

// Retry ends the attempt without a report, for a reason that may pass (the
// sandbox engine restarted, a network failed): the candidate is not
// gradable, with cause as its last error, and Next hands it out again
// while it has had fewer than MaxAttempts attempts. It fails with
// ErrLeaseLost, and changes nothing, when the lease is no longer held.
func (s *Store) Retry(ctx context.Context, l *Lease, cause error) error {
	return s.endAttempt(ctx, l, NotGradable, cause)
}

// Fail ends the attempt without a report, for a reason that a retry will
// not mend (the candidate's form file is invalid): the candidate is
// failed, with cause as its last error, until a Regrade. It fails with
// ErrLeaseLost, and changes nothing, when the lease is no longer held.
func (s *Store) Fail(ctx context.Context, l *Lease, cause error) error {
	return s.endAttempt(ctx, l, Failed, cause)
}

func (s *Store) endAttempt(ctx context.Context, l *Lease, state State, cause error) error {
	msg := "no reason given"
	if cause != nil {
		msg = clip(cause.Error(), maxErrorBytes)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if err := held(ctx, tx, l, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE candidates SET state = ?, last_error = ?, updated_ns = ? WHERE id = ?",
			state, msg, ns(now), l.Candidate.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM leases WHERE candidate = ?", l.Candidate.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("end attempt at candidate %s: %w", l.Candidate.ID, err)
	}
	l.end()
	return nil
}

// held checks, in tx, that l is still the candidate's unexpired lease.
func held(ctx context.Context, tx *sql.Tx, l *Lease, now time.Time) error {
	if l == nil || l.store == nil {
		return fmt.Errorf("%w: no lease", ErrInvalid)
	}
	if l.isEnded() {
		return fmt.Errorf("%w: the lease on candidate %s was ended", ErrLeaseLost, l.Candidate.ID)
	}
	var holder, token string
	var expires int64
	err := tx.QueryRowContext(ctx, "SELECT holder, token, expires_ns FROM leases WHERE candidate = ?", l.Candidate.ID).Scan(&holder, &token, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: no lease is held on candidate %s", ErrLeaseLost, l.Candidate.ID)
	case err != nil:
		return err
	case token != l.token:
		return fmt.Errorf("%w: %s took candidate %s over", ErrLeaseLost, holder, l.Candidate.ID)
	case expires <= ns(now):
		return fmt.Errorf("%w: the lease on candidate %s expired at %s", ErrLeaseLost, l.Candidate.ID, fromNS(expires).Format(time.RFC3339Nano))
	}
	return nil
}
