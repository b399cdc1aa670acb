package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/cmcgrader/cmcgrader/grader"
	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/bytesize"
	"github.com/cmcgrader/cmcgrader/sandbox"
)

// runFlags are the flags of every command that runs tasks in sandboxes.
type runFlags struct {
	image, runtime string
	jobs           int
	maxRepo        bytesize.Flag
	fetchTimeout   time.Duration
	memory         bytesize.Flag
	tmpSize        bytesize.Flag
	cpus           float64
	progress       string
	cache          string
	apart          bool
	backendFlags
}

func (f *runFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.image, "image", "", "grading image to use as is (default: built from the bank's Go version and the base's modules)")
	fl.StringVar(&f.runtime, "runtime", "", "OCI runtime for sandboxes, e.g. runsc; with --backend kubernetes a RuntimeClass, e.g. gvisor (default: the engine's or the cluster's)")
	fl.IntVar(&f.jobs, "jobs", 0, "tasks run at once (default: one per two CPUs, no more than fit in the host's memory at --memory each)")
	f.maxRepo = bytesize.Flag(repo.DefaultFetchBytes)
	fl.Var(&f.maxRepo, "max-repo-size", "largest repository fetched (the pack sent), e.g. 512MiB")
	fl.DurationVar(&f.fetchTimeout, "fetch-timeout", 5*time.Minute, "time limit of each fetch")
	f.memory = bytesize.Flag(sandbox.DefaultLimits.Memory)
	fl.Var(&f.memory, "memory", "memory limit of each sandbox (swap included), e.g. 2GiB")
	f.tmpSize = bytesize.Flag(sandbox.DefaultLimits.TmpBytes)
	fl.Var(&f.tmpSize, "tmp-size", "size of each sandbox's /tmp, where Go builds (a cold build of a large tree needs more), e.g. 4GiB")
	fl.Float64Var(&f.cpus, "cpus", sandbox.DefaultLimits.CPUs, "CPU limit of each sandbox")
	fl.StringVar(&f.progress, "progress", "auto", "progress display: auto (on a terminal), always or never")
	fl.BoolVar(&f.apart, "apart", false, "run each task in a sandbox of its own, never a candidate's Go tasks in one go test (slower; to compare)")
	fl.StringVar(&f.cache, "cache", "", "folder for a mirror of the base repository, so a fork's fetch transfers only what it added")
	f.backendFlags.register(fl)
}

func (f *runFlags) check() error {
	switch {
	case f.fetchTimeout <= 0:
		return usageError{fmt.Errorf("--fetch-timeout must be positive, got %s", f.fetchTimeout)}
	case f.cpus <= 0:
		return usageError{fmt.Errorf("--cpus must be positive, got %g", f.cpus)}
	case f.jobs < 0:
		return usageError{fmt.Errorf("--jobs must be at least 1, got %d", f.jobs)}
	case f.jobs == 0:
		f.jobs = defaultJobs(int64(f.memory))
	}
	return f.backendFlags.check()
}

// newGrader opens the sandbox backend (openSandboxes), and returns a
// Grader for total tasks. The caller runs the returned cleanup when done.
func (a *app) newGrader(ctx context.Context, f *runFlags, total int) (*grader.Grader, func(), error) {
	sb, err := a.openSandboxes(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	// A second interrupt quits before the runs remove their sandboxes:
	// remove what is left on the way out.
	a.atQuit(func(ctx context.Context) {
		if n, err := sb.removeOwn(ctx); err != nil {
			a.log.WithError(err).Warn("could not remove every sandbox; the next run collects them")
		} else if n > 0 {
			a.log.WithField("removed", n).Info("removed the sandboxes still there")
		}
	})
	cleanup := func() { a.atQuit(nil); sb.close() }
	g := &grader.Grader{
		Runner:  sb.runner,
		Images:  sb.images,
		Log:     a.log,
		Limits:  sandbox.Limits{Memory: int64(f.memory), CPUs: f.cpus, TmpBytes: int64(f.tmpSize)},
		Runtime: f.runtime,
		Jobs:    f.jobs,
		Apart:   f.apart,
		Fetch:   repo.FetchOptions{MaxBytes: int64(f.maxRepo), Timeout: f.fetchTimeout},
		Version: graderVersion(),
		// The receipt names the image's Go and Node versions.
		Toolchain: grader.SandboxToolchain{Runner: sb.runner, Runtime: f.runtime},
	}
	if f.cache != "" {
		if g.Cache, err = repo.OpenFetchCache(f.cache); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	if showProgress(f.progress, a.stderr) {
		tp := report.NewTerminalProgress(a.stderr, total)
		g.Progress = tp
		cleanup = func() { tp.Close(); a.atQuit(nil); sb.close() }
	}
	return g, cleanup, nil
}
