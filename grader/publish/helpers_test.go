package publish

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/grader/gradertest"
	"github.com/cmcgrader/cmcgrader/grader/publish/githubtest"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/testout"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

const (
	testSHA  = "0b3d80fe0b3d80fe0b3d80fe0b3d80fe0b3d80fe"
	testCand = "cmc-0042"
)

// hidden lists what a candidate must never see: hidden test names, paths,
// sources and outputs of the test bank, and the grader's failure reasons
// and tampering findings (they quote them).
var hidden = []string{
	"TestH", "server/handlers/h_test.go", "package handlers",
	"TestZzHiddenVersion", "cli/version/zz_hidden_test.go", "zz hidden source",
	"zz-hidden-output", "zz-hidden-reason", "zz-hidden-flag",
}

// testBank is gradertest's bank with a task in every exam; the cli task's
// hidden test has a distinctive name, path and source.
func testBank() *tasks.Bank {
	b := gradertest.Bank()
	for _, ex := range []string{"cli", "ui", "models", "extensibility"} {
		t := &tasks.Task{
			ID: ex + "-t", Exam: ex, Title: "Task of " + ex, Points: 3, Runner: tasks.RunnerGo,
			Packages: []string{"./" + ex}, Tests: []string{"Test" + ex}, Timeout: time.Minute,
			Hidden: []tasks.HiddenFile{{Path: ex + "/t_test.go", Data: []byte("package " + ex + "\n")}},
		}
		if ex == "cli" {
			t.Title = "Report the version"
			t.Tests = []string{"TestZzHiddenVersion"}
			t.Hidden = []tasks.HiddenFile{{Path: "cli/version/zz_hidden_test.go", Data: []byte("zz hidden source")}}
		}
		b.Tasks = append(b.Tasks, t)
	}
	return b
}

// testReport grades testBank: every task passes but those in fail (their
// tests fail with output quoting hidden names), and those in held, which
// are held for review.
func testReport(t *testing.T, repo string, fail, held []string) *report.Report {
	t.Helper()
	b := testBank()
	rep := &report.Report{
		Version: report.ReportVersion, Repository: repo, Branch: "cmc", Commit: testSHA,
		Bank: report.BankInfo{Name: b.Name, Digest: b.Digest},
	}
	for _, task := range b.Tasks {
		res := &testout.Results{}
		for _, name := range task.Tests {
			tr := testout.Test{Name: name, Status: testout.Pass, Elapsed: time.Millisecond}
			if contains(fail, task.ID) {
				tr.Status = testout.Fail
				tr.Output = fmt.Sprintf("--- FAIL: %s\n    %s:12: zz-hidden-output\n", name, task.Hidden[0].Path)
			}
			res.Tests = append(res.Tests, tr)
		}
		g := report.Score(task, report.Outcome{Run: sandbox.Result{Duration: time.Second}, Results: res})
		if contains(fail, task.ID) {
			g.Reason = "zz-hidden-reason in " + task.Hidden[0].Path + " " + string(task.Hidden[0].Data)
		}
		if contains(held, task.ID) {
			g.Hold = &report.Hold{Flags: []string{task.Hidden[0].Path + ":3 zz-hidden-flag"}}
		}
		rep.Tasks = append(rep.Tasks, g)
	}
	rep.Tampering = []report.TamperFlag{{Kind: report.TamperKind("test-changed"), Path: "cli/version/zz_hidden_test.go"}}
	rep.Summary = report.Summarize(b, rep.Tasks)
	return rep
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// clock is a settable clock; sleeps advance it and are recorded.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// env is a stand-in and a publisher to it.
type env struct {
	srv   *githubtest.Server
	gh    *GitHub
	clock *clock
	logs  *bytes.Buffer
	repo  string // a repository URL on the stand-in
}

type envOptions struct {
	token      bool // a plain token, not the App
	installAll bool
	pending    Pending
	attempts   int
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	c := newClock()
	srv, err := githubtest.Start(githubtest.Options{InstallAll: o.installAll, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e := &env{srv: srv, clock: c, logs: &bytes.Buffer{}, repo: srv.URL() + "/alice/meshery.git"}
	l := logrus.New()
	l.SetOutput(&lockedWriter{w: e.logs})
	l.SetLevel(logrus.DebugLevel)
	cfg := Config{
		BaseURL: srv.APIURL(), DashboardURL: "https://grading.example.org/cohort",
		Log: logrus.NewEntry(l), Now: e.clock.Now, Sleep: e.clock.Sleep, Pending: o.pending, Attempts: o.attempts,
	}
	if o.token {
		cfg.Token = srv.Token
	} else {
		cfg.AppID, cfg.AppKey = srv.AppID, srv.KeyPEM
	}
	if e.gh, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// calls lists the stand-in's calls as "METHOD PATH STATUS".
func (e *env) calls() string {
	var b strings.Builder
	for _, c := range e.srv.Calls() {
		fmt.Fprintf(&b, "%s %s %d\n", c.Method, c.Path, c.Status)
	}
	return b.String()
}
