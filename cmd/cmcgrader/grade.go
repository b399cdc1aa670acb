package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cmcgrader/cmcgrader/grader"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/tasks"
)

type gradeFlags struct {
	runFlags
	bank, repo, branch, commit string
	baseRepo, baseRef          string
	out                        string
	tasks                      []string
	form, audience             string
	recheck                    bool
	signKey                    string
	publish, db                string
	github                     githubFlags
}

func (a *app) gradeCmd() *cobra.Command {
	var f gradeFlags
	cmd := &cobra.Command{
		Use:   "grade --bank DIR --repo URL (--branch NAME | --commit SHA)",
		Short: "Grade a candidate's fork against a task bank",
		Long: `Grade fetches the candidate's branch or commit, runs every task of the bank
in a Docker sandbox and prints per-task points, per-exam scores and the
certification verdict.

The exit status is 0 whenever grading was done, whatever the score; it is 1
when grading could not be done (bad bank, unreachable repository, Docker
down, ...) and 2 for a usage error.

An interrupt (Ctrl-C) stops grading: the tasks that finished keep their
results, the others are marked not graded, the report says it was
interrupted (verdict INCOMPLETE) and is printed and written to --out as
usual, and the exit status is 1. A second interrupt quits at once, with
status 130, after removing the sandboxes still running.

With --publish github, the candidate's view of the result is also shown on
the graded commit, as a check run (a GitHub App) or a commit status (a
token); a result GitHub refuses waits in --db for publish --pending, and
the exit status is 1.`,
		Example: `  cmcgrader grade --bank ./bank --repo https://github.com/alice/meshery --branch cmc
  cmcgrader grade --bank ./bank --repo ./fork.git --commit 3f2c... --out report.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.grade(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.bank, "bank", "", "task bank folder (required)")
	fl.StringVar(&f.repo, "repo", "", "git URL of the candidate's fork: https://, http://, file:// or a local path (required)")
	fl.StringVar(&f.branch, "branch", "", "branch to grade")
	fl.StringVar(&f.commit, "commit", "", "full commit SHA to grade (instead of --branch)")
	fl.StringVar(&f.baseRepo, "base-repo", "", "git URL of the upstream repository (default: the bank's, else --repo)")
	fl.StringVar(&f.baseRef, "base-ref", "", "upstream branch or commit the candidate forked (default: the bank's)")
	fl.StringVar(&f.out, "out", "", "also write the full report as JSON to this file")
	fl.BoolVar(&f.recheck, "recheck", true, "run a failed task a second time; a different result marks it flaky for the proctor")
	fl.StringVar(&f.signKey, "sign-key", "", "sign the JSON report with this ed25519 private key file (see receipt keygen; needs --out)")
	fl.StringSliceVar(&f.tasks, "task", nil, "grade only these task ids (repeat the flag or separate with commas)")
	fl.StringVar(&f.form, "form", "", "grade exactly the tasks of this exam form (form.json, written by cmcgrader form)")
	fl.StringVar(&f.audience, "audience", report.AudienceProctor, "who the report is for: proctor (everything) or candidate (titles, points and pass/fail only)")
	fl.StringVar(&f.publish, "publish", "", "also publish the result on the graded commit: github (the candidate's view only; see README)")
	fl.StringVar(&f.db, "db", "", "with --publish: the results store where a result GitHub refuses waits for publish --pending (created if missing)")
	f.github.register(fl)
	f.runFlags.register(fl)
	return cmd
}

// defaultJobs allows one sandbox per two CPUs and, when the host's memory
// is known, no more sandboxes than fit in it at memory bytes each; at
// least one.
func defaultJobs(memory int64) int {
	jobs := runtime.NumCPU() / 2
	if total := hostMemory(); total > 0 && memory > 0 {
		jobs = min(jobs, int(total/memory))
	}
	return max(1, jobs)
}

// hostMemory is the host's memory in bytes (MemTotal), 0 when unknown.
func hostMemory() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			if f := strings.Fields(rest); len(f) == 2 && f[1] == "kB" {
				if kib, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kib << 10
				}
			}
		}
	}
	return 0
}

func (a *app) grade(cmd *cobra.Command, f gradeFlags) error {
	switch {
	case f.bank == "":
		return usageError{errors.New("--bank is required: the task bank folder")}
	case f.repo == "":
		return usageError{errors.New("--repo is required: the git URL of the candidate's fork")}
	case f.branch == "" && f.commit == "":
		return usageError{errors.New("give --branch or --commit: what to grade")}
	case f.branch != "" && f.commit != "":
		return usageError{errors.New("give only one of --branch and --commit")}
	case f.form != "" && len(f.tasks) > 0:
		return usageError{errors.New("give only one of --form and --task")}
	case f.audience != report.AudienceProctor && f.audience != report.AudienceCandidate:
		return usageError{fmt.Errorf("--audience: want proctor or candidate, got %q", f.audience)}
	case f.audience == report.AudienceCandidate && f.signKey != "":
		return usageError{errors.New("--sign-key signs the proctor's report; drop --audience candidate to sign")}
	case f.signKey != "" && f.out == "":
		return usageError{errors.New("--sign-key signs the JSON report: give --out FILE too")}
	case f.publish != "" && f.publish != "github":
		return usageError{fmt.Errorf("--publish: want github, got %q", f.publish)}
	case f.publish != "" && f.db == "":
		return usageError{errors.New("--publish github needs --db FILE: a result GitHub refuses waits there for publish --pending")}
	case f.publish == "" && f.db != "":
		return usageError{errors.New("--db goes with --publish github")}
	}
	if err := f.runFlags.check(); err != nil {
		return err
	}
	signKey, err := loadSignKey(f.signKey)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	bank, err := tasks.Load(f.bank)
	if err != nil {
		return fmt.Errorf("load bank: %w", err)
	}
	if len(f.tasks) > 0 {
		if bank, err = bank.Subset(f.tasks); err != nil {
			return usageError{fmt.Errorf("--task: %w", err)}
		}
	}
	form, bank, err := formBank(f.form, bank)
	if err != nil {
		return err
	}
	pub, err := a.gradePublisher(ctx, f)
	if err != nil {
		return err
	}
	defer pub.close()
	candidate := ""
	if form != nil {
		candidate = form.Candidate
	}
	if f.commit != "" {
		pub.started(ctx, candidate, f.repo, f.commit)
	}
	g, cleanup, err := a.newGrader(ctx, &f.runFlags, len(bank.Tasks))
	if err != nil {
		return err
	}
	defer cleanup()
	g.Recheck = f.recheck
	rep, err := g.Grade(ctx, bank, grader.Submission{
		Repo: f.repo, Branch: f.branch, Commit: f.commit,
		BaseRepo: f.baseRepo, BaseRef: f.baseRef,
	})
	a.log.WithField("peak_rss_mib", peakRSSMiB()).Info("grading finished")
	if err != nil && (rep == nil || !errors.Is(err, grader.ErrInterrupted)) {
		return err
	}
	// An interrupted grading's partial report is written like a whole
	// one; the command still fails.
	if form != nil {
		rep.Form = &report.FormInfo{Candidate: form.Candidate, Attempt: form.Attempt}
	}
	if werr := a.writeGradeReport(rep, f, signKey); werr != nil {
		return werr
	}
	if perr := pub.completed(ctx, candidate, rep); perr != nil {
		return errors.Join(err, perr)
	}
	if err != nil && f.out != "" {
		return fmt.Errorf("%w; the partial report is in %s", err, f.out)
	}
	return err
}

// writeGradeReport prints rep for f.audience and writes it to f.out, if
// set, signed with signKey, if set.
func (a *app) writeGradeReport(rep *report.Report, f gradeFlags, signKey ed25519.PrivateKey) error {
	if f.audience == report.AudienceCandidate {
		return a.writeCandidateReport(rep, f.out)
	}
	if f.out != "" {
		if err := report.WriteFile(f.out, rep, signKey); err != nil {
			return err
		}
	}
	return rep.WriteText(a.stdout)
}

// peakRSSMiB is the most memory this process has held at once (its peak
// resident set size), in MiB; 0 when the system does not say.
func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return math.Round(float64(ru.Maxrss)/1024*10) / 10 // Linux counts KiB
}

func showProgress(mode string, w any) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
