// Package batch grades a cohort: the candidates of a roster, each leased
// from a results store (package store) so that any number of grader
// processes can work on one store, a crash loses nothing that finished,
// and a rerun resumes where the last one stopped.
//
// Every candidate is graded by a grader.Grader, as `cmcgrader grade`
// would: the branch of the roster, or the commit the freeze fixed, and
// the tasks of the candidate's form when the roster names one. The
// sandboxes of all the candidates graded at once share one bound, so a
// host never runs more of them than it has room for.
//
// The same Runner grades the pushes the webhook queued in the store
// (Pushes), while `cmcgrader serve` runs: each push at its commit, the
// report saved as the candidate's next run, and shown on the commit by a
// Publisher; a push that can never be graded ends failed (store.FailPush)
// and is shown as such, without its reason. A candidate is graded by one holder at a time, whether a
// cohort grading leased it or a push worker:
//
//	r := &batch.Runner{Grader: g, Store: st, Bank: bank, Holder: holder, Parallel: 2, Log: log}
//	hook, _ := webhook.New(webhook.Config{Store: st, Secret: secret, Queued: r.Queued})
//	...
//	err := r.Pushes(ctx, 2*time.Minute) // until ctx ends, then a grace of 2m
package batch

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/grader"
	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// DefaultTTL is how long a candidate's lease lasts unless renewed; the
// runner renews it every third of that while it grades.
const DefaultTTL = 2 * time.Minute

// Runner grades the candidates of a store.
type Runner struct {
	// Grader is the template of every candidate's grading: its Runner,
	// Images, Limits, Fetch, Cache, Recheck and Jobs. Its Progress is
	// not used. Required.
	Grader *grader.Grader
	// Store holds the roster and receives the reports. Required.
	Store *store.Store
	// Bank is the task bank; Tasks, if set, grades only these of it.
	Bank  *tasks.Bank
	Tasks []string
	// RosterDir is the folder form files are named relative to.
	RosterDir string
	// Holder names this process in leases (host and process id).
	// Required.
	Holder string
	// TTL is the leases' time to live; zero means DefaultTTL.
	TTL time.Duration
	// Parallel bounds the candidates graded at once and, shared among
	// them, the sandboxes run at once; zero means 1.
	Parallel int
	// SignKey, if set, signs every report.
	SignKey ed25519.PrivateKey
	// Log receives progress and diagnostics. Required.
	Log *logrus.Entry
	// Progress, if set, hears of every candidate that starts and ends.
	Progress Progress

	// Publisher, if set, shows the pushes graded (Pushes) on their
	// commits.
	Publisher Publisher
	// Poll and RetryWait are the push workers' waits; zero means
	// DefaultPoll and DefaultRetryWait.
	Poll, RetryWait time.Duration

	push pushState
}

// Progress hears of the candidates as they are graded. Its methods may
// be called from several goroutines.
type Progress interface {
	Started(c cohort.Candidate)
	// Done says how the candidate's attempt ended: its state in the
	// store, the report when there is one, the error otherwise.
	Done(c cohort.Candidate, state store.State, rep *report.Report, err error)
}

// ErrStopped means the run stopped before every candidate was graded:
// the sandbox backend stopped answering, or the run was interrupted.
// What finished is in the store; a rerun resumes.
var ErrStopped = errors.New("cohort grading stopped")

// Run grades candidates until none is left to grade, the context ends or
// the backend stops answering. Candidates another process is grading are
// left to it.
func (r *Runner) Run(ctx context.Context) error {
	parallel := max(r.Parallel, 1)
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	slots := make(chan struct{}, parallel)
	runner := &boundedRunner{Runner: r.Grader.Runner, slots: slots}
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for ctx.Err() == nil {
				l, err := r.Store.Next(ctx, r.Holder, ttl)
				if errors.Is(err, store.ErrNoCandidate) {
					wait, err := r.leased(ctx)
					if err != nil {
						cancel(err)
						return
					}
					if wait == 0 {
						return
					}
					// Another worker or process grades what is left:
					// its lease ends when it finishes, or runs out if
					// it died, and the candidate comes back to Next.
					select {
					case <-ctx.Done():
					case <-time.After(min(wait, ttl/3)):
					}
					continue
				}
				if err != nil {
					cancel(err)
					return
				}
				if err := r.one(ctx, l, runner); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: %w", ErrStopped, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrStopped, err)
	}
	return nil
}

// leased returns how long until the first lease on a candidate still
// being graded runs out; zero when no candidate is being graded.
func (r *Runner) leased(ctx context.Context) (time.Duration, error) {
	cs, err := r.Store.Candidates(ctx)
	if err != nil {
		return 0, err
	}
	var wait time.Duration
	now := time.Now()
	for _, c := range cs {
		if c.State != store.Running {
			continue
		}
		d := 100 * time.Millisecond // interrupted: Next takes it over now
		if c.Lease != nil && c.Lease.Expires.After(now) {
			d = max(c.Lease.Expires.Sub(now), d)
		}
		if wait == 0 || d < wait {
			wait = d
		}
	}
	return wait, nil
}

// one grades the candidate of lease l and ends the lease. The error
// stops the whole run: the backend is gone, the store failed, or ctx
// ended (the lease is then given back, and a rerun grades the candidate
// again).
func (r *Runner) one(ctx context.Context, l *store.Lease, runner sandbox.Runner) error {
	c := l.Candidate
	log := r.Log.WithField("candidate", c.ID)
	if r.Progress != nil {
		r.Progress.Started(c)
	}
	done := func(state store.State, rep *report.Report, err error) {
		if r.Progress != nil {
			r.Progress.Done(c, state, rep, err)
		}
	}
	gctx, stop := l.Keep(ctx)
	rep, err := r.grade(gctx, c, l.Commit, runner)
	stop()
	// A background context: the lease must end even when ctx did.
	end := context.WithoutCancel(ctx)
	switch {
	case ctx.Err() != nil || errors.Is(err, store.ErrLeaseLost) || errors.Is(context.Cause(gctx), store.ErrLeaseLost):
		if rerr := l.Release(end); rerr != nil && !errors.Is(rerr, store.ErrLeaseLost) {
			log.WithError(rerr).Warn("could not give the lease back; it expires by itself")
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.WithError(err).Warn("lease lost: another process may grade this candidate")
		return nil
	case errors.Is(err, sandbox.ErrBackendDown):
		if rerr := l.Release(end); rerr != nil {
			log.WithError(rerr).Warn("could not give the lease back; it expires by itself")
		}
		return err
	case errors.Is(err, grader.ErrSubmission), errors.Is(err, errBadForm):
		// What the candidate gave cannot be graded (no such branch, a
		// bad form): a retry would not change it.
		log.WithError(err).Warn("candidate failed")
		if ferr := r.Store.Fail(end, l, err); ferr != nil {
			return ferr
		}
		done(store.Failed, nil, err)
		return nil
	case err != nil:
		log.WithError(err).Warn("candidate not gradable; it will be retried")
		if ferr := r.Store.Retry(end, l, err); ferr != nil {
			return ferr
		}
		done(store.NotGradable, nil, err)
		return nil
	}
	raw, sig, err := report.Encode(rep, r.SignKey)
	if err != nil {
		return err
	}
	if err := r.Store.SaveReport(end, l, rep, raw, sig); err != nil {
		if errors.Is(err, store.ErrLeaseLost) {
			log.WithError(err).Warn("lease lost before the report was saved; another process grades this candidate")
			return nil
		}
		return err
	}
	state, why := store.Outcome(rep)
	if state != store.Done {
		done(state, nil, errors.New(why))
		return nil
	}
	done(state, rep, nil)
	return nil
}

// errBadForm marks a form file of the roster that cannot be used.
var errBadForm = errors.New("bad form")

// grade grades candidate c: commit, or its branch when commit is "".
func (r *Runner) grade(ctx context.Context, c cohort.Candidate, commit string, runner sandbox.Runner) (*report.Report, error) {
	bank := r.Bank
	var err error
	if len(r.Tasks) > 0 {
		if bank, err = bank.Subset(r.Tasks); err != nil {
			return nil, fmt.Errorf("%w: %w", errBadForm, err)
		}
	}
	var form *tasks.Form
	if c.Form != "" {
		name := c.Form
		if !filepath.IsAbs(name) {
			name = filepath.Join(r.RosterDir, name)
		}
		if form, err = tasks.LoadForm(name); err != nil {
			return nil, fmt.Errorf("%w: %w", errBadForm, err)
		}
		if bank, err = form.Tasks(bank); err != nil {
			return nil, fmt.Errorf("%w: form %s: %w", errBadForm, c.Form, err)
		}
	}
	g := *r.Grader
	g.Runner = runner
	g.Progress = nil
	g.Log = r.Log.WithField("candidate", c.ID)
	sub := grader.Submission{Repo: c.Repo, Branch: c.Branch}
	if commit != "" {
		sub.Branch, sub.Commit = "", commit
	}
	rep, err := g.Grade(ctx, bank, sub)
	if err != nil {
		return nil, err
	}
	if form != nil {
		rep.Form = &report.FormInfo{Candidate: form.Candidate, Attempt: form.Attempt}
	}
	return rep, nil
}

// boundedRunner runs at most cap(slots) sandboxes at once, among all the
// candidates graded at once.
type boundedRunner struct {
	sandbox.Runner
	slots chan struct{}
}

func (b *boundedRunner) Run(ctx context.Context, spec sandbox.Spec) (sandbox.Result, error) {
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return sandbox.Result{}, ctx.Err()
	}
	defer func() { <-b.slots }()
	return b.Runner.Run(ctx, spec)
}
