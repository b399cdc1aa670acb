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
	"path"
	"regexp"
	"sort"
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
	// but the test binary exited 1: output rewritten in-process);
	// "sibling-claims" (the first folder's test binary reports every test
	// of the run passed, the others report only their canary); "down"
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
	declared, err := declaredTests(spec.Workspace)
	if err != nil {
		return sandbox.Result{}, err
	}
	canaries := canariesOf(spec.Private)
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
	isCanary := map[string]bool{}
	for _, c := range canaries {
		isCanary[c.name] = true
	}
	var names []string
	for i, a := range spec.Cmd {
		if a == "-run" {
			p := strings.TrimSuffix(strings.TrimPrefix(spec.Cmd[i+1], "^("), ")$")
			for _, n := range strings.Split(p, "|") {
				if !isCanary[n] {
					names = append(names, n)
				}
			}
		}
	}
	// Each test runs in the folder whose hidden file declares it, else in
	// the first canary's.
	dirs := []string{"server/handlers"}
	if len(canaries) > 0 {
		dirs = dirs[:0]
		for _, c := range canaries {
			dirs = append(dirs, c.dir)
		}
	}
	var out strings.Builder
	event := func(dir, action, test string) {
		b, _ := json.Marshal(map[string]any{"Action": action, "Package": "example.com/meshery/" + dir, "Test": test, "Output": ""})
		out.Write(append(b, '\n'))
	}
	status := map[string]string{"pass": "pass", "fail": "fail", "forge": "pass", "forge-exit": "pass", "sibling-claims": "pass"}[what]
	exit := 0
	if what == "fail" || what == "forge-exit" {
		exit = 1
	}
	var exits []sandbox.Exit
	for k, dir := range dirs {
		for _, n := range names {
			d, ok := declared[n]
			own := (ok && d == dir) || (!ok && k == 0)
			if what == "sibling-claims" {
				own = k == 0
			}
			if own {
				event(dir, "run", n)
				event(dir, status, n)
			}
		}
		if what != "forge" && k < len(canaries) {
			c := canaries[k]
			event(dir, "run", c.name)
			event(dir, "run", c.name+"/"+c.token)
			event(dir, "pass", c.name+"/"+c.token)
			event(dir, "pass", c.name)
		}
		exits = append(exits, sandbox.Exit{Dir: dir, Code: exit})
	}
	return sandbox.Result{Stdout: []byte(out.String()), ExitCode: exit, Duration: time.Second, Exits: exits}, nil
}

// canary is one Go canary of a run, as the grader's private files give it.
type canary struct{ name, token, dir string }

// canariesOf reads the canaries and their folders from a run's private
// files (the canary sources and the go -overlay file), sorted by folder.
func canariesOf(private map[string][]byte) []canary {
	var ov struct{ Replace map[string]string }
	if json.Unmarshal(private["overlay.json"], &ov) != nil {
		return nil
	}
	var cs []canary
	for dst, src := range ov.Replace {
		name := strings.TrimPrefix(src, sandbox.PrivateDir+"/")
		code := string(private[name])
		f, tok := canaryFunc.FindStringSubmatch(code), canaryToken.FindStringSubmatch(code)
		if f == nil || tok == nil {
			continue
		}
		dir, _ := strings.CutPrefix(path.Dir(dst), sandbox.Workdir+"/")
		cs = append(cs, canary{name: f[1], token: tok[1], dir: dir})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].dir < cs[j].dir })
	return cs
}

var testFunc = regexp.MustCompile(`(?m)^func (Test\w+)\(`)

// declaredTests reads the workspace tar and returns the folder of every
// test a _test.go file in it declares.
func declaredTests(ws io.Reader) (map[string]string, error) {
	declared := map[string]string{}
	tr := tar.NewReader(ws)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return declared, nil
		}
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(h.Name, "_test.go") {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return nil, err
		}
		for _, m := range testFunc.FindAllStringSubmatch(string(data), -1) {
			declared[m[1]] = path.Dir(path.Clean(h.Name))
		}
	}
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
