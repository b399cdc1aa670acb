package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/grader"
	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/sandbox/docker"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// Input is one thing to measure: a bank, and two bare repositories in the
// same folder, the upstream (base) and the fork to grade.
type Input struct {
	// Name names the input in the table.
	Name string
	// Bank is the bank folder.
	Bank string
	// Upstream and Fork are bare repositories in one folder.
	Upstream, Fork string
	// BaseRef is the upstream branch; Branch the fork's branch to grade.
	BaseRef, Branch string
	// Tasks are the task IDs graded; empty means the bank's Go tasks
	// (the host limit runs Go tests only).
	Tasks []string
	// Throughput also grades every task of the bank, warm, with the
	// default --jobs (Figures.FullWarm).
	Throughput bool
}

// Config configures Run.
type Config struct {
	// Binary is the cmcgrader binary. Required.
	Binary string
	// Work is a scratch folder. Required.
	Work string
	// GoCommand is the host go command. Default "go".
	GoCommand string
	// OverheadRuns is how many no-op sandboxes are timed. Default 10.
	OverheadRuns int
	// FetchRuns is how many times each fetch is timed. Default 3.
	FetchRuns int
	// Log receives progress. Required.
	Log *logrus.Entry
}

// Run measures every input, then the sandbox overhead, in one run.
func Run(ctx context.Context, cfg Config, inputs []Input) (*Results, error) {
	if cfg.GoCommand == "" {
		cfg.GoCommand = "go"
	}
	if cfg.OverheadRuns <= 0 {
		cfg.OverheadRuns = 10
	}
	if cfg.FetchRuns <= 0 {
		cfg.FetchRuns = 3
	}
	res := &Results{OverheadRuns: cfg.OverheadRuns}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			res.Load = strings.Join(f[:3], " ")
		}
	}
	for _, in := range inputs {
		f, err := measureInput(ctx, cfg, in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Name, err)
		}
		res.Inputs = append(res.Inputs, *f)
	}
	d, err := docker.New(ctx, cfg.Log)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	goVersion := ""
	if len(inputs) > 0 {
		b, err := tasks.Load(inputs[0].Bank)
		if err != nil {
			return nil, err
		}
		goVersion = b.Go
	}
	var runs []time.Duration
	for range cfg.OverheadRuns {
		start := time.Now()
		r, err := d.Run(ctx, sandbox.Spec{Image: docker.BaseTag(goVersion), Cmd: []string{"true"}})
		if err != nil {
			return nil, fmt.Errorf("sandbox overhead: %w", err)
		}
		if r.ExitCode != 0 {
			return nil, fmt.Errorf("sandbox overhead: true exited %d", r.ExitCode)
		}
		runs = append(runs, time.Since(start))
	}
	res.Overhead = Median(runs)
	return res, nil
}

func measureInput(ctx context.Context, cfg Config, in Input) (*Figures, error) {
	log := cfg.Log.WithField("input", in.Name)
	bank, err := tasks.Load(in.Bank)
	if err != nil {
		return nil, err
	}
	ids := in.Tasks
	if len(ids) == 0 {
		for _, t := range bank.Tasks {
			if t.Runner == tasks.RunnerGo {
				ids = append(ids, t.ID)
			}
		}
	}
	if bank, err = bank.Subset(ids); err != nil {
		return nil, err
	}
	root := filepath.Dir(in.Upstream)
	if filepath.Dir(in.Fork) != root {
		return nil, errors.New("the upstream and the fork must be in the same folder")
	}
	srv, err := gittest.NewServer(root)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	upURL := srv.URL() + "/" + filepath.Base(in.Upstream)
	forkURL := srv.URL() + "/" + filepath.Base(in.Fork)
	work := filepath.Join(cfg.Work, in.Name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	f := &Figures{Input: in.Name, Tasks: len(bank.Tasks)}

	// The warm image.
	log.Info("prepare: building the warm image")
	start := time.Now()
	cacheDir := filepath.Join(work, "cache")
	out, _, err := runGrader(ctx, cfg, "prepare", "--bank", in.Bank, "--repo", upURL, "--base-ref", in.BaseRef, "--cache", cacheDir)
	if err != nil {
		return nil, err
	}
	f.Prepare = time.Since(start)
	warmTag, _, _ := strings.Cut(strings.TrimSpace(out), " ")

	// The cold image: the modules image of the base, without a warm
	// build cache.
	gomod, err := gitShow(ctx, in.Upstream, in.BaseRef+":go.mod")
	if err != nil {
		return nil, err
	}
	gosum, _ := gitShow(ctx, in.Upstream, in.BaseRef+":go.sum")
	coldTag := docker.ModulesTag(bank.Go, gomod, gosum, nil)

	grade := func(name string, extra ...string) (time.Duration, int64, error) {
		report := filepath.Join(work, name+".json")
		args := []string{"grade", "--bank", in.Bank, "--repo", forkURL, "--branch", in.Branch,
			"--base-repo", upURL, "--base-ref", in.BaseRef, "--jobs", "1", "--out", report,
			// A cold build of client-go's fake clientset writes about
			// 1.5 GiB to the build cache in /tmp, which tmpfs charges to
			// the sandbox's memory: both runs get room for it.
			"--memory", "6GiB", "--tmp-size", "4GiB"}
		for _, id := range ids {
			args = append(args, "--task", id)
		}
		start := time.Now()
		_, rss, err := runGrader(ctx, cfg, append(args, extra...)...)
		took := time.Since(start)
		if err != nil {
			return 0, 0, err
		}
		if err := checkReport(report, len(ids)); err != nil {
			return 0, 0, fmt.Errorf("%s grade: %w", name, err)
		}
		log.WithFields(logrus.Fields{"run": name, "took": took.Round(time.Millisecond)}).Info("graded")
		return took, rss, nil
	}
	var rss int64
	if f.Cold, rss, err = grade("cold", "--image", coldTag); err != nil {
		return nil, err
	}
	f.PeakRSS = max(f.PeakRSS, rss)
	if f.Warm, rss, err = grade("warm", "--cache", cacheDir); err != nil {
		return nil, err
	}
	f.PeakRSS = max(f.PeakRSS, rss)
	if err := checkWarm(filepath.Join(work, "warm.json"), warmTag); err != nil {
		return nil, err
	}
	if f.WarmApart, _, err = grade("warm-apart", "--cache", cacheDir, "--apart"); err != nil {
		return nil, err
	}
	if in.Throughput {
		full, err := tasks.Load(in.Bank)
		if err != nil {
			return nil, err
		}
		rep := filepath.Join(work, "full.json")
		start := time.Now()
		if _, _, err := runGrader(ctx, cfg, "grade", "--bank", in.Bank, "--repo", forkURL, "--branch", in.Branch,
			"--base-repo", upURL, "--base-ref", in.BaseRef, "--cache", cacheDir, "--out", rep); err != nil {
			return nil, err
		}
		f.FullWarm, f.FullTasks = time.Since(start), len(full.Tasks)
		log.WithFields(logrus.Fields{"run": "warm, every task", "took": f.FullWarm.Round(time.Millisecond)}).Info("graded")
		if err := checkReport(rep, len(full.Tasks)); err != nil {
			return nil, fmt.Errorf("full grade: %w", err)
		}
	}
	if f.Host, err = hostLimit(ctx, cfg, in, bank, work); err != nil {
		return nil, err
	}
	if f.HostCompile, err = hostCompile(ctx, cfg, in, bank, work); err != nil {
		return nil, err
	}
	if err := measureModules(ctx, cfg, f, in, bank, work); err != nil {
		return nil, err
	}
	// Each figure as soon as it is known, for a run cut short.
	log.WithFields(logrus.Fields{"prepare": f.Prepare.Round(time.Millisecond), "host": f.Host.Round(time.Millisecond),
		"host-compile": f.HostCompile.Round(time.Millisecond), "modules-image": f.ModulesImage.Round(time.Millisecond),
		"mod-download": f.ModDownload.Round(time.Millisecond)}).Info("measured")
	if err := measureFetch(ctx, cfg, f, in, upURL, forkURL, work); err != nil {
		return nil, err
	}
	return f, nil
}

// runGrader runs the cmcgrader binary and returns its stdout and peak RSS.
func runGrader(ctx context.Context, cfg Config, args ...string) (string, int64, error) {
	cmd := exec.CommandContext(ctx, cfg.Binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return "", 0, fmt.Errorf("cmcgrader %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.String(), 4000))
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss << 10 // KiB on Linux
	}
	return stdout.String(), rss, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// readReport reads a JSON report.
func readReport(path string) (*report.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &rep, nil
}

// checkReport checks that every task of a report passed and none is held
// for review: the bench measures an honest, solving candidate, so a hold
// would be a false one.
func checkReport(path string, n int) error {
	rep, err := readReport(path)
	if err != nil {
		return err
	}
	if len(rep.Tasks) != n {
		return fmt.Errorf("%s: %d tasks, want %d", path, len(rep.Tasks), n)
	}
	for _, t := range rep.Tasks {
		if t.Status != report.Passed {
			return fmt.Errorf("%s: task %s %s: %s", path, t.ID, t.Status, t.Reason)
		}
		if t.Hold != nil {
			return fmt.Errorf("%s: task %s held for review, falsely: %s", path, t.ID, strings.Join(t.Hold.Flags, "; "))
		}
	}
	return nil
}

// checkWarm checks that the warm run used the warm image by itself.
func checkWarm(path, tag string) error {
	rep, err := readReport(path)
	if err != nil {
		return err
	}
	if !rep.Image.Warm || rep.Image.Ref != tag {
		return fmt.Errorf("warm grade ran in %s (warm %v), want the warm image %s", rep.Image.Ref, rep.Image.Warm, tag)
	}
	return nil
}

func gitShow(ctx context.Context, repo, spec string) ([]byte, error) {
	out, err := gitOutput(ctx, repo, "show", spec)
	return []byte(out), err
}

// hostLimit runs the tasks' hidden tests on the host, in a checkout of
// the fork's branch with the hidden files added, with a build cache
// warmed by a first run: the time of the second run is the limit no
// sandboxed grading can beat.
func hostLimit(ctx context.Context, cfg Config, in Input, bank *tasks.Bank, work string) (time.Duration, error) {
	var total time.Duration
	for _, t := range bank.Tasks {
		dir := filepath.Join(work, "host", t.ID)
		if err := os.RemoveAll(dir); err != nil {
			return 0, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, err
		}
		archive := exec.CommandContext(ctx, "sh", "-c", `git --git-dir="$1" archive "$2" | tar -x -C "$3"`, "sh", in.Fork, in.Branch, dir)
		archive.Env = gitEnv()
		if out, err := archive.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("host checkout: %w\n%s", err, out)
		}
		for _, h := range t.Hidden {
			p := filepath.Join(dir, filepath.FromSlash(h.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return 0, err
			}
			if err := os.WriteFile(p, h.Data, 0o644); err != nil {
				return 0, err
			}
		}
		args := append([]string{"test", "-json", "-count=1", "-shuffle=off", "-vet=off", "-run", grader.RunPattern(t.Tests)}, t.Packages...)
		var took time.Duration
		for i := range 2 { // the first run warms the cache
			cmd := exec.CommandContext(ctx, cfg.GoCommand, args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOCACHE="+filepath.Join(cfg.Work, "host-gocache"), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err != nil {
				return 0, fmt.Errorf("host go test for %s: %w\n%s", t.ID, err, tail(string(out), 4000))
			}
			if i == 1 {
				took = time.Since(start)
			}
		}
		total += took
	}
	return total, nil
}

// measureFetch times the fetch of the fork's branch with an up-to-date
// upstream mirror, against git clone --depth 1 --single-branch.
func measureFetch(ctx context.Context, cfg Config, f *Figures, in Input, upURL, forkURL, work string) error {
	cache, err := repo.OpenFetchCache(filepath.Join(work, "fetchcache"))
	if err != nil {
		return err
	}
	mirror, err := cache.Update(ctx, cfg.Log, repo.FetchOptions{URL: upURL})
	if err != nil {
		return err
	}
	defer mirror.Close()
	var cached, clone []time.Duration
	for i := range cfg.FetchRuns {
		start := time.Now()
		s, err := repo.Fetch(ctx, cfg.Log, repo.FetchOptions{URL: forkURL, Branch: in.Branch, Upstream: mirror})
		if err != nil {
			return err
		}
		cached = append(cached, time.Since(start))
		f.FetchBytes = s.PackBytes
		s.Close()

		dst := filepath.Join(work, fmt.Sprintf("clone-%d", i))
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
		start = time.Now()
		if err := gitRun(ctx, "", nil, "clone", "-q", "--depth", "1", "--single-branch", "--branch", in.Branch, forkURL, dst); err != nil {
			return err
		}
		clone = append(clone, time.Since(start))
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
	}
	f.FetchCached, f.Clone = Median(cached), Median(clone)
	return nil
}
