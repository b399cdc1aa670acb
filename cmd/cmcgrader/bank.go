package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/grader"
	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/internal/atomicfile"
	"github.com/cmcgrader/cmcgrader/internal/jsonout"
	"github.com/cmcgrader/cmcgrader/tasks"
)

func (a *app) bankCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bank",
		Short: "Work with task banks",
		Args:  noArgs,
	}
	var dir, baseRepo, baseRef string
	var checkBase bool
	check := &cobra.Command{
		Use:   "check --bank DIR [--base [--repo URL] [--base-ref REF]]",
		Short: "Load and validate a bank, and list its tasks",
		Long: `Check loads a task bank the way grading does and lists its exams and tasks.
A bad bank is rejected whole, with every problem named by file and field.

With --base it also fetches the bank's base commit (or --repo and
--base-ref) and checks that its go.mod can be built offline in a sandbox:
a module replaced by a folder outside the repository cannot be, and is
named with its line. Run it before an exam, not at the deadline.`,
		Example: `  cmcgrader bank check --bank ./bank
  cmcgrader bank check --bank ./bank --base --repo https://github.com/meshery/meshkit --base-ref master`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case dir == "":
				return usageError{fmt.Errorf("--bank is required")}
			case !checkBase && (baseRepo != "" || baseRef != ""):
				return usageError{fmt.Errorf("--repo and --base-ref name the base --base checks: give --base too")}
			}
			b, err := tasks.Load(dir)
			if err != nil {
				return err
			}
			if err := b.WriteText(a.stdout); err != nil || !checkBase {
				return err
			}
			g := &grader.Grader{Log: a.log, Fetch: repo.FetchOptions{Timeout: 5 * time.Minute}}
			commit, err := g.CheckBase(cmd.Context(), b, grader.Submission{BaseRepo: baseRepo, BaseRef: baseRef})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "base %s: go.mod can be built offline\n", commit)
			return nil
		},
	}
	fl := check.Flags()
	fl.StringVar(&dir, "bank", "", "task bank folder")
	fl.BoolVar(&checkBase, "base", false, "also fetch the base commit and check its go.mod")
	fl.StringVar(&baseRepo, "repo", "", "git URL of the base repository (default: the bank's)")
	fl.StringVar(&baseRef, "base-ref", "", "base branch or commit (default: the bank's)")
	cmd.AddCommand(check, a.bankVerifyCmd())
	return cmd
}

func (a *app) bankVerifyCmd() *cobra.Command {
	var bankDir, repo, baseRef, out string
	var runs int
	var only []string
	var rf runFlags
	cmd := &cobra.Command{
		Use:   "verify --bank DIR --repo BASE [--runs N]",
		Short: "Calibrate a bank: every task 0 on the base, full points with its reference",
		Long: `Verify runs each task's hidden tests in the sandbox exactly as grading does,
--runs times each: on the untouched base, where the task must score 0, and on
the base with the task's reference solution applied, where it must score full
points. Runs of the same code that grade differently make the task flaky.
Then it applies every reference solution together, which must apply without
conflict and pass every exam at 100%.

It prints one row per task, then each problem found, naming the task and
the reason. The exit status is 0 when every task is calibrated; 3 when the
verification ran and found the bank unfit (a task broken, passing
trivially or flaky, references that do not apply together); 1 when it
could not be done (bad bank, unreachable repository, Docker down, ...);
2 for a usage error.`,
		Example: `  cmcgrader bank verify --bank ./bank --repo https://github.com/meshery/meshery
  cmcgrader bank verify --bank ./bank --repo ./meshery.git --runs 5 --task server-etag`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bankDir == "" {
				return usageError{fmt.Errorf("--bank is required: the task bank folder")}
			}
			if runs < 1 {
				return usageError{fmt.Errorf("--runs must be at least 1, got %d", runs)}
			}
			if err := rf.check(); err != nil {
				return err
			}
			bank, err := tasks.Load(bankDir)
			if err != nil {
				return fmt.Errorf("load bank: %w", err)
			}
			if repo == "" && bank.Base.Repo == "" {
				return usageError{fmt.Errorf("--repo is required: the bank names no base repository")}
			}
			if len(only) > 0 {
				if bank, err = bank.Subset(only); err != nil {
					return usageError{fmt.Errorf("--task: %w", err)}
				}
			}
			g, cleanup, err := a.newGrader(cmd.Context(), &rf, len(bank.Tasks))
			if err != nil {
				return err
			}
			defer cleanup()
			v, err := g.Verify(cmd.Context(), bank, grader.Submission{BaseRepo: repo, BaseRef: baseRef}, runs)
			if err != nil {
				return err
			}
			if out != "" {
				if err := atomicfile.Write(out, func(w io.Writer) error { return jsonout.Write(w, v) }); err != nil {
					return fmt.Errorf("write verification: %w", err)
				}
			}
			if err := v.WriteText(a.stdout); err != nil {
				return err
			}
			if !v.OK() {
				return outcomeError{errors.New("the bank is not fit for an exam: fix the tasks named above"), exitUnfit}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&bankDir, "bank", "", "task bank folder (required)")
	fl.StringVar(&repo, "repo", "", "git URL of the base repository (default: the bank's)")
	fl.StringVar(&baseRef, "base-ref", "", "base branch or commit (default: the bank's)")
	fl.IntVar(&runs, "runs", grader.DefaultVerifyRuns, "runs of each task on each side, to catch flaky tests")
	fl.StringSliceVar(&only, "task", nil, "verify only these task ids")
	fl.StringVar(&out, "out", "", "also write the verification as JSON to this file")
	rf.register(fl)
	return cmd
}
