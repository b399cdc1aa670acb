package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/gitref"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// State is where a candidate's grading stands.
//
//	pending ──► running ──► done
//	   ▲           │  ├───► not-gradable ──► running (Next, while attempts < MaxAttempts)
//	   │           │  └───► failed
//	   └───────────┘ released, or Regrade
//
// A running candidate whose lease expired was interrupted (its holder
// died): Next hands it out again.
type State string

// The states of a candidate.
const (
	// Pending: not graded yet, or to grade again (Regrade).
	Pending State = "pending"
	// Running: a lease holder is grading it, or was until it died.
	Running State = "running"
	// Done: its latest report decides every task.
	Done State = "done"
	// NotGradable: the grader could not decide it: its latest report
	// has tasks not gradable or not graded, or the attempt ended without
	// a report for a reason that may pass (Retry). Next retries it while
	// it has had fewer than MaxAttempts attempts.
	NotGradable State = "not-gradable"
	// Failed: grading cannot succeed without a person's help (Fail); it
	// is not retried until Regrade.
	Failed State = "failed"
)

// MaxAttempts is how many attempts Next gives a candidate that stays not
// gradable.
const MaxAttempts = 3

// maxErrorBytes bounds the last error kept for a candidate.
const maxErrorBytes = 4 << 10

// MaxFreezeSize bounds a freeze file (about 300 bytes a candidate).
const MaxFreezeSize = 16 << 20

// maxFreezeSigSize bounds a freeze's signature file.
const maxFreezeSigSize = 64 << 10

// SetRoster loads the cohort's roster: one candidate row each, pending. A
// store holds one cohort: loading the same roster again (the same digest)
// changes nothing, and another roster is refused (ErrConflict).
func (s *Store) SetRoster(ctx context.Context, r *cohort.Roster) error {
	if r.Digest == "" {
		return fmt.Errorf("load roster %s: %w: it has no digest", r.Path, ErrInvalid)
	}
	seen := make(map[string]bool, len(r.Candidates))
	for _, c := range r.Candidates {
		if err := tasks.CheckCandidate(c.ID); err != nil {
			return fmt.Errorf("load roster %s: line %d: %w: %w", r.Path, c.Line, ErrInvalid, err)
		}
		if seen[c.ID] {
			return fmt.Errorf("load roster %s: line %d: %w: candidate %s is listed twice", r.Path, c.Line, ErrInvalid, c.ID)
		}
		seen[c.ID] = true
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var path, digest string
		err := tx.QueryRowContext(ctx, "SELECT path, digest FROM roster").Scan(&path, &digest)
		switch {
		case err == nil && digest == r.Digest:
			return nil
		case err == nil:
			return fmt.Errorf("%w: the store holds the cohort of another roster (%s, %s), this one is %s; a store holds one cohort: use a new store", ErrConflict, path, digest, r.Digest)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		now := ns(s.now())
		if _, err := tx.ExecContext(ctx, "INSERT INTO roster (id, path, digest, saved_ns) VALUES (1, ?, ?, ?)", r.Path, r.Digest, now); err != nil {
			return err
		}
		for i, c := range r.Candidates {
			_, err := tx.ExecContext(ctx, `INSERT INTO candidates
				(id, ord, line, repo, branch, form, attempt, name, email, updated_ns)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.ID, i, c.Line, c.Repo, c.Branch, c.Form, c.Attempt, c.Name, c.Email, now)
			if err != nil {
				return fmt.Errorf("candidate %s: %w", c.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load roster %s: %w", r.Path, err)
	}
	return nil
}

// Roster returns the roster loaded (its candidates in roster order), or
// ErrNotFound.
func (s *Store) Roster(ctx context.Context) (*cohort.Roster, error) {
	r := &cohort.Roster{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT path, digest FROM roster").Scan(&r.Path, &r.Digest)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no roster is loaded", ErrNotFound)
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT "+candidateColumns+" FROM candidates ORDER BY ord")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c cohort.Candidate
			if err := rows.Scan(candidateDest(&c)...); err != nil {
				return err
			}
			r.Candidates = append(r.Candidates, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read roster: %w", err)
	}
	return r, nil
}

// candidateColumns are the roster columns of a candidate, as
// candidateDest scans them.
const candidateColumns = "id, line, repo, branch, form, attempt, name, email"

func candidateDest(c *cohort.Candidate) []any {
	return []any{&c.ID, &c.Line, &c.Repo, &c.Branch, &c.Form, &c.Attempt, &c.Name, &c.Email}
}

// SetFreeze loads the deadline freeze: the freeze file's exact bytes, its
// signature file's (nil when unsigned; kept as given, to be verified by
// whoever made it), and the commits it fixes. The freeze must be of the
// roster loaded, and name only its candidates. A freeze is set once:
// loading the same bytes again changes nothing, and other bytes are
// refused (ErrConflict). From then on, a report is saved for a candidate
// only if it grades the commit frozen for that candidate; a candidate
// whose latest report (of a push graded before the deadline) grades
// another commit is made pending again, to be graded at the one frozen.
func (s *Store) SetFreeze(ctx context.Context, raw, sig []byte) error {
	switch {
	case len(raw) > MaxFreezeSize:
		return fmt.Errorf("load freeze: %w: the freeze has %d bytes, at most %d are kept", ErrTooLarge, len(raw), MaxFreezeSize)
	case len(sig) > maxFreezeSigSize:
		return fmt.Errorf("load freeze: %w: its signature has %d bytes, at most %d are kept", ErrTooLarge, len(sig), maxFreezeSigSize)
	}
	var f cohort.Freeze
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("load freeze: %w: not a freeze file: %w", ErrInvalid, err)
	}
	if f.Version != cohort.FreezeVersion {
		return fmt.Errorf("load freeze: %w: freeze version %d, this cmcgrader reads version %d", ErrInvalid, f.Version, cohort.FreezeVersion)
	}
	if len(sig) == 0 {
		sig = nil
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var digest string
		err := tx.QueryRowContext(ctx, "SELECT digest FROM roster").Scan(&digest)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no roster is loaded; load the roster the freeze was made from first", ErrNotFound)
		}
		if err != nil {
			return err
		}
		if f.Roster != digest {
			return fmt.Errorf("%w: the freeze is of roster %s, the store holds roster %s", ErrConflict, f.Roster, digest)
		}
		var oldRaw, oldSig []byte
		var at int64
		err = tx.QueryRowContext(ctx, "SELECT raw, sig, at_ns FROM freeze").Scan(&oldRaw, &oldSig, &at)
		switch {
		case err == nil && bytes.Equal(oldRaw, raw) && bytes.Equal(oldSig, sig):
			return nil
		case err == nil:
			return fmt.Errorf("%w: the store already holds the freeze made at %s, and a deadline is frozen once", ErrConflict, fromNS(at).Format(time.RFC3339))
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		now := ns(s.now())
		if _, err := tx.ExecContext(ctx, "INSERT INTO freeze (id, raw, sig, roster_digest, at_ns, saved_ns) VALUES (1, ?, ?, ?, ?, ?)",
			raw, sig, f.Roster, ns(f.At), now); err != nil {
			return err
		}
		for _, c := range f.Commits {
			if !gitref.IsCommit(c.Commit) {
				return fmt.Errorf("%w: candidate %s: %q is not a full commit SHA", ErrInvalid, c.Candidate, c.Commit)
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO frozen_commits (candidate, repo, branch, commit_sha) VALUES (?, ?, ?, ?)",
				c.Candidate, c.Repo, c.Branch, c.Commit)
			if err != nil {
				if exists, _ := candidateExists(ctx, tx, c.Candidate); !exists {
					return fmt.Errorf("%w: candidate %s is not in the roster", ErrInvalid, c.Candidate)
				}
				return fmt.Errorf("%w: candidate %s: %w", ErrInvalid, c.Candidate, err)
			}
		}
		// A candidate graded before the deadline (a push) at another
		// commit than the one frozen is to be graded again.
		_, err = tx.ExecContext(ctx, `UPDATE candidates SET state = 'pending', attempts = 0, last_error = '', updated_ns = ?
			WHERE state IN ('done', 'not-gradable') AND id IN (SELECT f.candidate FROM frozen_commits f
				JOIN reports r ON r.candidate = f.candidate AND r.run = (SELECT max(run) FROM reports WHERE candidate = f.candidate)
				WHERE r.commit_sha <> f.commit_sha)`, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("load freeze: %w", err)
	}
	return nil
}

// Freeze returns the freeze loaded: its file's bytes, its signature file's
// (nil if unsigned) and the freeze they hold; or ErrNotFound.
func (s *Store) Freeze(ctx context.Context) (raw, sig []byte, f *cohort.Freeze, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT raw, sig FROM freeze").Scan(&raw, &sig)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil, fmt.Errorf("read freeze: %w: no freeze is loaded", ErrNotFound)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read freeze: %w", err)
	}
	f = &cohort.Freeze{}
	if err := json.Unmarshal(raw, f); err != nil {
		return nil, nil, nil, fmt.Errorf("read freeze: %w", err)
	}
	return raw, sig, f, nil
}

func candidateExists(ctx context.Context, tx *sql.Tx, id string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, "SELECT count(*) FROM candidates WHERE id = ?", id).Scan(&n)
	return n > 0, err
}

// CandidateState is a candidate of the roster and where its grading
// stands.
type CandidateState struct {
	cohort.Candidate
	State State
	// Attempts counts the attempts begun since the roster was loaded or
	// the candidate last regraded.
	Attempts int
	// LastError says why the last attempt did not get the candidate
	// done ("" when it did): the grader's error, or which tasks were
	// not gradable.
	LastError string
	// Frozen is the commit the freeze fixed; "" without a freeze, or when
	// the freeze could not read the candidate's branch.
	Frozen string
	// Lease is who grades the candidate now; nil when no one does.
	Lease *LeaseInfo
	// Updated is when the state last changed.
	Updated time.Time
	// Latest summarises the candidate's latest report; nil before the
	// first.
	Latest *Summary
}

// Interrupted says the candidate's grading stopped without an end: its
// holder died or lost the lease. Next hands it out again.
func (c *CandidateState) Interrupted(now time.Time) bool {
	return c.State == Running && (c.Lease == nil || !now.Before(c.Lease.Expires))
}

// LeaseInfo is who holds a candidate's lease.
type LeaseInfo struct {
	Holder  string
	Expires time.Time
}

// Summary is what the store indexes of a saved report.
type Summary struct {
	Candidate string
	// Run numbers the candidate's reports from 1, in the order saved.
	Run int
	// Reviewed says the report replaced the previous run with a
	// proctor's decision (ReplaceReport).
	Reviewed bool
	// Digest is "sha256:" and the hex SHA-256 of the report's bytes.
	Digest     string
	Commit     string
	Verdict    report.Verdict
	Overall    float64
	FinishedAt time.Time
	// Saved is when the store saved it, and SavedBy the lease holder or
	// proctor who did.
	Saved   time.Time
	SavedBy string
	// Signed says a signature file was saved with it.
	Signed bool
}

// summaryColumns are the report columns Summary holds; scanSummary reads
// them.
const summaryColumns = "r.candidate, r.run, r.kind, r.digest, r.commit_sha, r.verdict, r.overall, r.finished_ns, r.saved_ns, r.saved_by, r.sig IS NOT NULL"

// Candidates lists the roster's candidates in roster order, each with its
// state, lease and latest report.
func (s *Store) Candidates(ctx context.Context) ([]CandidateState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.line, c.repo, c.branch, c.form, c.attempt, c.name, c.email,
			c.state, c.attempts, c.last_error, c.updated_ns, f.commit_sha, l.holder, l.expires_ns,
			r.run, r.kind, r.digest, r.commit_sha, r.verdict, r.overall, r.finished_ns, r.saved_ns, r.saved_by, r.sig IS NOT NULL
		FROM candidates c
		LEFT JOIN frozen_commits f ON f.candidate = c.id
		LEFT JOIN leases l ON l.candidate = c.id
		LEFT JOIN reports r ON r.candidate = c.id AND r.run = (SELECT max(run) FROM reports WHERE candidate = c.id)
		ORDER BY c.ord`)
	if err != nil {
		return nil, fmt.Errorf("list candidates: %w", err)
	}
	defer rows.Close()
	var out []CandidateState
	for rows.Next() {
		var c CandidateState
		var updated int64
		var frozen, holder, kind, digest, commit, verdict, savedBy sql.NullString
		var expires, run, finished, saved sql.NullInt64
		var overall sql.NullFloat64
		var signed sql.NullBool
		dest := append(candidateDest(&c.Candidate), &c.State, &c.Attempts, &c.LastError, &updated, &frozen, &holder, &expires,
			&run, &kind, &digest, &commit, &verdict, &overall, &finished, &saved, &savedBy, &signed)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("list candidates: %w", err)
		}
		c.Updated = fromNS(updated)
		c.Frozen = frozen.String
		if holder.Valid {
			c.Lease = &LeaseInfo{Holder: holder.String, Expires: fromNS(expires.Int64)}
		}
		if run.Valid {
			c.Latest = &Summary{
				Candidate: c.ID, Run: int(run.Int64), Reviewed: kind.String == kindReviewed, Digest: digest.String,
				Commit: commit.String, Verdict: report.Verdict(verdict.String), Overall: overall.Float64,
				FinishedAt: fromNS(finished.Int64), Saved: fromNS(saved.Int64), SavedBy: savedBy.String, Signed: signed.Bool,
			}
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list candidates: %w", err)
	}
	return out, nil
}

// Counts is how many candidates are in each state.
type Counts struct {
	Total, Pending, Running, Done, NotGradable, Failed int
}

// Counts counts the candidates in each state, for a progress line. When
// Next finds no candidate but some are Running under another process's
// lease, they come back to Next if that process dies.
func (s *Store) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	rows, err := s.db.QueryContext(ctx, "SELECT state, count(*) FROM candidates GROUP BY state")
	if err != nil {
		return c, fmt.Errorf("count candidates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st State
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return c, fmt.Errorf("count candidates: %w", err)
		}
		c.Total += n
		switch st {
		case Pending:
			c.Pending = n
		case Running:
			c.Running = n
		case Done:
			c.Done = n
		case NotGradable:
			c.NotGradable = n
		case Failed:
			c.Failed = n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("count candidates: %w", err)
	}
	return c, nil
}

// Regrade makes candidates pending again, with no attempts, so that Next
// hands them out: the candidates named, or without names every one that is
// done, not gradable or failed. A candidate being graded (Running) is left
// to its holder. Reports saved stay in the store; the next one saved
// becomes the latest. Regrade returns how many candidates it reset.
func (s *Store) Regrade(ctx context.Context, candidates ...string) (int, error) {
	const reset = `UPDATE candidates SET state = 'pending', attempts = 0, last_error = '', updated_ns = ?
		WHERE state IN ('done', 'not-gradable', 'failed')`
	n := 0
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := ns(s.now())
		if len(candidates) == 0 {
			res, err := tx.ExecContext(ctx, reset, now)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			n = int(k)
			return err
		}
		for _, id := range candidates {
			if ok, err := candidateExists(ctx, tx, id); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("%w: candidate %s is not in the roster", ErrNotFound, id)
			}
			res, err := tx.ExecContext(ctx, reset+" AND id = ?", now, id)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("regrade: %w", err)
	}
	return n, nil
}
