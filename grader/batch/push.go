package batch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/grader"
	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/sandbox"
)

// Publisher shows a push's grading on the candidate's commit, as it is
// queued, started and completed (GitHub's check runs, say). Its errors
// are logged: a grade is never lost or undone because it could not be
// published. Its methods may be called from several goroutines.
type Publisher interface {
	Queued(ctx context.Context, candidate, repoURL, sha string) error
	Started(ctx context.Context, candidate, repoURL, sha string) error
	Completed(ctx context.Context, candidate, repoURL, sha string, r *report.Report) error
	// Failed shows that the push can never be graded. reason is for
	// proctors: it must not reach the candidate.
	Failed(ctx context.Context, candidate, repoURL, sha string, reason error) error
}

// MaxPushAttempts bounds the gradings started of one push: one that
// keeps failing for a reason that may pass (the engine down, a fetch
// broken), or whose grader keeps dying, is given up after that many.
const MaxPushAttempts = store.MaxAttempts

// Defaults of the push workers' waits.
const (
	// DefaultPoll is how often an idle worker looks at the queue for
	// pushes it was not told of: queued by another process, or whose
	// grader died and whose lease ran out.
	DefaultPoll = 2 * time.Second
	// DefaultRetryWait is how long the workers wait after the sandbox
	// backend stopped answering or the store failed, before they lease
	// again.
	DefaultRetryWait = 10 * time.Second
	// publishTimeout bounds one call of the Publisher.
	publishTimeout = time.Minute
)

// pushState is what the push workers share: the signal that a push was
// queued, and the Queued publications still under way.
type pushState struct {
	once       sync.Once
	mu         sync.Mutex
	wake       chan struct{}           // closed, and replaced, when a push is queued
	publishing map[int64]chan struct{} // push id: closed once Queued was published
	bg         sync.WaitGroup          // Queued publications
}

func (r *Runner) pushes() *pushState {
	p := &r.push
	p.once.Do(func() {
		p.wake = make(chan struct{})
		p.publishing = map[int64]chan struct{}{}
	})
	return p
}

// woken returns a channel closed when a push is next queued.
func (p *pushState) woken() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.wake
}

func (p *pushState) wakeAll() {
	p.mu.Lock()
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
}

// Queued tells the workers of a push just queued (the webhook calls it),
// and publishes it as queued in the background: it returns at once. A
// worker that takes the push publishes it as started only once this
// publication ended, so that the two arrive in order.
func (r *Runner) Queued(ctx context.Context, p store.Push) {
	ps := r.pushes()
	if r.Publisher == nil {
		ps.wakeAll()
		return
	}
	done := make(chan struct{})
	ps.mu.Lock()
	ps.publishing[p.ID] = done
	ps.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	ps.bg.Go(func() {
		defer func() {
			ps.mu.Lock()
			delete(ps.publishing, p.ID)
			ps.mu.Unlock()
			close(done)
			ps.wakeAll()
		}()
		log := r.Log.WithFields(logrus.Fields{"candidate": p.Candidate, "commit": p.Commit, "push": p.ID})
		c, err := r.candidate(ctx, p.Candidate)
		if err != nil {
			log.WithError(err).Warn("push not published as queued")
			return
		}
		r.publish(ctx, log, "queued", func(ctx context.Context) error {
			return r.Publisher.Queued(ctx, c.ID, c.Repo, p.Commit)
		})
	})
}

// Pushes grades the pushes of the store's queue (store.NextPush) with
// Parallel workers, each grading one push at a time, until ctx ends. A
// push is graded at its commit, with the tasks of the candidate's form,
// and its report saved as the candidate's next run (SavePushReport), as
// Run would. Sandboxes run at once are bounded by Parallel or the
// Grader's Jobs, whichever is larger.
//
// Once ctx ends, no push is taken; the gradings under way are given
// grace to finish, then cancelled and their pushes given back to the
// queue, the attempt not counted. Pushes returns when every worker
// stopped.
//
// A push whose grading fails for a reason that may pass goes back to the
// queue, up to MaxPushAttempts gradings; after the sandbox backend
// stopped answering, the workers wait RetryWait before they lease
// again. A push that cannot be graded (its commit is not in the
// repository, the candidate's form does not fit the bank), or whose
// attempts ran out, ends without a report: store.PushFailed with the
// reason, logged and published as Failed.
func (r *Runner) Pushes(ctx context.Context, grace time.Duration) error {
	ps := r.pushes()
	defer ps.bg.Wait()
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	workers := max(r.Parallel, 1)
	// hard ends the gradings: grace after ctx ended.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	go func() {
		select {
		case <-ctx.Done():
		case <-hard.Done():
			return
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelHard()
		case <-hard.Done():
		}
	}()
	slots := make(chan struct{}, max(workers, r.Grader.Jobs, 1))
	runner := &boundedRunner{Runner: r.Grader.Runner, slots: slots}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { r.pushWorker(ctx, hard, runner, ttl) })
	}
	wg.Wait()
	return nil
}

// pushWorker leases and grades pushes until ctx ends; hard ends the
// grading under way.
func (r *Runner) pushWorker(ctx, hard context.Context, runner sandbox.Runner, ttl time.Duration) {
	poll := r.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	retry := r.RetryWait
	if retry <= 0 {
		retry = DefaultRetryWait
	}
	idle := func(d time.Duration, wake <-chan struct{}) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-wake:
		case <-t.C:
		}
	}
	for ctx.Err() == nil {
		wake := r.pushes().woken()
		l, err := r.Store.NextPush(ctx, r.Holder, ttl)
		switch {
		case errors.Is(err, store.ErrNoPush):
			idle(poll, wake)
			continue
		case err != nil:
			if ctx.Err() == nil {
				r.Log.WithError(err).Error("could not lease a push; trying again")
				idle(retry, nil)
			}
			continue
		}
		if down := r.gradePush(hard, l, runner); down {
			idle(retry, nil)
		}
	}
}

// gradePush grades the push of lease l, saves its report and ends the
// lease. It returns true when the workers should wait before they lease
// again: the sandbox backend or the store failed.
func (r *Runner) gradePush(ctx context.Context, l *store.PushLease, runner sandbox.Runner) (wait bool) {
	p := l.Push
	log := r.Log.WithFields(logrus.Fields{"candidate": p.Candidate, "commit": p.Commit, "push": p.ID, "attempt": p.Attempts})
	// A background context: the lease must end even once ctx ended.
	end := context.WithoutCancel(ctx)
	c, err := r.candidate(ctx, p.Candidate)
	if err != nil {
		log.WithError(err).Error("push not graded: the roster could not be read; it goes back to the queue")
		if err := l.Release(end); err != nil {
			log.WithError(err).Warn("could not give the push back; its lease expires by itself")
		}
		return true
	}
	if p.Attempts > MaxPushAttempts {
		r.failPush(end, log, c, l, fmt.Errorf("given up after %d gradings that never ended", MaxPushAttempts))
		return false
	}
	r.waitQueued(ctx, p.ID)
	if r.Publisher != nil {
		r.publish(ctx, log, "started", func(ctx context.Context) error { return r.Publisher.Started(ctx, c.ID, c.Repo, p.Commit) })
	}
	log.Info("grading a push")
	gctx, stop := l.Keep(ctx)
	rep, err := r.grade(gctx, c, p.Commit, runner)
	stop()
	switch {
	case ctx.Err() != nil:
		if rerr := l.Release(end); rerr != nil {
			log.WithError(rerr).Warn("could not give the push back; its lease expires by itself")
		} else {
			log.Warn("grading stopped: the push is back in the queue")
		}
		return false
	case errors.Is(err, store.ErrLeaseLost) || errors.Is(context.Cause(gctx), store.ErrLeaseLost):
		log.WithError(context.Cause(gctx)).Warn("push lease lost: another process may grade it")
		return false
	case errors.Is(err, sandbox.ErrBackendDown):
		log.WithError(err).Error("the sandbox backend stopped answering")
		r.retryPush(end, log, c, l, err)
		return true
	case errors.Is(err, grader.ErrSubmission), errors.Is(err, errBadForm):
		// A retry would not change it.
		r.failPush(end, log, c, l, err)
		return false
	case err != nil:
		log.WithError(err).Warn("push not graded; it will be retried")
		r.retryPush(end, log, c, l, err)
		return false
	}
	raw, sig, err := report.Encode(rep, r.SignKey)
	if err == nil {
		err = r.Store.SavePushReport(end, l, rep, raw, sig)
	}
	switch {
	case errors.Is(err, store.ErrLeaseLost):
		log.WithError(err).Warn("push lease lost before its report was saved; another process grades it")
		return false
	case errors.Is(err, store.ErrInvalid):
		// The report does not fit the store: the freeze fixed another
		// commit for the candidate.
		r.failPush(end, log, c, l, fmt.Errorf("graded, its report not kept: %w", err))
		return false
	case err != nil:
		log.WithError(err).Error("push graded, its report not saved; it will be retried")
		r.retryPush(end, log, c, l, err)
		return true
	}
	log.WithFields(logrus.Fields{"verdict": rep.Verdict, "overall": rep.Overall}).Info("push graded")
	if r.Publisher != nil {
		r.publish(end, log, "completed", func(ctx context.Context) error { return r.Publisher.Completed(ctx, c.ID, c.Repo, p.Commit, rep) })
	}
	return false
}

// retryPush gives the push back to the queue, its attempt counted, or
// fails it after MaxPushAttempts; cause is why this attempt failed.
func (r *Runner) retryPush(ctx context.Context, log *logrus.Entry, c cohort.Candidate, l *store.PushLease, cause error) {
	if l.Push.Attempts >= MaxPushAttempts {
		r.failPush(ctx, log, c, l, fmt.Errorf("given up after %d attempts: %w", l.Push.Attempts, cause))
		return
	}
	if err := r.Store.MarkPush(ctx, l, store.PushQueued); err != nil {
		log.WithError(err).Warn("could not end the push's lease; it expires by itself")
	}
}

// failPush ends a push that can never be graded: failed in the store,
// its reason logged for proctors, and published as failed, which tells
// the candidate no more than that.
func (r *Runner) failPush(ctx context.Context, log *logrus.Entry, c cohort.Candidate, l *store.PushLease, reason error) {
	log.WithError(reason).Error("push failed: it cannot be graded")
	if err := r.Store.FailPush(ctx, l, reason.Error()); err != nil {
		log.WithError(err).Warn("could not mark the push failed; its lease expires by itself")
		return
	}
	if r.Publisher != nil {
		r.publish(ctx, log, "failed", func(ctx context.Context) error {
			return r.Publisher.Failed(ctx, c.ID, c.Repo, l.Push.Commit, reason)
		})
	}
}

// candidate returns the roster row of candidate id.
func (r *Runner) candidate(ctx context.Context, id string) (cohort.Candidate, error) {
	roster, err := r.Store.Roster(ctx)
	if err != nil {
		return cohort.Candidate{}, err
	}
	for _, c := range roster.Candidates {
		if c.ID == id {
			return c, nil
		}
	}
	return cohort.Candidate{}, fmt.Errorf("%w: candidate %s is not in the roster", store.ErrNotFound, id)
}

// waitQueued waits until the push's Queued publication, if one is under
// way, ended.
func (r *Runner) waitQueued(ctx context.Context, id int64) {
	ps := r.pushes()
	ps.mu.Lock()
	done := ps.publishing[id]
	ps.mu.Unlock()
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// publish calls one method of the Publisher, bounded in time, and logs
// its error.
func (r *Runner) publish(ctx context.Context, log *logrus.Entry, what string, call func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := call(ctx); err != nil {
		log.WithError(err).Warnf("could not publish the push as %s; the grade is kept", what)
	}
}
