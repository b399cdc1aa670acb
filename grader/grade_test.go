package grader

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/cmcgrader/cmcgrader/grader/gradertest"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/tasks"
)

func TestGradeRunsAndRechecks(t *testing.T) {
	repo := gittest.NewForkRepo(t)
	for _, tc := range []struct {
		name     string
		outcomes []string
		recheck  bool
		status   report.Status
		points   float64
		runs     int
		flaky    bool
		forged   bool
		verdict  report.Verdict
	}{
		{"passed", []string{"pass"}, true, report.Passed, 2, 1, false, false, report.Pass},
		{"failed twice", []string{"fail", "fail"}, true, report.Failed, 0, 2, false, false, report.Fail},
		{"failed without recheck", []string{"fail"}, false, report.Failed, 0, 1, false, false, report.Fail},
		{"flaky", []string{"fail", "pass"}, true, report.Failed, 0, 2, true, false, report.Incomplete},
		{"grader error then pass", []string{"error", "pass"}, true, report.Passed, 2, 2, false, false, report.Pass},
		{"grader error twice", []string{"error", "error"}, true, report.NotGradable, 0, 2, false, false, report.Incomplete},
		{"forged", []string{"forge"}, true, report.Failed, 0, 1, false, true, report.Fail},
		{"forged with the canary, caught by the exit status", []string{"forge-exit"}, true, report.Failed, 0, 1, false, true, report.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := &gradertest.ScriptedRunner{Outcomes: tc.outcomes}
			g := &Grader{Runner: run, Images: gradertest.FixedImages{}, Log: gittest.Log(t), Recheck: tc.recheck}
			rep, err := g.Grade(context.Background(), gradertest.Bank(), Submission{Repo: repo.Bare, Branch: "cmc", BaseRef: "main"})
			if err != nil {
				t.Fatal(err)
			}
			tr := rep.Tasks[0]
			if tr.Status != tc.status || tr.Points != tc.points || tr.Attempts != tc.runs || tr.Flaky != tc.flaky || tr.Forged != tc.forged {
				t.Errorf("task = %s %g attempts=%d flaky=%v forged=%v (%s); want %s %g attempts=%d flaky=%v forged=%v",
					tr.Status, tr.Points, tr.Attempts, tr.Flaky, tr.Forged, tr.Reason, tc.status, tc.points, tc.runs, tc.flaky, tc.forged)
			}
			if run.Runs != len(tc.outcomes) {
				t.Errorf("runner called %d times, want %d", run.Runs, len(tc.outcomes))
			}
			if rep.Exams[0].Verdict != tc.verdict {
				t.Errorf("server exam verdict %s, want %s", rep.Exams[0].Verdict, tc.verdict)
			}
			if tc.flaky && (tr.Recheck == nil || tr.Recheck.Status != report.Passed || !strings.HasPrefix(tr.Reason, "FLAKY")) {
				t.Errorf("flaky task: recheck %+v, reason %q", tr.Recheck, tr.Reason)
			}
			forgedFlag := false
			for _, f := range rep.Tampering {
				forgedFlag = forgedFlag || (f.Kind == report.TamperForgedResults && f.Task == "server-h")
			}
			if forgedFlag != tc.forged {
				t.Errorf("tampering = %+v, want a forged-results flag: %v", rep.Tampering, tc.forged)
			}
			if rep.Commit != repo.C3 || rep.Base.Commit != repo.C2 {
				t.Errorf("report commit %s base %s, want %s and %s", rep.Commit, rep.Base.Commit, repo.C3, repo.C2)
			}
		})
	}
}

func TestGradeSubmissionErrors(t *testing.T) {
	repo := gittest.NewForkRepo(t)
	g := &Grader{Runner: &gradertest.ScriptedRunner{}, Images: gradertest.FixedImages{}, Log: gittest.Log(t)}
	for _, sub := range []Submission{
		{Repo: repo.Bare, Branch: "nope"},
		{Repo: repo.Bare, Commit: strings.Repeat("1", 40)},
		{Repo: "ftp://x/y", Branch: "main"},
		{Repo: repo.Bare},
	} {
		_, err := g.Grade(context.Background(), gradertest.Bank(), sub)
		if !errors.Is(err, ErrSubmission) {
			t.Errorf("Grade(%+v) = %v, want an ErrSubmission", sub, err)
		}
	}
}

func TestGradeCombined(t *testing.T) {
	repo := gittest.NewForkRepo(t)
	bank := gradertest.Bank()
	second := *bank.Tasks[0]
	second.ID, second.Tests = "server-i", []string{"TestI"}
	second.Hidden = []tasks.HiddenFile{{Path: "server/handlers/i_test.go", Data: []byte("package handlers\n")}}
	bank.Tasks = append(bank.Tasks, &second)
	for _, tc := range []struct {
		name     string
		outcomes []string
		path     string
		status   report.Status
		runs     int
	}{
		{"one compile", []string{"pass"}, PathCombined, report.Passed, 1},
		{"failures rechecked alone", []string{"fail", "fail", "fail"}, PathCombined, report.Failed, 3},
		{"no build: each alone", []string{"buildfail", "pass", "pass"}, PathAlone, report.Passed, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := &gradertest.ScriptedRunner{Outcomes: tc.outcomes}
			g := &Grader{Runner: run, Images: gradertest.FixedImages{}, Log: gittest.Log(t), Recheck: true}
			rep, err := g.Grade(context.Background(), bank, Submission{Repo: repo.Bare, Branch: "cmc", BaseRef: "main"})
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range rep.Tasks {
				if tr.Path != tc.path || tr.Status != tc.status {
					t.Errorf("%s: %s via %s (%s), want %s via %s", tr.ID, tr.Status, tr.Path, tr.Reason, tc.status, tc.path)
				}
			}
			if run.Runs != tc.runs {
				t.Errorf("%d sandbox runs, want %d: %q", run.Runs, tc.runs, run.Cmds)
			}
			if !strings.Contains(run.Cmds[0], "TestH|TestI") {
				t.Errorf("first run %q does not run both tasks' tests", run.Cmds[0])
			}
		})
	}
}

func TestGroupTasks(t *testing.T) {
	h := func(p, d string) []tasks.HiddenFile { return []tasks.HiddenFile{{Path: p, Data: []byte(d)}} }
	ts := []*tasks.Task{
		{ID: "a", Runner: tasks.RunnerGo, Packages: []string{"./x", "./y"}, Tests: []string{"TestA"}, Hidden: h("x/a_test.go", "a")},
		{ID: "b", Runner: tasks.RunnerGo, Packages: []string{"./y", "./x"}, Tests: []string{"TestB"}, Hidden: h("x/b_test.go", "b")},
		{ID: "c", Runner: tasks.RunnerGo, Packages: []string{"./x", "./y"}, Tests: []string{"TestC"}, Hidden: h("x/a_test.go", "other")},
		{ID: "d", Runner: tasks.RunnerJS, Packages: []string{"ui/d.test.mjs"}},
		{ID: "e", Runner: tasks.RunnerJS, Packages: []string{"ui/d.test.mjs"}},
		{ID: "f", Runner: tasks.RunnerGo, Packages: []string{"./x", "./y"}, Tests: []string{"TestA"}, Hidden: h("x/f_test.go", "f")},
		{ID: "g", Runner: tasks.RunnerGo, Packages: []string{"./z"}, Tests: []string{"TestG"}},
	}
	got := fmt.Sprint(groupTasks(ts))
	if want := "[[0 1] [2 5] [3] [4] [6]]"; got != want {
		t.Errorf("groupTasks = %s, want %s (c clashes with a on a hidden file, f with a on a test name, JS is never combined)", got, want)
	}
	m := mergeTasks([]*tasks.Task{ts[0], ts[1]})
	if m.ID != "a+b" || len(m.Tests) != 2 || len(m.Hidden) != 2 {
		t.Errorf("mergeTasks = %+v", m)
	}
}
