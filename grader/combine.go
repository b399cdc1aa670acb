package grader

import (
	"context"
	"path"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/grader/plan"
	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// How a task's result was obtained (TaskGrade.Path).
const (
	// PathAlone: the task's hidden tests ran in a sandbox of their own.
	PathAlone = "alone"
	// PathCombined: they ran in one go test invocation with the other
	// tasks of the same packages, compiled once.
	PathCombined = "combined"
)

// gradeUnit grades the tasks of one unit (see plan.Units). Several tasks
// run in one sandbox and one go test invocation over all their packages,
// compiled once, and each keeps the results of its own test binaries
// (plan.Split); when that run does not finish cleanly (it does not build,
// is killed, or is not attested), each task runs alone, so one task can
// never cost another its points. A non-nil error stops the grading (see
// halt); the results of the tasks that finished are returned beside it,
// the others have no status.
func (g *Grader) gradeUnit(ctx context.Context, ts []*tasks.Task, cand, base *repo.Snapshot, img sandbox.Image) ([]report.TaskGrade, error) {
	out := make([]report.TaskGrade, len(ts))
	alone := func(i int) error {
		tr, err := g.gradeTask(ctx, ts[i], cand, base, img)
		if tr.Status != "" {
			tr.Path = PathAlone
			out[i] = tr
		}
		return err
	}
	if len(ts) == 1 {
		return out, alone(0)
	}
	m := plan.Merge(ts)
	log := g.Log.WithField("tasks", m.ID)
	o, pkgs, err := g.runMerged(ctx, m, cand, base, img)
	if err := halt(ctx, err); err != nil {
		return out, err
	}
	if err != nil {
		log.WithError(err).Info("combined run not used; each task runs alone")
		for i := range ts {
			if err := alone(i); err != nil {
				return out, err
			}
		}
		return out, nil
	}
	shares := plan.Split(ts, o.Results, pkgs)
	for i, t := range ts {
		run := o.Run
		run.ExitCode = exitOf(plan.Dirs(t), o.Run.Exits)
		tr := report.Score(t, report.Outcome{Run: run, Results: shares[i]})
		tr.Attempts, tr.Path = 1, PathCombined
		log.WithFields(logrus.Fields{"task": t.ID, "status": tr.Status, "points": tr.Points, "duration": tr.Duration.Round(time.Millisecond)}).Info("task graded in a combined run")
		out[i] = tr
	}
	for i, t := range ts {
		if g.Recheck && out[i].Status == report.Failed && !out[i].Forged {
			// The confirming run is the task's own.
			tr, err := g.recheck(ctx, t, cand, base, img, out[i])
			out[i] = tr
			if err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// exitOf is the exit status of a task's share of a combined run: the
// first non-zero status of the test binaries of its folders, else 0.
func exitOf(dirs []string, exits []sandbox.Exit) int {
	for _, e := range exits {
		if e.Code != 0 && slices.Contains(dirs, path.Clean(e.Dir)) {
			return e.Code
		}
	}
	return 0
}

// errNotClean says why a combined run's outcome is not used.
type errNotClean string

func (e errNotClean) Error() string { return string(e) }

// runMerged runs the merged task m once and returns its outcome and the
// import path each hidden folder's test binary reported, when the run is
// clean: it built, was not killed and was attested (every test binary's
// canary passed once and agreed with how the supervisor saw it end).
func (g *Grader) runMerged(ctx context.Context, m *tasks.Task, cand, base *repo.Snapshot, img sandbox.Image) (report.Outcome, map[string]string, error) {
	ov, err := overlayFor(m, base)
	if err != nil {
		return report.Outcome{}, nil, err
	}
	o, pkgs, err := g.run(ctx, m, cand, ov, img)
	switch {
	case err != nil:
		return o, nil, err
	case o.Results.BuildFailed:
		return o, nil, errNotClean("the combined run did not build")
	case o.Run.TimedOut, o.Run.OOMKilled:
		return o, nil, errNotClean("the combined run was killed")
	case o.Unfinished:
		return o, nil, errNotClean("the combined run did not reach its end")
	}
	return o, pkgs, nil
}
