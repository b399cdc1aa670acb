package main

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/escape"
)

type reviewFlags struct {
	report, task, reason, signKey string
}

func (a *app) reviewCmd() *cobra.Command {
	var f reviewFlags
	cmd := &cobra.Command{
		Use:   "review accept|reject --report FILE --task ID --reason TEXT [--sign-key KEYFILE]",
		Short: "Decide on a task held for review",
		Long: `A task whose tests reach candidate code able to rewrite the test process's
output, exit status or test framework is held: its exam is INCOMPLETE until
a proctor reads the flagged code (the report lists it, file:line) and
decides. accept keeps the task's points; reject scores it 0. The decision,
its reason and its time are written into the report, and the exam scores
and verdicts are updated. A signed report (REPORT.sig beside it) is
verified with --sign-key's key first and signed again with it, so the
signature covers the decision; an unsigned one is reviewed without
--sign-key.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || (report.Decision(args[0]) != report.Accept && report.Decision(args[0]) != report.Reject) {
				return usageError{fmt.Errorf("%s takes one decision, accept or reject", cmd.CommandPath())}
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error { return a.review(args[0], f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.report, "report", "", "the JSON report to record the decision in (required)")
	fl.StringVar(&f.task, "task", "", "the held task's id (required)")
	fl.StringVar(&f.reason, "reason", "", "why, in a sentence (required)")
	fl.StringVar(&f.signKey, "sign-key", "", "private key file: verify the signed report (FILE.sig) with it, then sign it again")
	return cmd
}

func (a *app) review(decision string, f reviewFlags) error {
	switch {
	case f.report == "":
		return usageError{errors.New("--report is required: the JSON report to record the decision in")}
	case f.task == "":
		return usageError{errors.New("--task is required: the held task's id")}
	case strings.TrimSpace(f.reason) == "":
		return usageError{errors.New("--reason is required: say why, in a sentence")}
	}
	key, err := loadSignKey(f.signKey)
	if err != nil {
		return err
	}
	data, sig, err := report.ReadFile(f.report)
	if err != nil {
		return fmt.Errorf("read report: %w", err)
	}
	switch {
	case sig != nil && key == nil:
		return fmt.Errorf("%s is signed: give --sign-key, so that the decision is signed too", f.report)
	case sig == nil && key != nil:
		// Signing it would vouch for whatever the file now says.
		return fmt.Errorf("%s is not signed (there is no %s): --sign-key signs only a report that verifies with it; review it without --sign-key",
			f.report, report.SignaturePath(f.report))
	case sig != nil:
		// The report must be the grader's, unchanged, before it is
		// changed and signed again.
		if _, err := report.VerifyReport(data, sig, key.Public().(ed25519.PublicKey)); err != nil {
			return fmt.Errorf("%s: %w", f.report, err)
		}
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return fmt.Errorf("%s: not a JSON report: %w", f.report, err)
	}
	if err := rep.Review(f.task, report.Decision(decision), f.reason, time.Now()); err != nil {
		return err
	}
	if err := report.WriteFile(f.report, &rep, key); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s: task %s %sed on review; certification %s\n", f.report, escape.Line(f.task), decision, rep.Verdict)
	return nil
}
