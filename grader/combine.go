package grader

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

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

// groupTasks splits the bank's tasks into units graded together: Go tasks
// with the same test packages whose hidden files agree form one unit;
// every other task is a unit of its own. Units hold indexes into ts, in
// bank order.
func groupTasks(ts []*tasks.Task) [][]int {
	var units [][]int
	byPkgs := map[string]int{} // package set -> unit
	for i, t := range ts {
		if t.Runner != tasks.RunnerGo {
			units = append(units, []int{i})
			continue
		}
		pkgs := slices.Clone(t.Packages)
		slices.Sort(pkgs)
		key := strings.Join(pkgs, "\x00")
		if u, ok := byPkgs[key]; ok && hiddenAgree(ts, units[u], t) {
			units[u] = append(units[u], i)
			continue
		}
		byPkgs[key] = len(units)
		units = append(units, []int{i})
	}
	return units
}

// hiddenAgree reports whether t's hidden files and tests clash with none
// of the unit's tasks: no path with other content, no shared test name.
func hiddenAgree(ts []*tasks.Task, unit []int, t *tasks.Task) bool {
	for _, j := range unit {
		o := ts[j]
		for _, h := range t.Hidden {
			for _, oh := range o.Hidden {
				if h.Path == oh.Path && !bytes.Equal(h.Data, oh.Data) {
					return false
				}
			}
		}
		for _, n := range t.Tests {
			if slices.Contains(o.Tests, n) {
				return false
			}
		}
	}
	return true
}

// mergeTasks makes one task that runs the hidden tests of all of ts: the
// union of their tests, hidden and restored files, with the sum of their
// timeouts.
func mergeTasks(ts []*tasks.Task) *tasks.Task {
	ids := make([]string, len(ts))
	m := &tasks.Task{Runner: tasks.RunnerGo, Packages: ts[0].Packages}
	seen := map[string]bool{}
	for i, t := range ts {
		ids[i] = t.ID
		m.Tests = append(m.Tests, t.Tests...)
		m.Timeout += t.Timeout
		for _, h := range t.Hidden {
			if !seen[h.Path] {
				seen[h.Path] = true
				m.Hidden = append(m.Hidden, h)
			}
		}
		for _, r := range t.Restore {
			if !slices.Contains(m.Restore, r) {
				m.Restore = append(m.Restore, r)
			}
		}
	}
	m.ID = strings.Join(ids, "+")
	return m
}

// gradeUnit grades the tasks of one unit. Several tasks run in one
// sandbox, compiled once; when that run does not finish cleanly (it does
// not build, is killed, or is not attested), each task runs alone, so one
// task can never cost another its points. A non-nil error stops the
// grading (see halt); the results of the tasks that finished are
// returned beside it, the others have no status.
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
	m := mergeTasks(ts)
	log := g.Log.WithField("tasks", m.ID)
	o, err := g.runMerged(ctx, m, cand, base, img)
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
	for i, t := range ts {
		tr := report.Score(t, o)
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

// errNotClean says why a combined run's outcome is not used.
type errNotClean string

func (e errNotClean) Error() string { return string(e) }

func (g *Grader) runMerged(ctx context.Context, m *tasks.Task, cand, base *repo.Snapshot, img sandbox.Image) (report.Outcome, error) {
	ov, err := overlayFor(m, base)
	if err != nil {
		return report.Outcome{}, err
	}
	o, err := g.runTask(ctx, m, cand, ov, img)
	switch {
	case err != nil:
		return o, err
	case o.Results.BuildFailed:
		return o, errNotClean("the combined run did not build")
	case o.Run.TimedOut, o.Run.OOMKilled:
		return o, errNotClean("the combined run was killed")
	case o.Unfinished:
		return o, errNotClean("the combined run did not reach its end")
	}
	return o, nil
}
