package grader

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// scriptedRunner answers each run with the next of its outcomes. It reads
// the run's workspace like the sandbox would, plays the canary the grader
// put among the private files as go test would, unless the outcome forges,
// and reports how the test binary ended as the supervisor would.
type scriptedRunner struct {
	mu sync.Mutex
	// outcomes: "pass", "fail", "error", "buildfail"; "forge" (passes
	// without the canary, exit 0); "forge-exit" (passes and the canary,
	// but the test binary exited 1: output rewritten in-process); "down"
	// (the backend stopped answering, for this run and every later one);
	// "interrupt" (calls interrupt, then runs until ctx is done).
	outcomes  []string
	runs      int
	cmds      []string
	interrupt func()
	down      bool
}

var (
	canaryFunc  = regexp.MustCompile(`func (TestZz\w+)\(t \*cmcgradertesting.T\)`)
	canaryToken = regexp.MustCompile(`t\.Run\("([0-9a-f]{32})"`)
)

func (r *scriptedRunner) Run(ctx context.Context, spec sandbox.Spec) (sandbox.Result, error) {
	r.mu.Lock()
	what := "none left"
	switch {
	case r.down:
		what = "down"
	case r.runs < len(r.outcomes):
		what = r.outcomes[r.runs]
	}
	r.down = what == "down"
	r.runs++
	r.mu.Unlock()
	switch what {
	case "none left":
		return sandbox.Result{}, fmt.Errorf("run %d: no outcome left", r.runs)
	case "down":
		return sandbox.Result{}, fmt.Errorf("create container: %w", sandbox.ErrBackendDown)
	case "interrupt":
		r.interrupt()
		<-ctx.Done()
		return sandbox.Result{}, fmt.Errorf("run: %w", ctx.Err())
	}
	if _, err := io.Copy(io.Discard, tar.NewReader(spec.Workspace)); err != nil {
		return sandbox.Result{}, err
	}
	var canaryName, token string
	for name, src := range spec.Private {
		if strings.HasPrefix(name, "canary") {
			canaryName = canaryFunc.FindStringSubmatch(string(src))[1]
			token = canaryToken.FindStringSubmatch(string(src))[1]
		}
	}
	if what == "error" {
		return sandbox.Result{}, errors.New("engine hiccup")
	}
	r.mu.Lock()
	r.cmds = append(r.cmds, strings.Join(spec.Cmd, " "))
	r.mu.Unlock()
	if what == "buildfail" {
		out := `{"Action":"build-output","ImportPath":"example.com/meshery/server/handlers [example.com/meshery/server/handlers.test]","Output":"server/handlers/h.go:3:1: syntax error\n"}` + "\n" +
			`{"Action":"build-fail","ImportPath":"example.com/meshery/server/handlers [example.com/meshery/server/handlers.test]"}` + "\n" +
			`{"Action":"fail","Package":"example.com/meshery/server/handlers","FailedBuild":"example.com/meshery/server/handlers [example.com/meshery/server/handlers.test]"}` + "\n"
		return sandbox.Result{Stdout: []byte(out), ExitCode: 1, Duration: time.Second, Exits: []sandbox.Exit{}}, nil
	}
	var names []string
	for i, a := range spec.Cmd {
		if a == "-run" {
			p := strings.TrimSuffix(strings.TrimPrefix(spec.Cmd[i+1], "^("), ")$")
			for _, n := range strings.Split(p, "|") {
				if n != canaryName {
					names = append(names, n)
				}
			}
		}
	}
	var out strings.Builder
	event := func(action, test, output string) {
		b, _ := json.Marshal(map[string]any{"Action": action, "Package": "example.com/meshery/server/handlers", "Test": test, "Output": output})
		out.Write(append(b, '\n'))
	}
	status := map[string]string{"pass": "pass", "fail": "fail", "forge": "pass", "forge-exit": "pass"}[what]
	for _, n := range names {
		event("run", n, "")
		event(status, n, "")
	}
	if what != "forge" {
		event("run", canaryName, "")
		event("run", canaryName+"/"+token, "")
		event("pass", canaryName+"/"+token, "")
		event("pass", canaryName, "")
	}
	exit := 0
	if what == "fail" || what == "forge-exit" {
		exit = 1
	}
	return sandbox.Result{Stdout: []byte(out.String()), ExitCode: exit, Duration: time.Second,
		Exits: []sandbox.Exit{{Dir: "server/handlers", Code: exit}}}, nil
}

type fixedImages struct{}

func (fixedImages) Prepare(context.Context, sandbox.ImageRequest) (sandbox.Image, error) {
	return sandbox.Image{Ref: "img", ID: "sha256:img"}, nil
}

func testGradeBank() *tasks.Bank {
	b := &tasks.Bank{Name: "b", Go: "1.26.8", Base: tasks.Base{Ref: "main"}, Digest: "d"}
	for _, e := range tasks.Exams {
		b.Exams = append(b.Exams, tasks.Exam{Name: e, Threshold: 70})
	}
	b.Tasks = []*tasks.Task{{
		ID: "server-h", Exam: "server", Title: "H", Points: 2, Runner: tasks.RunnerGo,
		Packages: []string{"./server/handlers"}, Tests: []string{"TestH"}, Timeout: time.Minute,
		Hidden: []tasks.HiddenFile{{Path: "server/handlers/h_test.go", Data: []byte("package handlers\n")}},
	}}
	return b
}

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
			run := &scriptedRunner{outcomes: tc.outcomes}
			g := &Grader{Runner: run, Images: fixedImages{}, Log: gittest.Log(t), Recheck: tc.recheck}
			rep, err := g.Grade(context.Background(), testGradeBank(), Submission{Repo: repo.Bare, Branch: "cmc", BaseRef: "main"})
			if err != nil {
				t.Fatal(err)
			}
			tr := rep.Tasks[0]
			if tr.Status != tc.status || tr.Points != tc.points || tr.Attempts != tc.runs || tr.Flaky != tc.flaky || tr.Forged != tc.forged {
				t.Errorf("task = %s %g attempts=%d flaky=%v forged=%v (%s); want %s %g attempts=%d flaky=%v forged=%v",
					tr.Status, tr.Points, tr.Attempts, tr.Flaky, tr.Forged, tr.Reason, tc.status, tc.points, tc.runs, tc.flaky, tc.forged)
			}
			if run.runs != len(tc.outcomes) {
				t.Errorf("runner called %d times, want %d", run.runs, len(tc.outcomes))
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
	g := &Grader{Runner: &scriptedRunner{}, Images: fixedImages{}, Log: gittest.Log(t)}
	for _, sub := range []Submission{
		{Repo: repo.Bare, Branch: "nope"},
		{Repo: repo.Bare, Commit: strings.Repeat("1", 40)},
		{Repo: "ftp://x/y", Branch: "main"},
		{Repo: repo.Bare},
	} {
		_, err := g.Grade(context.Background(), testGradeBank(), sub)
		if !errors.Is(err, ErrSubmission) {
			t.Errorf("Grade(%+v) = %v, want an ErrSubmission", sub, err)
		}
	}
}

func TestGradeCombined(t *testing.T) {
	repo := gittest.NewForkRepo(t)
	bank := testGradeBank()
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
			run := &scriptedRunner{outcomes: tc.outcomes}
			g := &Grader{Runner: run, Images: fixedImages{}, Log: gittest.Log(t), Recheck: true}
			rep, err := g.Grade(context.Background(), bank, Submission{Repo: repo.Bare, Branch: "cmc", BaseRef: "main"})
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range rep.Tasks {
				if tr.Path != tc.path || tr.Status != tc.status {
					t.Errorf("%s: %s via %s (%s), want %s via %s", tr.ID, tr.Status, tr.Path, tr.Reason, tc.status, tc.path)
				}
			}
			if run.runs != tc.runs {
				t.Errorf("%d sandbox runs, want %d: %q", run.runs, tc.runs, run.cmds)
			}
			if !strings.Contains(run.cmds[0], "TestH|TestI") {
				t.Errorf("first run %q does not run both tasks' tests", run.cmds[0])
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
