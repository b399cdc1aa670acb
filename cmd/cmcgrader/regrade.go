package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/grader"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/escape"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

type regradeFlags struct {
	receipt, bank, out, signKey string
	jobs                        int
}

func (a *app) regradeCmd() *cobra.Command {
	var f regradeFlags
	cmd := &cobra.Command{
		Use:   "regrade --receipt REPORT --bank DIR [--out NEW]",
		Short: "Grade again exactly what a report's receipt names and compare the scores",
		Long: `Regrade re-runs the grading a report's receipt records: the same repository
and commit, the same base commit, the same tasks of the same bank (its
digest must match), the same sandbox image (by ID) and the same limits.
It prints, per task, the old and the new status and points, and says
"identical" when every task got the same.

The exit status is 0 whenever grading was done, whatever it found; 1 when
it could not be done (no receipt, another bank, the image is gone, ...).`,
		Example: `  cmcgrader regrade --receipt report.json --bank ./bank --out again.json`,
		Args:    noArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return a.regrade(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.receipt, "receipt", "", "JSON report whose receipt to grade again (required)")
	fl.StringVar(&f.bank, "bank", "", "the task bank the report was graded with (required)")
	fl.StringVar(&f.out, "out", "", "write the new JSON report to this file")
	fl.StringVar(&f.signKey, "sign-key", "", "sign the new report with this private key file (needs --out)")
	fl.IntVar(&f.jobs, "jobs", 0, "tasks graded at once (default: one per two CPUs, no more than fit in the host's memory at the receipt's memory limit each)")
	return cmd
}

func (a *app) regrade(cmd *cobra.Command, f regradeFlags) error {
	switch {
	case f.receipt == "":
		return usageError{errors.New("--receipt is required: the JSON report to grade again")}
	case f.bank == "":
		return usageError{errors.New("--bank is required: the task bank the report was graded with")}
	case f.signKey != "" && f.out == "":
		return usageError{errors.New("--sign-key signs the JSON report: give --out FILE too")}
	case f.jobs < 0:
		return usageError{fmt.Errorf("--jobs must be at least 1, got %d", f.jobs)}
	}
	data, sig, err := report.ReadFile(f.receipt)
	if err != nil {
		return fmt.Errorf("--receipt: %w", err)
	}
	var old report.Report
	if err := json.Unmarshal(data, &old); err != nil {
		return fmt.Errorf("--receipt %s: not a JSON report: %w", f.receipt, err)
	}
	rc := old.Receipt
	if rc == nil {
		return fmt.Errorf("--receipt %s: the report has no receipt (it was written by a grader without receipts); grade it again with grade --commit", f.receipt)
	}
	switch v, err := report.VerifyReport(data, sig, nil); {
	case err == nil:
		fmt.Fprintf(a.stdout, "receipt signed by %s (the key in its signature file, not checked: compare it with the grader's)\n", v.KeyFingerprint)
	case errors.Is(err, report.ErrUnsigned):
		fmt.Fprintln(a.stdout, "receipt not signed")
	default:
		fmt.Fprintf(a.stdout, "WARNING: the report does not verify (%s): its old scores may have been edited\n", escape.Line(err.Error()))
	}
	key, err := loadSignKey(f.signKey)
	if err != nil {
		return err
	}
	bank, err := tasks.Load(f.bank)
	if err != nil {
		return fmt.Errorf("load bank: %w", err)
	}
	if bank, err = rc.Tasks(bank); err != nil {
		return err
	}
	ctx := cmd.Context()
	// Exactly the receipt's image, limits, runtime and recheck setting.
	if f.jobs == 0 {
		f.jobs = defaultJobs(rc.Limits.Sandbox().Memory)
	}
	rf := runFlags{image: rc.Image.ID, runtime: rc.Limits.Runtime, jobs: f.jobs, progress: "never"}
	g, cleanup, err := a.newGrader(ctx, &rf, len(bank.Tasks))
	if err != nil {
		return err
	}
	defer cleanup()
	g.Limits, g.Recheck = rc.Limits.Sandbox(), rc.Limits.Recheck
	if _, err := g.Images.Prepare(ctx, sandbox.ImageRequest{}); err != nil {
		if errors.Is(err, sandbox.ErrImageNotFound) {
			return fmt.Errorf("the receipt's sandbox image %s (%s) is gone: a rebuilt image has another ID, so the regrade would not be exact; restore that image (docker load) to regrade", rc.Image.ID, rc.Image.Ref)
		}
		return err
	}
	rep, err := g.Grade(ctx, bank, grader.SubmissionOf(rc))
	if err != nil {
		return err
	}
	if f.out != "" {
		if err := report.WriteFile(f.out, rep, key); err != nil {
			return err
		}
	}
	return report.Compare(&old, rep).WriteText(a.stdout)
}
