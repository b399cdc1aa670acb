package main

import (
	"context"
	"fmt"

	"github.com/cmcgrader/cmcgrader/grader/publish"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/store"
)

// gradePublish publishes a proctor-triggered grading on GitHub; its zero
// value publishes nothing.
type gradePublish struct {
	gh *publish.GitHub
	st *store.Store
	a  *app
}

// gradePublisher opens the store and the publisher that grade --publish
// github uses, before grading: bad credentials fail at once.
func (a *app) gradePublisher(ctx context.Context, f gradeFlags) (*gradePublish, error) {
	if f.publish == "" {
		return &gradePublish{}, nil
	}
	st, err := store.Open(ctx, f.db)
	if err != nil {
		return nil, err
	}
	gh, err := a.publisher(f.github, st)
	if err == nil {
		if _, perr := publish.ParseRepo(f.repo, gh.WebHost()); perr != nil {
			err = usageError{fmt.Errorf("--publish github: --repo %w", perr)}
		}
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return &gradePublish{gh: gh, st: st, a: a}, nil
}

func (p *gradePublish) close() {
	if p.st != nil {
		p.st.Close()
	}
}

// started shows that the grading of a known commit runs. A failure only
// warns: the result, published at the end, is what counts.
func (p *gradePublish) started(ctx context.Context, candidate, repo, commit string) {
	if p.gh == nil {
		return
	}
	if err := p.gh.Started(ctx, candidate, repo, commit); err != nil {
		p.a.log.WithError(err).Warn("could not show the grading as started on GitHub")
	}
}

// completed publishes rep's candidate view on its commit; a result GitHub
// refuses is kept in the store, and the error says so.
func (p *gradePublish) completed(ctx context.Context, candidate string, rep *report.Report) error {
	if p.gh == nil {
		return nil
	}
	if err := p.gh.Completed(ctx, candidate, rep.Repository, rep.Commit, rep); err != nil {
		return err
	}
	what := "check run"
	if !p.gh.App() {
		what = "commit status"
	}
	p.a.log.WithField("commit", rep.Commit).Infof("published the result as a %s", what)
	return nil
}
