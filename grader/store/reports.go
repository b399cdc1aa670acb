package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/report"
)

// MaxReportSize bounds a report kept in the store. The grader's reports
// are far smaller: test output is capped where it is captured.
const MaxReportSize = 64 << 20

// Report kinds, in the reports table.
const (
	kindGraded   = "graded"
	kindReviewed = "reviewed"
)

// SaveReport saves rep, the report of the lease's candidate, with raw, the
// bytes of its report file (rep as WriteJSON writes it), and sig, its
// signature file's (nil when unsigned). In one transaction, and only while
// the lease is held, it adds the report as the candidate's next run,
// replaces the candidate's task states, ends the lease and marks the
// candidate done, or not gradable when the report leaves tasks not
// gradable or not graded (see Retry). Once it returned, the report is on
// disk.
//
// The report must be the bytes given (ErrInvalid otherwise), sig must be
// a valid signature of them (report.VerifyReport, against the key it
// names), a report of a form must be the candidate's, and with a freeze
// loaded it must grade the commit frozen. It fails with ErrLeaseLost, and
// saves nothing, when the lease expired or was taken over.
func (s *Store) SaveReport(ctx context.Context, l *Lease, rep *report.Report, raw, sig []byte) error {
	if l == nil {
		return fmt.Errorf("save report: %w: no lease", ErrInvalid)
	}
	sig, err := checkReport(l.Candidate.ID, rep, raw, sig)
	if err != nil {
		return fmt.Errorf("save report of candidate %s: %w", l.Candidate.ID, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if err := held(ctx, tx, l, now); err != nil {
			return err
		}
		if err := checkFrozen(ctx, tx, l.Candidate.ID, rep); err != nil {
			return err
		}
		if err := s.insertReport(ctx, tx, l.Candidate.ID, kindGraded, rep, raw, sig, l.Holder, now); err != nil {
			return err
		}
		state, why := Outcome(rep)
		if _, err := tx.ExecContext(ctx, "UPDATE candidates SET state = ?, last_error = ?, updated_ns = ? WHERE id = ?",
			state, why, ns(now), l.Candidate.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM leases WHERE candidate = ?", l.Candidate.ID); err != nil {
			return err
		}
		if saveHook != nil {
			saveHook()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save report of candidate %s: %w", l.Candidate.ID, err)
	}
	l.end()
	return nil
}

// saveHook, when a test sets it, runs in SaveReport's transaction once
// everything is written, before the commit.
var saveHook func()

// Replacement is a reviewed report that replaces a candidate's latest one:
// the report with a proctor's decision recorded (report.Report.Review),
// written and signed again.
type Replacement struct {
	// Candidate is whose report is replaced.
	Candidate string
	// Previous is the bytes of the report reviewed, as Report returned
	// them. If the candidate's latest report is another by now (regraded,
	// or reviewed by another proctor), nothing is replaced (ErrConflict).
	Previous []byte
	// Report, Raw and Sig are the reviewed report, its file's bytes and
	// its signature file's (nil when unsigned), as for SaveReport. It
	// must grade the same commit as the report it replaces.
	Report   *report.Report
	Raw, Sig []byte
	// Audit records the decision; its Candidate is Candidate.
	Audit Entry
}

// ReplaceReport saves a reviewed report as the candidate's next run and
// records its audit entry, in one transaction. The report replaced stays
// in the store, as every run does. It fails with ErrConflict when the
// latest report is not r.Previous, and ErrLeased while the candidate is
// being graded again.
func (s *Store) ReplaceReport(ctx context.Context, r Replacement) error {
	sig, err := checkReport(r.Candidate, r.Report, r.Raw, r.Sig)
	if err == nil {
		err = checkEntry(&r.Audit)
	}
	if err == nil && r.Audit.Candidate != "" && r.Audit.Candidate != r.Candidate {
		err = fmt.Errorf("%w: the audit entry is about candidate %s", ErrInvalid, r.Audit.Candidate)
	}
	if err != nil {
		return fmt.Errorf("replace report of candidate %s: %w", r.Candidate, err)
	}
	r.Audit.Candidate = r.Candidate
	err = s.write(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var run int
		var digest, commit string
		err := tx.QueryRowContext(ctx, "SELECT run, digest, commit_sha FROM reports WHERE candidate = ? ORDER BY run DESC LIMIT 1",
			r.Candidate).Scan(&run, &digest, &commit)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: candidate %s has no report", ErrNotFound, r.Candidate)
		case err != nil:
			return err
		case digestOf(r.Previous) != digest:
			return fmt.Errorf("%w: the report reviewed is no longer the latest (run %d); read it again", ErrConflict, run)
		case r.Report.Commit != commit:
			return fmt.Errorf("%w: the reviewed report grades commit %s, the report it replaces %s", ErrInvalid, r.Report.Commit, commit)
		}
		var holder string
		var expires int64
		err = tx.QueryRowContext(ctx, "SELECT holder, expires_ns FROM leases WHERE candidate = ?", r.Candidate).Scan(&holder, &expires)
		switch {
		case err == nil && expires > ns(now):
			return fmt.Errorf("%w: %s is grading candidate %s again", ErrLeased, holder, r.Candidate)
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if err := s.insertReport(ctx, tx, r.Candidate, kindReviewed, r.Report, r.Raw, sig, r.Audit.Proctor, now); err != nil {
			return err
		}
		state, why := Outcome(r.Report)
		if _, err := tx.ExecContext(ctx, `UPDATE candidates SET state = ?, last_error = ?, updated_ns = ?
			WHERE id = ? AND state IN ('done', 'not-gradable')`, state, why, ns(now), r.Candidate); err != nil {
			return err
		}
		return s.insertEntry(ctx, tx, r.Audit, now)
	})
	if err != nil {
		return fmt.Errorf("replace report of candidate %s: %w", r.Candidate, err)
	}
	return nil
}

// checkReport checks a report before it is saved for candidate: its size,
// that raw is rep's bytes and sig their signature. It returns sig, nil
// when empty.
func checkReport(candidate string, rep *report.Report, raw, sig []byte) ([]byte, error) {
	switch {
	case rep == nil:
		return nil, fmt.Errorf("%w: no report", ErrInvalid)
	case len(raw) > MaxReportSize:
		return nil, fmt.Errorf("%w: the report has %d bytes, at most %d are kept", ErrTooLarge, len(raw), MaxReportSize)
	case len(sig) > report.MaxSignatureSize:
		return nil, fmt.Errorf("%w: the signature has %d bytes, a signature file has at most %d", ErrInvalid, len(sig), report.MaxSignatureSize)
	case rep.Form != nil && rep.Form.Candidate != candidate:
		return nil, fmt.Errorf("%w: the report grades the form of candidate %s", ErrInvalid, rep.Form.Candidate)
	}
	// The indexed columns come from rep: they must describe the bytes.
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if !bytes.Equal(buf.Bytes(), raw) {
		return nil, fmt.Errorf("%w: the report's bytes are not the report given (give the bytes WriteJSON wrote)", ErrInvalid)
	}
	if len(sig) == 0 {
		return nil, nil
	}
	if _, err := report.VerifyReport(raw, sig, nil); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return sig, nil
}

// checkFrozen checks that rep grades the commit frozen for candidate, if
// one was.
func checkFrozen(ctx context.Context, tx *sql.Tx, candidate string, rep *report.Report) error {
	var frozen string
	err := tx.QueryRowContext(ctx, "SELECT commit_sha FROM frozen_commits WHERE candidate = ?", candidate).Scan(&frozen)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	case rep.Commit != frozen:
		return fmt.Errorf("%w: the report grades commit %s, but the freeze fixed %s", ErrInvalid, rep.Commit, frozen)
	}
	return nil
}

// Outcome is the state a report leaves its candidate in (SaveReport),
// and why it is not done: a report with a task not gradable or not
// graded, or an interrupted one, leaves it NotGradable, to be retried.
func Outcome(rep *report.Report) (State, string) {
	var open []string
	for _, t := range rep.Tasks {
		if t.Status == report.NotGradable || t.Status == report.NotGraded {
			open = append(open, t.ID+" "+string(t.Status))
		}
	}
	switch {
	case len(open) > 0:
		return NotGradable, clip(fmt.Sprintf("%d task(s) without a grade: %s", len(open), strings.Join(open, ", ")), maxErrorBytes)
	case rep.Interrupted:
		return NotGradable, "the grading was interrupted"
	}
	return Done, ""
}

// digestOf names bytes as the store does: "sha256:" and the hex SHA-256.
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// insertReport adds rep as the candidate's next run and makes its tasks
// the candidate's task states.
func (s *Store) insertReport(ctx context.Context, tx *sql.Tx, candidate, kind string, rep *report.Report, raw, sig []byte, by string, now time.Time) error {
	var run int
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(run), 0) + 1 FROM reports WHERE candidate = ?", candidate).Scan(&run); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO reports
		(candidate, run, kind, raw, sig, digest, commit_sha, verdict, overall, finished_ns, saved_ns, saved_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		candidate, run, kind, raw, sig, digestOf(raw), rep.Commit, string(rep.Verdict), rep.Overall,
		ns(rep.FinishedAt), ns(now), by); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM task_states WHERE candidate = ?", candidate); err != nil {
		return err
	}
	for i, t := range rep.Tasks {
		held, decision := false, ""
		if t.Hold != nil {
			held = t.Hold.Review == nil
			if t.Hold.Review != nil {
				decision = string(t.Hold.Review.Decision)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO task_states
			(candidate, task, pos, run, exam, status, points, possible, held, decision, flaky)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			candidate, t.ID, i, run, t.Exam, string(t.Status), t.Points, t.Possible, held, decision, t.Flaky); err != nil {
			return fmt.Errorf("task %s: %w", t.ID, err)
		}
	}
	return nil
}

// Stored is a report as the store keeps it.
type Stored struct {
	Summary
	// Raw and Sig are the report file's bytes and its signature file's
	// (nil when unsigned), exactly as saved: report.VerifyReport(Raw,
	// Sig, key) checks them.
	Raw, Sig []byte
	// Report is Raw parsed.
	Report *report.Report
}

// Report returns the candidate's latest report: its file's bytes, its
// signature file's (nil when unsigned) and the report they hold. It fails
// with ErrNotFound when the candidate has none.
func (s *Store) Report(ctx context.Context, candidate string) (raw, sig []byte, rep *report.Report, err error) {
	row := s.db.QueryRowContext(ctx, "SELECT "+summaryColumns+`, r.raw, r.sig FROM reports r
		WHERE r.candidate = ? ORDER BY r.run DESC LIMIT 1`, candidate)
	st, err := scanStored(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil, fmt.Errorf("read report of candidate %s: %w: no report", candidate, ErrNotFound)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read report of candidate %s: %w", candidate, err)
	}
	return st.Raw, st.Sig, st.Report, nil
}

// Reports yields each candidate's latest report, in roster order; an error
// ends the sequence. A report is read and parsed only when its turn comes,
// so a cohort's reports are never all in memory.
//
//	for st, err := range s.Reports(ctx) {
//		if err != nil {
//			return err
//		}
//		export(st.Candidate, st.Report)
//	}
func (s *Store) Reports(ctx context.Context) iter.Seq2[*Stored, error] {
	return func(yield func(*Stored, error) bool) {
		err := s.read(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, "SELECT "+summaryColumns+`, r.raw, r.sig
				FROM reports r JOIN candidates c ON c.id = r.candidate
				WHERE r.run = (SELECT max(run) FROM reports WHERE candidate = r.candidate)
				ORDER BY c.ord`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				st, err := scanStored(rows.Scan)
				if err != nil {
					return err
				}
				if !yield(st, nil) {
					return errStop
				}
			}
			return rows.Err()
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(nil, fmt.Errorf("read reports: %w", err))
		}
	}
}

// errStop ends a read whose consumer stopped.
var errStop = errors.New("stop")

// scanStored scans summaryColumns, raw and sig, and parses the report.
func scanStored(scan func(...any) error) (*Stored, error) {
	var st Stored
	var kind string
	var finished, saved int64
	if err := scan(&st.Candidate, &st.Run, &kind, &st.Digest, &st.Commit, &st.Verdict, &st.Overall,
		&finished, &saved, &st.SavedBy, &st.Signed, &st.Raw, &st.Sig); err != nil {
		return nil, err
	}
	st.Reviewed = kind == kindReviewed
	st.FinishedAt, st.Saved = fromNS(finished), fromNS(saved)
	st.Report = &report.Report{}
	if err := json.Unmarshal(st.Raw, st.Report); err != nil {
		return nil, fmt.Errorf("candidate %s run %d: %w", st.Candidate, st.Run, err)
	}
	return &st, nil
}

// TaskState is one task's state in a candidate's latest report.
type TaskState struct {
	Candidate string
	Task      string
	Exam      string
	// Run is the report's run (see Summary).
	Run      int
	Status   report.Status
	Points   float64
	Possible float64
	// Held says the task waits for a proctor's decision (report.Hold).
	Held bool
	// Decision is the proctor's decision on the task's hold, once taken.
	Decision report.Decision
	// Flaky says a second run gave another result (report.TaskGrade).
	Flaky bool
}

// TaskStates lists every task of every candidate's latest report, in roster
// order, then in the report's order.
func (s *Store) TaskStates(ctx context.Context) ([]TaskState, error) {
	return s.taskStates(ctx, "")
}

// ReviewQueue lists the tasks a proctor should look at, in the order of
// TaskStates: those held for a decision, those flaky, and those without a
// grade (not gradable, not graded).
func (s *Store) ReviewQueue(ctx context.Context) ([]TaskState, error) {
	return s.taskStates(ctx, "WHERE t.held = 1 OR t.flaky = 1 OR t.status IN ('not gradable', 'not graded')")
}

func (s *Store) taskStates(ctx context.Context, where string) ([]TaskState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.candidate, t.task, t.exam, t.run, t.status, t.points, t.possible, t.held, t.decision, t.flaky
		FROM task_states t JOIN candidates c ON c.id = t.candidate `+where+`
		ORDER BY c.ord, t.pos`)
	if err != nil {
		return nil, fmt.Errorf("list task states: %w", err)
	}
	defer rows.Close()
	var out []TaskState
	for rows.Next() {
		var t TaskState
		if err := rows.Scan(&t.Candidate, &t.Task, &t.Exam, &t.Run, &t.Status, &t.Points, &t.Possible, &t.Held, &t.Decision, &t.Flaky); err != nil {
			return nil, fmt.Errorf("list task states: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list task states: %w", err)
	}
	return out, nil
}
