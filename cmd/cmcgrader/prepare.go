package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/internal/bytesize"
	"github.com/cmcgrader/cmcgrader/internal/gitref"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/sandbox/docker"
	"github.com/cmcgrader/cmcgrader/tasks"
)

type prepareFlags struct {
	bank, repo, baseRef, cache string
	force                      bool
	maxRepo                    bytesize.Flag
	fetchTimeout               time.Duration
}

func (a *app) prepareCmd() *cobra.Command {
	var f prepareFlags
	cmd := &cobra.Command{
		Use:   "prepare --bank DIR [--repo BASE] [--base-ref REF]",
		Short: "Build the warm grading image of a bank and a base commit",
		Long: `Prepare fetches the base commit of the bank and builds, once per (bank, base
commit), a grading image holding the Go modules the base needs and a build
cache warmed by compiling the tests of the packages the bank's Go tasks use.
Grading then uses that image by itself and compiles only what a candidate
changed. Each sandbox still starts from the image's clean state.

It prints the image tag and ID.`,
		Example: `  cmcgrader prepare --bank ./bank --repo https://github.com/meshery/meshery --base-ref master
  cmcgrader prepare --bank ./bank --repo ./meshery.git --cache ~/.cache/cmcgrader`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.prepare(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.bank, "bank", "", "task bank folder (required)")
	fl.StringVar(&f.repo, "repo", "", "git URL of the upstream repository (default: the bank's base repository)")
	fl.StringVar(&f.baseRef, "base-ref", "", "upstream branch or commit to prepare for (default: the bank's)")
	fl.StringVar(&f.cache, "cache", "", "folder of the upstream mirror cache (see grade --cache)")
	fl.BoolVar(&f.force, "force", false, "rebuild the warm image even if it exists")
	f.maxRepo = bytesize.Flag(repo.DefaultFetchBytes)
	fl.Var(&f.maxRepo, "max-repo-size", "largest repository fetched (the pack sent), e.g. 512MiB")
	fl.DurationVar(&f.fetchTimeout, "fetch-timeout", 5*time.Minute, "time limit of the fetch")
	return cmd
}

func (a *app) prepare(cmd *cobra.Command, f prepareFlags) error {
	switch {
	case f.bank == "":
		return usageError{errors.New("--bank is required: the task bank folder")}
	case f.fetchTimeout <= 0:
		return usageError{fmt.Errorf("--fetch-timeout must be positive, got %s", f.fetchTimeout)}
	}
	ctx := cmd.Context()
	bank, err := tasks.Load(f.bank)
	if err != nil {
		return fmt.Errorf("load bank: %w", err)
	}
	baseRepo, ref := bank.Base.Repo, bank.Base.Ref
	if f.repo != "" {
		baseRepo = f.repo
	}
	if f.baseRef != "" {
		ref = f.baseRef
	}
	if baseRepo == "" {
		return usageError{fmt.Errorf("bank %s names no base repository: give --repo, the upstream repository", bank.Name)}
	}
	opts := repo.FetchOptions{URL: baseRepo, MaxBytes: int64(f.maxRepo), Timeout: f.fetchTimeout}
	if gitref.IsCommit(ref) {
		opts.Commit = ref
	} else {
		opts.Branch = ref
	}
	eng, err := docker.New(ctx, a.log)
	if err != nil {
		return err
	}
	defer eng.Close()
	a.log.Logger.SetLevel(max(a.log.Logger.Level, logrus.InfoLevel))

	var base *repo.Snapshot
	if f.cache != "" {
		cache, err := repo.OpenFetchCache(f.cache)
		if err != nil {
			return err
		}
		mirror, err := cache.Update(ctx, a.log, opts)
		if err != nil {
			return fmt.Errorf("update the mirror of %s: %w", baseRepo, err)
		}
		defer mirror.Close()
		base, err = mirror.Snapshot(opts.Branch, opts.Commit)
		if err != nil {
			return fmt.Errorf("base %s: %w", ref, err)
		}
	} else if base, err = repo.Fetch(ctx, a.log, opts); err != nil {
		return fmt.Errorf("fetch base %s: %w", ref, err)
	}
	defer base.Close()
	gomod, err := base.ReadFile("go.mod")
	if err != nil {
		return fmt.Errorf("base %s of %s has no go.mod: nothing to warm; grade without prepare", base.Commit, baseRepo)
	}
	gosum, _ := base.ReadFile("go.sum")
	im := &docker.Images{Engine: eng, Log: a.log, GoProxy: os.Getenv("GOPROXY")}
	mod, err := im.Modules(ctx, sandbox.ImageRequest{GoVersion: bank.Go, GoMod: gomod, GoSum: gosum})
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := base.WriteTar(pw, repo.Overlay{}, repo.TarLimits{})
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	key := docker.WarmKey(bank.Digest, base.Commit, mod.ID)
	id, err := docker.BuildWarm(ctx, eng.Client(), a.log, docker.WarmOptions{
		ModulesImage: mod.ID,
		Key:          key,
		Workspace:    pr,
		Packages:     goPackages(bank),
		TestFiles:    goHiddenFiles(bank),
		Force:        f.force,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s %s\n", docker.WarmTag(key), id)
	return nil
}

// goPackages are the package patterns of the bank's Go tasks, sorted and
// without repeats.
func goPackages(bank *tasks.Bank) []string {
	var pkgs []string
	for _, t := range bank.Tasks {
		if t.Runner == tasks.RunnerGo {
			pkgs = append(pkgs, t.Packages...)
		}
	}
	slices.Sort(pkgs)
	return slices.Compact(pkgs)
}

// goHiddenFiles are the hidden files of the bank's Go tasks, by path; when
// two tasks hide a file at the same path, the first task's is kept (the
// files only tell the warm build what to compile).
func goHiddenFiles(bank *tasks.Bank) map[string][]byte {
	files := map[string][]byte{}
	for _, t := range bank.Tasks {
		if t.Runner != tasks.RunnerGo {
			continue
		}
		for _, h := range t.Hidden {
			if _, ok := files[h.Path]; !ok {
				files[h.Path] = h.Data
			}
		}
	}
	return files
}
