package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/gitref"
)

// ErrNoPush means NextPush found no push to grade now.
var ErrNoPush = errors.New("no push to grade")

// PushState is where a queued push stands.
//
//	queued ──► running ──► done
//	   │  ▲        │
//	   │  └────────┘ given back (MarkPush Queued), or its lease expired
//	   │           └─► failed (FailPush: it can never be graded)
//	   └─► superseded (a newer push of the same candidate was queued)
//
// A push received after the cohort's freeze is late: recorded, never
// graded.
type PushState string

// The states of a push.
const (
	PushQueued     PushState = "queued"
	PushRunning    PushState = "running"
	PushDone       PushState = "done"
	PushSuperseded PushState = "superseded"
	PushLate       PushState = "late"
	PushFailed     PushState = "failed"
)

// maxPushError bounds the reason kept with a failed push.
const maxPushError = 1024

// maxDeliveryID bounds a delivery id (GitHub's are UUIDs), and
// maxDeliveryText an event name or outcome kept with it.
const (
	maxDeliveryID   = 128
	maxDeliveryText = 256
)

// Push is one push to a candidate's exam branch, as the queue holds it.
type Push struct {
	// ID numbers the push in the order received, from 1.
	ID int64
	// Candidate is the roster candidate pushed to.
	Candidate string
	// Commit is the pushed head commit: the one to grade.
	Commit string
	// Received is when the push's delivery was received.
	Received time.Time
	// State is where the push stands.
	State PushState
	// Holder names who grades it, or last did; "" before anyone has.
	Holder string
	// Attempts counts the gradings started.
	Attempts int
	// LastError says why a failed push was given up, for proctors: it
	// may name paths and hidden tests, and never reaches a candidate.
	LastError string
	// Updated is when the state last changed.
	Updated time.Time
}

// RecordDelivery records a webhook delivery by its id (GitHub's
// X-GitHub-Delivery) and event, received at at. dup is true when the
// delivery was recorded before and handled to the end (DeliveryOutcome):
// the caller then does nothing more. A delivery recorded but never given
// an outcome (the process died while handling it) is handled again:
// QueuePush of the same commit is idempotent, so nothing is queued twice.
func (s *Store) RecordDelivery(ctx context.Context, id, event string, at time.Time) (dup bool, err error) {
	if id == "" || len(id) > maxDeliveryID {
		return false, fmt.Errorf("record delivery: %w: a delivery id has 1 to %d bytes", ErrInvalid, maxDeliveryID)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var outcome string
		err := tx.QueryRowContext(ctx, "SELECT outcome FROM deliveries WHERE id = ?", id).Scan(&outcome)
		switch {
		case err == nil:
			dup = outcome != ""
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO deliveries (id, event, received_ns) VALUES (?, ?, ?)",
			id, clip(event, maxDeliveryText), ns(at))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record delivery %s: %w", id, err)
	}
	return dup, nil
}

// DeliveryOutcome records what came of a delivery (such as "queued",
// "ignored: another branch"), which marks it handled: a redelivery is
// then a duplicate.
func (s *Store) DeliveryOutcome(ctx context.Context, id, outcome string) error {
	if outcome == "" {
		outcome = "handled"
	}
	res, err := s.db.ExecContext(ctx, "UPDATE deliveries SET outcome = ? WHERE id = ?", clip(outcome, maxDeliveryText), id)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = fmt.Errorf("%w: no such delivery", ErrNotFound)
		}
	}
	if err != nil {
		return fmt.Errorf("record the outcome of delivery %s: %w", id, err)
	}
	return nil
}

// Delivery is one webhook delivery as recorded.
type Delivery struct {
	ID, Event string
	Received  time.Time
	// Outcome is what came of it; "" while it is handled.
	Outcome string
}

// Deliveries returns the deliveries recorded, oldest first.
func (s *Store) Deliveries(ctx context.Context) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, event, received_ns, outcome FROM deliveries ORDER BY received_ns, id")
	if err != nil {
		return nil, fmt.Errorf("read deliveries: %w", err)
	}
	defer rows.Close()
	var ds []Delivery
	for rows.Next() {
		var d Delivery
		var at int64
		if err := rows.Scan(&d.ID, &d.Event, &at, &d.Outcome); err != nil {
			return nil, fmt.Errorf("read deliveries: %w", err)
		}
		d.Received = fromNS(at)
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read deliveries: %w", err)
	}
	return ds, nil
}

// QueuePush queues a grading of commit sha for candidate, whose push was
// received at at. A push received after the freeze's time (the cohort's
// deadline) is recorded Late and not queued; at is the time of receipt,
// never a commit's own timestamp, which its author can set to anything.
// Otherwise it supersedes the candidate's queued pushes, if any; one
// being graded goes on. Queuing the commit already queued for the
// candidate returns that push and changes nothing.
func (s *Store) QueuePush(ctx context.Context, candidate, sha string, at time.Time) (Push, error) {
	sha = strings.ToLower(sha)
	if !gitref.IsCommit(sha) {
		return Push{}, fmt.Errorf("queue push of candidate %s: %w: %q is not a full commit SHA", candidate, ErrInvalid, sha)
	}
	var p Push
	err := s.write(ctx, func(tx *sql.Tx) error {
		exists, err := candidateExists(ctx, tx, candidate)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("%w: candidate %s is not in the roster", ErrNotFound, candidate)
		}
		row := tx.QueryRowContext(ctx, "SELECT "+pushColumns+" FROM pushes WHERE candidate = ? AND commit_sha = ? AND state = 'queued'", candidate, sha)
		p, err = scanPush(row.Scan)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		state := PushQueued
		var deadline int64
		err = tx.QueryRowContext(ctx, "SELECT at_ns FROM freeze").Scan(&deadline)
		switch {
		case err == nil && ns(at) > deadline:
			state = PushLate
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		now := ns(s.now())
		if state == PushQueued {
			if _, err := tx.ExecContext(ctx, "UPDATE pushes SET state = 'superseded', updated_ns = ? WHERE candidate = ? AND state = 'queued'",
				now, candidate); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO pushes (candidate, commit_sha, received_ns, state, updated_ns) VALUES (?, ?, ?, ?, ?)",
			candidate, sha, ns(at), string(state), now)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		p, err = scanPush(tx.QueryRowContext(ctx, "SELECT "+pushColumns+" FROM pushes WHERE id = ?", id).Scan)
		return err
	})
	if err != nil {
		return Push{}, fmt.Errorf("queue push of candidate %s: %w", candidate, err)
	}
	return p, nil
}

const pushColumns = "id, candidate, commit_sha, received_ns, state, holder, attempts, last_error, updated_ns"

func scanPush(scan func(...any) error) (Push, error) {
	var p Push
	var received, updated int64
	if err := scan(&p.ID, &p.Candidate, &p.Commit, &received, &p.State, &p.Holder, &p.Attempts, &p.LastError, &updated); err != nil {
		return Push{}, err
	}
	p.Received, p.Updated = fromNS(received), fromNS(updated)
	return p, nil
}

// Pushes returns every push recorded, in the order received.
func (s *Store) Pushes(ctx context.Context) ([]Push, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+pushColumns+" FROM pushes ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("read pushes: %w", err)
	}
	defer rows.Close()
	var ps []Push
	for rows.Next() {
		p, err := scanPush(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("read pushes: %w", err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pushes: %w", err)
	}
	return ps, nil
}

// PushLease is the right to grade one push until it expires, as a Lease
// is for a candidate. It is safe for concurrent use.
type PushLease struct {
	store *Store
	// Push is the push to grade, as it was leased.
	Push Push

	token string
	ttl   time.Duration

	mu      sync.Mutex
	expires time.Time
	ended   bool
}

// Expires is when the lease expires unless renewed.
func (l *PushLease) Expires() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expires
}

// end marks the lease ended by its holder.
func (l *PushLease) end() {
	l.mu.Lock()
	l.expires, l.ended = time.Time{}, true
	l.mu.Unlock()
}

func (l *PushLease) isEnded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ended
}

// Keep renews the lease every third of its time-to-live until stop is
// called or ctx is done, and returns a context derived from ctx that is
// cancelled, with a cause wrapping ErrLeaseLost, once the lease is lost,
// as Lease.Keep does.
func (l *PushLease) Keep(ctx context.Context) (kept context.Context, stop func()) {
	return keep(ctx, l.ttl, l.Renew, l.isEnded, l.Expires, l.store.now)
}

// NextPush leases the oldest push to grade for holder for ttl, and marks
// it Running: a queued one, or one whose grading was interrupted (Running
// under an expired lease). A candidate is graded by one holder at a time:
// a push is not handed out while another push of the same candidate is
// being graded, nor while the candidate is leased for a cohort grading
// (Next). It fails with ErrNoPush when there is none now.
func (s *Store) NextPush(ctx context.Context, holder string, ttl time.Duration) (*PushLease, error) {
	if err := checkLease(holder, ttl); err != nil {
		return nil, fmt.Errorf("next push: %w", err)
	}
	var l *PushLease
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT p.id FROM pushes p
			WHERE (p.state = 'queued' OR (p.state = 'running' AND p.expires_ns <= ?1))
				AND NOT EXISTS (SELECT 1 FROM pushes o WHERE o.candidate = p.candidate AND o.id <> p.id
					AND o.state = 'running' AND o.expires_ns > ?1)
				AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.candidate = p.candidate AND l.expires_ns > ?1)
			ORDER BY p.id LIMIT 1`, ns(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoPush
		}
		if err != nil {
			return err
		}
		token, err := newToken()
		if err != nil {
			return err
		}
		l = &PushLease{store: s, token: token, ttl: ttl, expires: now.Add(ttl)}
		if _, err := tx.ExecContext(ctx, `UPDATE pushes SET state = 'running', holder = ?, token = ?, expires_ns = ?,
			attempts = attempts + 1, updated_ns = ? WHERE id = ?`, holder, token, ns(l.expires), ns(now), id); err != nil {
			return err
		}
		l.Push, err = scanPush(tx.QueryRowContext(ctx, "SELECT "+pushColumns+" FROM pushes WHERE id = ?", id).Scan)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("next push: %w", err)
	}
	return l, nil
}

// Renew extends the lease to its time-to-live from now. It fails with
// ErrLeaseLost when the lease expired, was taken over, or was ended.
func (l *PushLease) Renew(ctx context.Context) error {
	if l.isEnded() {
		return fmt.Errorf("renew lease on push %d: %w: it was ended", l.Push.ID, ErrLeaseLost)
	}
	now := l.store.now()
	expires := now.Add(l.ttl)
	res, err := l.store.db.ExecContext(ctx, "UPDATE pushes SET expires_ns = ? WHERE id = ? AND token = ? AND state = 'running' AND expires_ns > ?",
		ns(expires), l.Push.ID, l.token, ns(now))
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = fmt.Errorf("%w: it expired, was taken over or was ended", ErrLeaseLost)
		}
	}
	if err != nil {
		return fmt.Errorf("renew lease on push %d: %w", l.Push.ID, err)
	}
	l.mu.Lock()
	l.expires = expires
	l.mu.Unlock()
	return nil
}

// MarkPush ends the grading of a leased push: PushDone when it was
// graded, PushQueued to give it back to the queue (an interrupted
// grading), unless a newer push of the candidate was queued meanwhile,
// which supersedes it. It fails with ErrLeaseLost when the lease expired
// or was taken over, and ErrInvalid for another state.
func (s *Store) MarkPush(ctx context.Context, l *PushLease, state PushState) error {
	if state != PushDone && state != PushQueued {
		return fmt.Errorf("mark push %d: %w: a graded push is done, or queued again; not %q", l.Push.ID, ErrInvalid, state)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := s.now()
		next := state
		if state == PushQueued {
			var newer int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM pushes WHERE candidate = ? AND id > ? AND state = 'queued'",
				l.Push.Candidate, l.Push.ID).Scan(&newer); err != nil {
				return err
			}
			if newer > 0 {
				next = PushSuperseded
			}
		}
		return endPush(ctx, tx, l, now, "state = ?", string(next))
	})
	if err != nil {
		return fmt.Errorf("mark push %d %s: %w", l.Push.ID, state, err)
	}
	l.end()
	return nil
}

// FailPush ends the grading of a leased push that can never be graded
// (its commit is missing, its gradings kept failing): it becomes
// PushFailed, reason kept as its last error for proctors. It fails with
// ErrLeaseLost when the lease expired or was taken over.
func (s *Store) FailPush(ctx context.Context, l *PushLease, reason string) error {
	if reason == "" {
		reason = "not gradable"
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := s.now()
		return endPush(ctx, tx, l, now, "state = 'failed', last_error = ?", clip(reason, maxPushError))
	})
	if err != nil {
		return fmt.Errorf("mark push %d failed: %w", l.Push.ID, err)
	}
	l.end()
	return nil
}

// Release gives the push back to the queue without counting the attempt:
// its grading was stopped by its holder (a shutdown), not by the push.
// A newer push of the candidate queued meanwhile supersedes it. It does
// nothing once the lease was ended, and, like Lease.Release, runs even
// when ctx is done, for a few seconds at most.
func (l *PushLease) Release(ctx context.Context) error {
	if l.isEnded() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := l.store.write(ctx, func(tx *sql.Tx) error {
		now := l.store.now()
		_, err := tx.ExecContext(ctx, `UPDATE pushes SET
			state = CASE WHEN EXISTS (SELECT 1 FROM pushes n WHERE n.candidate = pushes.candidate AND n.id > pushes.id AND n.state = 'queued')
				THEN 'superseded' ELSE 'queued' END,
			attempts = max(attempts - 1, 0), token = '', expires_ns = 0, updated_ns = ?
			WHERE id = ? AND token = ? AND state = 'running'`, ns(now), l.Push.ID, l.token)
		return err // no row: lost, the push is another holder's
	})
	if err != nil {
		return fmt.Errorf("release lease on push %d: %w", l.Push.ID, err)
	}
	l.end()
	return nil
}

// SavePushReport saves rep, the report of the leased push's grading, as
// the candidate's next run, as SaveReport does for a candidate's lease
// (raw and sig are its file's and its signature file's bytes), and marks
// the push done, in one transaction: the candidate's state and task
// states become the report's. The report must grade the push's commit,
// and the commit frozen for the candidate if a freeze was loaded
// (ErrInvalid otherwise). It fails with ErrLeaseLost, and saves nothing,
// when the push's lease expired or was taken over.
func (s *Store) SavePushReport(ctx context.Context, l *PushLease, rep *report.Report, raw, sig []byte) error {
	if l == nil {
		return fmt.Errorf("save report of a push: %w: no lease", ErrInvalid)
	}
	c := l.Push.Candidate
	sig, err := checkReport(c, rep, raw, sig)
	if err == nil && rep.Commit != l.Push.Commit {
		err = fmt.Errorf("%w: the report grades commit %s, the push is of %s", ErrInvalid, rep.Commit, l.Push.Commit)
	}
	if err != nil {
		return fmt.Errorf("save report of push %d: %w", l.Push.ID, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if l.isEnded() {
			return fmt.Errorf("%w: the lease on push %d was ended", ErrLeaseLost, l.Push.ID)
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM pushes WHERE id = ? AND token = ? AND state = 'running' AND expires_ns > ?",
			l.Push.ID, l.token, ns(now)).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: the lease on push %d expired or was taken over", ErrLeaseLost, l.Push.ID)
		}
		if err := checkFrozen(ctx, tx, c, rep); err != nil {
			return err
		}
		if err := s.insertReport(ctx, tx, c, kindGraded, rep, raw, sig, l.Push.Holder, now); err != nil {
			return err
		}
		state, why := Outcome(rep)
		if _, err := tx.ExecContext(ctx, "UPDATE candidates SET state = ?, last_error = ?, updated_ns = ? WHERE id = ?",
			state, why, ns(now), c); err != nil {
			return err
		}
		// A cohort grading that died with the candidate leased left its
		// lease behind, expired (an unexpired one keeps NextPush away).
		if _, err := tx.ExecContext(ctx, "DELETE FROM leases WHERE candidate = ? AND expires_ns <= ?", c, ns(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE pushes SET state = 'done', token = '', expires_ns = 0, updated_ns = ? WHERE id = ?",
			ns(now), l.Push.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("save report of push %d: %w", l.Push.ID, err)
	}
	l.end()
	return nil
}

// endPush ends the lease l on its push, which must still hold it at now,
// setting the columns of set (an SQL assignment list with its args) as
// well; it fails with ErrLeaseLost when the lease expired or was taken
// over.
func endPush(ctx context.Context, tx *sql.Tx, l *PushLease, now time.Time, set string, args ...any) error {
	args = append(args, ns(now), l.Push.ID, l.token, ns(now))
	res, err := tx.ExecContext(ctx, "UPDATE pushes SET "+set+`, token = '', expires_ns = 0, updated_ns = ?
		WHERE id = ? AND token = ? AND state = 'running' AND expires_ns > ?`, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = fmt.Errorf("%w: it expired or was taken over", ErrLeaseLost)
		}
		return err
	}
	return nil
}
