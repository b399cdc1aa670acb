package grader

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/cmcgrader/cmcgrader/grader/gradertest"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// threeTaskBank is the test bank with three tasks in packages of their
// own, each restoring another file from the base so that none can share
// a run (plan.Compatible): each runs alone, in bank order with one job.
func threeTaskBank() *tasks.Bank {
	b := gradertest.Bank()
	for _, id := range []string{"server-i", "server-j"} {
		t := *b.Tasks[0]
		t.ID, t.Packages = id, []string{"./server/" + id}
		t.Hidden = []tasks.HiddenFile{{Path: "server/" + id + "/x_test.go", Data: []byte("package x\n")}}
		t.Restore = []string{id + ".txt"}
		b.Tasks = append(b.Tasks, &t)
	}
	return b
}

func TestGradeStopsWhenBackendDown(t *testing.T) {
	repo := gittest.NewForkRepo(t)
	for _, tc := range []struct {
		name     string
		outcomes []string
		runs     int
	}{
		{"at the first run", []string{"down"}, 1},
		{"after a task was graded", []string{"pass", "down"}, 2},
		{"at a recheck", []string{"fail", "down"}, 2},
		{"after a grader error, instead of the retry", []string{"error", "down"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := &gradertest.ScriptedRunner{Outcomes: tc.outcomes}
			g := &Grader{Runner: run, Images: gradertest.FixedImages{}, Log: gittest.Log(t), Recheck: true, Jobs: 1}
			rep, err := g.Grade(context.Background(), threeTaskBank(), Submission{Repo: repo.Bare, Branch: "cmc", BaseRef: "main"})
			if !errors.Is(err, sandbox.ErrBackendDown) || !strings.Contains(err.Error(), "the sandbox engine stopped answering") {
				t.Errorf("Grade error = %v, want the engine stopped answering, wrapping sandbox.ErrBackendDown", err)
			}
			if rep != nil {
				t.Errorf("Grade returned a report beside the error: %+v", rep.Summary)
			}
			if run.Runs != tc.runs {
				t.Errorf("runner called %d times, want %d: no run after the backend went down", run.Runs, tc.runs)
			}
		})
	}
}

func TestVerifyStopsWhenBackendDown(t *testing.T) {
	repo := gittest.NewForkRepo(t)
	run := &gradertest.ScriptedRunner{Outcomes: []string{"fail", "down"}}
	g := &Grader{Runner: run, Images: gradertest.FixedImages{}, Log: gittest.Log(t), Jobs: 1}
	v, err := g.Verify(context.Background(), threeTaskBank(), Submission{BaseRepo: repo.Bare, BaseRef: "main"}, 2)
	if !errors.Is(err, sandbox.ErrBackendDown) || v != nil {
		t.Errorf("Verify = %v, %v; want no verification and an error wrapping sandbox.ErrBackendDown", v, err)
	}
	if run.Runs != 2 {
		t.Errorf("runner called %d times, want 2: no run after the backend went down", run.Runs)
	}
}

func TestGradeInterrupted(t *testing.T) {
	repo := gittest.NewForkRepo(t)
	type want struct {
		status report.Status
		points float64
		reason string
	}
	for _, tc := range []struct {
		name     string
		outcomes []string
		tasks    []want
	}{
		{
			name:     "while the second task runs",
			outcomes: []string{"pass", "interrupt"},
			tasks: []want{
				{report.Passed, 2, "1 of 1 tests passed"},
				{report.NotGraded, 0, "grading was interrupted while the task ran"},
				{report.NotGraded, 0, "grading was interrupted before the task ran"},
			},
		},
		{
			name:     "during a recheck: the first result stays",
			outcomes: []string{"fail", "interrupt"},
			tasks: []want{
				{report.Failed, 0, "1 of 1 tests failed"},
				{report.NotGraded, 0, "grading was interrupted before the task ran"},
				{report.NotGraded, 0, "grading was interrupted before the task ran"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			run := &gradertest.ScriptedRunner{Outcomes: tc.outcomes, Interrupt: cancel}
			g := &Grader{Runner: run, Images: gradertest.FixedImages{}, Log: gittest.Log(t), Recheck: true, Jobs: 1, Version: "v-test"}
			rep, err := g.Grade(ctx, threeTaskBank(), Submission{Repo: repo.Bare, Branch: "cmc", BaseRef: "main"})
			if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
				t.Errorf("Grade error = %v, want ErrInterrupted wrapping context.Canceled", err)
			}
			if rep == nil {
				t.Fatal("no partial report")
			}
			if !rep.Interrupted || rep.Verdict != report.Incomplete {
				t.Errorf("report interrupted=%v verdict %s, want interrupted and INCOMPLETE", rep.Interrupted, rep.Verdict)
			}
			for i, w := range tc.tasks {
				tr := rep.Tasks[i]
				if tr.Status != w.status || tr.Points != w.points || tr.Reason != w.reason {
					t.Errorf("%s: %s %g (%s), want %s %g (%s)", tr.ID, tr.Status, tr.Points, tr.Reason, w.status, w.points, w.reason)
				}
			}
			if run.Runs != 2 {
				t.Errorf("runner called %d times, want 2: no run after the interrupt", run.Runs)
			}
			if rep.Receipt == nil || rep.Receipt.Commit != repo.C3 || len(rep.Receipt.Bank.Tasks) != 3 || rep.Receipt.GraderVersion != "v-test" {
				t.Errorf("receipt = %+v, want the graded commit, the three tasks and the grader version", rep.Receipt)
			}
			if rep.FinishedAt.IsZero() || rep.FinishedAt.Before(rep.StartedAt) || time.Since(rep.FinishedAt) > time.Minute {
				t.Errorf("finished at %v, started at %v", rep.FinishedAt, rep.StartedAt)
			}
			var b strings.Builder
			if err := rep.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "Interrupted: grading stopped with 2 of 3 tasks not graded") {
				t.Errorf("text report does not say it was interrupted:\n%s", b.String())
			}
		})
	}
}
