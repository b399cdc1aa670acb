package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// maxPublishError bounds the error text kept with a pending publish, and
// maxPublishView its candidate view.
const (
	maxPublishError = 4096
	maxPublishView  = 4 << 20
)

// PendingPublish is a completed result that could not be published to
// the candidate's commit, waiting for a retry (cmcgrader publish
// --pending).
type PendingPublish struct {
	// ID numbers pending publishes from 1.
	ID int64
	// Candidate, Repo and Commit say whose result, and where it goes.
	Candidate, Repo, Commit string
	// View is the candidate view's JSON (report.CandidateReport): what
	// GitHub may show.
	View []byte
	// Attempts counts the retries that failed; LastError is the latest
	// failure.
	Attempts  int
	LastError string
	// Added is when it was first kept.
	Added time.Time
}

// AddPendingPublish keeps a result to publish later. It supersedes a
// pending result of the same commit of the same repository: the newer
// grading is the one to show.
func (s *Store) AddPendingPublish(ctx context.Context, candidate, repo, commit string, view []byte, lastError string) (int64, error) {
	if len(view) == 0 || len(view) > maxPublishView {
		return 0, fmt.Errorf("keep pending publish of %s: %w: a candidate view has 1 byte to %d MiB", candidate, ErrInvalid, maxPublishView>>20)
	}
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := ns(s.now())
		if _, err := tx.ExecContext(ctx, "UPDATE pending_publishes SET state = 'superseded', updated_ns = ? WHERE repo = ? AND commit_sha = ? AND state = 'pending'",
			now, repo, commit); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO pending_publishes (candidate, repo, commit_sha, view, last_error, added_ns, updated_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, candidate, repo, commit, view, clip(lastError, maxPublishError), now, now)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("keep pending publish of %s: %w", candidate, err)
	}
	return id, nil
}

// PendingPublishes returns the results waiting to be published, oldest
// first.
func (s *Store) PendingPublishes(ctx context.Context) ([]PendingPublish, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, candidate, repo, commit_sha, view, attempts, last_error, added_ns
		FROM pending_publishes WHERE state = 'pending' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read pending publishes: %w", err)
	}
	defer rows.Close()
	var ps []PendingPublish
	for rows.Next() {
		var p PendingPublish
		var added int64
		if err := rows.Scan(&p.ID, &p.Candidate, &p.Repo, &p.Commit, &p.View, &p.Attempts, &p.LastError, &added); err != nil {
			return nil, fmt.Errorf("read pending publishes: %w", err)
		}
		p.Added = fromNS(added)
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pending publishes: %w", err)
	}
	return ps, nil
}

// PublishedPending records that pending publish id was published.
func (s *Store) PublishedPending(ctx context.Context, id int64) error {
	return s.updatePending(ctx, id, "UPDATE pending_publishes SET state = 'published', updated_ns = ? WHERE id = ? AND state = 'pending'", ns(s.now()), id)
}

// PendingPublishFailed records that a retry of pending publish id failed
// with lastError; it stays pending.
func (s *Store) PendingPublishFailed(ctx context.Context, id int64, lastError string) error {
	return s.updatePending(ctx, id, "UPDATE pending_publishes SET attempts = attempts + 1, last_error = ?, updated_ns = ? WHERE id = ? AND state = 'pending'",
		clip(lastError, maxPublishError), ns(s.now()), id)
}

func (s *Store) updatePending(ctx context.Context, id int64, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = fmt.Errorf("%w: no pending publish %d", ErrNotFound, id)
		}
	}
	if err != nil {
		return fmt.Errorf("record pending publish %d: %w", id, err)
	}
	return nil
}
