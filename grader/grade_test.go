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

// Two tasks in two packages run in one go test invocation, and each task
// keeps only what its own package's test binary reported.
func TestGradeCombinedPackages(t *testing.T) {
	repo := gittest.NewForkRepo(t)
	bank := gradertest.Bank()
	bank.Tasks[0].Hidden[0].Data = []byte("package handlers\n\nfunc TestH(t *testing.T) {}\n")
	second := *bank.Tasks[0]
	second.ID, second.Tests, second.Packages = "server-k", []string{"TestK"}, []string{"./server/helpers"}
	second.Hidden = []tasks.HiddenFile{{Path: "server/helpers/k_test.go", Data: []byte("package helpers\n\nfunc TestK(t *testing.T) {}\n")}}
	bank.Tasks = append(bank.Tasks, &second)
	for _, tc := range []struct {
		name     string
		outcomes []string
		apart    bool
		want     map[string]string // task -> status via path
		runs     int
	}{
		{"apart: a sandbox each", []string{"pass", "pass"}, true, map[string]string{"server-h": "passed via alone", "server-k": "passed via alone"}, 2},
		{"one go test over both packages", []string{"pass"}, false, map[string]string{"server-h": "passed via combined", "server-k": "passed via combined"}, 1},
		{"a binary's claims about another package's tests do not count", []string{"sibling-claims", "fail"}, false,
			map[string]string{"server-h": "passed via combined", "server-k": "failed via combined"}, 2},
		{"no build: each alone", []string{"buildfail", "pass", "pass"}, false, map[string]string{"server-h": "passed via alone", "server-k": "passed via alone"}, 3},
		{"not attested: each alone", []string{"forge", "pass", "fail", "fail"}, false, map[string]string{"server-h": "passed via alone", "server-k": "failed via alone"}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := &gradertest.ScriptedRunner{Outcomes: tc.outcomes}
			g := &Grader{Runner: run, Images: gradertest.FixedImages{}, Log: gittest.Log(t), Recheck: true, Apart: tc.apart}
			rep, err := g.Grade(context.Background(), bank, Submission{Repo: repo.Bare, Branch: "cmc", BaseRef: "main"})
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range rep.Tasks {
				if got := fmt.Sprintf("%s via %s", tr.Status, tr.Path); got != tc.want[tr.ID] {
					t.Errorf("%s: %s (%s), want %s", tr.ID, got, tr.Reason, tc.want[tr.ID])
				}
			}
			if run.Runs != tc.runs {
				t.Errorf("%d sandbox runs, want %d: %q", run.Runs, tc.runs, run.Cmds)
			}
			if c := run.Cmds[0]; !tc.apart && (!strings.Contains(c, "TestH|TestK") || !strings.HasSuffix(c, "./server/handlers ./server/helpers")) {
				t.Errorf("first run %q does not run both tasks' tests over both packages", c)
			}
		})
	}
}
