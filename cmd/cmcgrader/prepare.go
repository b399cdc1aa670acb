package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/grader"
	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/internal/bytesize"
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
	if f.repo == "" && bank.Base.Repo == "" {
		return usageError{fmt.Errorf("bank %s names no base repository: give --repo, the upstream repository", bank.Name)}
	}
	eng, err := docker.New(ctx, a.log)
	if err != nil {
		return err
	}
	defer eng.Close()
	a.log.Logger.SetLevel(max(a.log.Logger.Level, logrus.InfoLevel))
	g := &grader.Grader{
		Images: &docker.Images{Engine: eng, Log: a.log, GoProxy: os.Getenv("GOPROXY")},
		Log:    a.log,
		Fetch:  repo.FetchOptions{MaxBytes: int64(f.maxRepo), Timeout: f.fetchTimeout},
	}
	if f.cache != "" {
		if g.Cache, err = repo.OpenFetchCache(f.cache); err != nil {
			return err
		}
	}
	img, err := g.Prepare(ctx, bank, grader.Submission{BaseRepo: f.repo, BaseRef: f.baseRef}, f.force)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s %s\n", img.Ref, img.ID)
	return nil
}
