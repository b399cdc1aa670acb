// Package gradertest holds what tests of grading need without a sandbox
// backend: a scripted sandbox.Runner that plays a test run (canary
// included) as the sandbox would, a fixed image, and a small bank that
// fits gittest's fork repository.
package gradertest

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
	"time"

	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// ScriptedRunner is a sandbox.Runner that answers each run with the next
// of its Outcomes, then with Default. It reads
// the run's workspace like the sandbox would, plays the canary the grader
// put among the private files as go test would, unless the outcome forges,
// and reports how the test binary ended as the supervisor would.
type ScriptedRunner struct {
	mu sync.Mutex
	// Outcomes: "pass", "fail", "error", "buildfail"; "forge" (passes
	// without the canary, exit 0); "forge-exit" (passes and the canary,
	// but the test binary exited 1: output rewritten in-process); "down"
	// (the backend stopped answering, for this run and every later one);
	// "interrupt" (calls Interrupt, then runs until ctx is done).
	Outcomes []string
	// Default answers the runs after Outcomes; empty fails them.
	Default string
	// Runs counts the runs asked for; Cmds are the commands of those
	// that reached the tests.
	Runs      int
	Cmds      []string
	Interrupt func()
	down      bool
}

var (
	canaryFunc  = regexp.MustCompile(`func (TestZz\w+)\(t \*cmcgradertesting.T\)`)
	canaryToken = regexp.MustCompile(`t\.Run\("([0-9a-f]{32})"`)
)

// Run implements sandbox.Runner.
func (r *ScriptedRunner) Run(ctx context.Context, spec sandbox.Spec) (sandbox.Result, error) {
	r.mu.Lock()
	what := "none left"
	switch {
	case r.down:
		what = "down"
	case r.Runs < len(r.Outcomes):
		what = r.Outcomes[r.Runs]
	case r.Default != "":
		what = r.Default
	}
	r.down = what == "down"
	r.Runs++
	r.mu.Unlock()
	switch what {
	case "none left":
		return sandbox.Result{}, fmt.Errorf("run %d: no outcome left", r.Runs)
	case "down":
		return sandbox.Result{}, fmt.Errorf("create container: %w", sandbox.ErrBackendDown)
	case "interrupt":
		r.Interrupt()
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
	r.Cmds = append(r.Cmds, strings.Join(spec.Cmd, " "))
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

// FixedImages is a sandbox.Images that always gives the same image.
type FixedImages struct{}

// Prepare implements sandbox.Images.
func (FixedImages) Prepare(context.Context, sandbox.ImageRequest) (sandbox.Image, error) {
	return sandbox.Image{Ref: "img", ID: "sha256:img"}, nil
}

// Bank is a one-task bank: server-h, 2 points, test TestH of
// ./server/handlers, whose hidden file is server/handlers/h_test.go, as
// gittest.NewForkRepo's tree has it.
func Bank() *tasks.Bank {
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
