package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/grader/batch"
	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/internal/atomicfile"
	"github.com/cmcgrader/cmcgrader/tasks"
)

func (a *app) cohortCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cohort",
		Short: "Grade a whole cohort into a results store, and export it",
		Args:  noArgs,
	}
	cmd.AddCommand(a.cohortGradeCmd(), a.cohortStatusCmd(), a.cohortExportCmd())
	return cmd
}

type cohortGradeFlags struct {
	roster, bank, db, freeze, pub, signKey string
	tasks                                  []string
	regrade, recheck                       bool
	parallel                               int
	ttl                                    time.Duration
	runFlags
}

func (a *app) cohortGradeCmd() *cobra.Command {
	var f cohortGradeFlags
	cmd := &cobra.Command{
		Use:   "grade --roster R --bank DIR --db FILE [--freeze F]",
		Short: "Grade every candidate of a roster into a results store",
		Long: `Grade grades every candidate of the roster, several at once, and keeps each
report in the store (--db, an SQLite file, created if missing). With --freeze,
each candidate's commit is the one the freeze fixed at the deadline; later
pushes do not count.

Every report is saved when its candidate is done, in one transaction: killing
the grader loses only the candidates it was grading, and running the command
again resumes. Those are graded again once their lease runs out (--lease);
finished candidates are skipped unless --regrade. Several grader processes may
share one store: a candidate is graded by one of them at a time.

A candidate that cannot be graded for a reason that may pass (the engine
restarted) is tried again, up to 3 times; one whose branch does not exist or
whose form does not fit the bank is failed and listed.`,
		Example: `  cmcgrader freeze --roster roster.csv --out freeze.json --sign-key grader.key
  cmcgrader cohort grade --roster roster.csv --freeze freeze.json --bank ./bank --db cohort.db --sign-key grader.key
  cmcgrader cohort export --db cohort.db --format csv --out cohort.csv`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.cohortGrade(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.roster, "roster", "", "roster file, CSV or YAML (required)")
	fl.StringVar(&f.bank, "bank", "", "task bank folder (required)")
	fl.StringVar(&f.db, "db", "", "results store, an SQLite file (required)")
	fl.StringVar(&f.freeze, "freeze", "", "freeze file: grade the commits it fixed")
	fl.StringVar(&f.pub, "pub", "", "public key the freeze must be signed with")
	fl.StringVar(&f.signKey, "sign-key", "", "sign every report with this ed25519 private key file")
	fl.StringSliceVar(&f.tasks, "task", nil, "grade only these task ids")
	fl.BoolVar(&f.regrade, "regrade", false, "grade again candidates that are done")
	fl.BoolVar(&f.recheck, "recheck", true, "run a failed task a second time")
	fl.IntVar(&f.parallel, "parallel", 0, "candidates graded at once, and sandboxes run at once among them (default: --jobs)")
	fl.DurationVar(&f.ttl, "lease", batch.DefaultTTL, "how long a candidate stays leased to a grader that stopped answering")
	f.runFlags.register(fl)
	return cmd
}

func (a *app) cohortGrade(cmd *cobra.Command, f cohortGradeFlags) error {
	switch {
	case f.roster == "":
		return usageError{errors.New("--roster is required: the roster file")}
	case f.bank == "":
		return usageError{errors.New("--bank is required: the task bank folder")}
	case f.db == "":
		return usageError{errors.New("--db is required: the results store")}
	case f.pub != "" && f.freeze == "":
		return usageError{errors.New("--pub checks the freeze's signature: give --freeze too")}
	case f.ttl < 3*time.Second:
		return usageError{fmt.Errorf("--lease must be at least 3s, got %s", f.ttl)}
	case f.parallel < 0:
		return usageError{fmt.Errorf("--parallel must be at least 1, got %d", f.parallel)}
	}
	if err := f.runFlags.check(); err != nil {
		return err
	}
	ctx := cmd.Context()
	signKey, err := loadSignKey(f.signKey)
	if err != nil {
		return err
	}
	bank, err := tasks.Load(f.bank)
	if err != nil {
		return fmt.Errorf("load bank: %w", err)
	}
	if len(f.tasks) > 0 {
		if _, err := bank.Subset(f.tasks); err != nil {
			return usageError{fmt.Errorf("--task: %w", err)}
		}
	}
	roster, err := cohort.LoadRoster(f.roster)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, f.db)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.SetRoster(ctx, roster); err != nil {
		return err
	}
	if f.freeze != "" {
		if err := a.storeFreeze(cmd, st, f.freeze, f.pub); err != nil {
			return err
		}
	}
	if f.regrade {
		if _, err := st.Regrade(ctx); err != nil {
			return err
		}
	}
	counts, err := st.Counts(ctx)
	if err != nil {
		return err
	}
	parallel := f.parallel
	if parallel == 0 {
		parallel = f.jobs
	}
	g, cleanup, err := a.newGrader(ctx, &f.runFlags, 0)
	if err != nil {
		return err
	}
	defer cleanup()
	g.Progress = nil
	g.Recheck = f.recheck
	host, _ := os.Hostname()
	progress := batch.NewCounter(a.stderr, counts.Pending+counts.Running+counts.NotGradable, showProgress(f.progress, a.stderr))
	defer progress.Close()
	r := &batch.Runner{
		Grader: g, Store: st, Bank: bank, Tasks: f.tasks,
		RosterDir: filepath.Dir(roster.Path),
		Holder:    fmt.Sprintf("%s:%d", host, os.Getpid()),
		TTL:       f.ttl, Parallel: parallel, SignKey: signKey,
		Log: a.log, Progress: progress,
	}
	runErr := r.Run(ctx)
	progress.Close()
	if err := a.writeCohortStatus(cmd, st); err != nil {
		return err
	}
	return runErr
}

// storeFreeze checks the freeze file and keeps it in the store.
func (a *app) storeFreeze(cmd *cobra.Command, st *store.Store, name, pubFile string) error {
	trusted, err := loadPublicKey(pubFile)
	if err != nil {
		return err
	}
	if _, err := cohort.LoadFreeze(name, trusted); err != nil {
		return err
	}
	raw, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	sig, err := atomicfile.ReadBounded(report.SignaturePath(name), report.MaxSignatureSize+1)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return st.SetFreeze(cmd.Context(), raw, sig)
}

func (a *app) cohortStatusCmd() *cobra.Command {
	var db string
	cmd := &cobra.Command{
		Use:   "status --db FILE",
		Short: "Show where each candidate's grading stands",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if db == "" {
				return usageError{errors.New("--db is required: the results store")}
			}
			st, err := store.Open(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			return a.writeCohortStatus(cmd, st)
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "results store (required)")
	return cmd
}

func (a *app) writeCohortStatus(cmd *cobra.Command, st *store.Store) error {
	cs, err := st.Candidates(cmd.Context())
	if err != nil {
		return err
	}
	if err := batch.WriteStatus(a.stdout, cs, time.Now()); err != nil {
		return err
	}
	ps, err := st.Pushes(cmd.Context())
	if err != nil {
		return err
	}
	return batch.WriteFailedPushes(a.stdout, ps)
}

func (a *app) cohortExportCmd() *cobra.Command {
	var db, format, out, bankDir string
	var personal bool
	cmd := &cobra.Command{
		Use:   "export --db FILE --format csv|json|junit|html [--out FILE]",
		Short: "Export a cohort's results: CSV, JSON, JUnit XML or an HTML report",
		Long: `Export writes the latest report of every candidate of the store: CSV (a row per
candidate, formula cells neutralised), JSON, JUnit XML (a suite per candidate
and exam, a case per task) or a self-contained HTML report with the item
analysis. Names and emails are left out unless --personal. The formats are in
docs/cohort.md. Exports are for proctors: they name tasks and, in JUnit,
quote failure reasons.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if db == "" {
				return usageError{errors.New("--db is required: the results store")}
			}
			write, ok := map[string]func(io.Writer, []cohort.Entry, cohort.ExportOptions) error{
				"csv": cohort.WriteCSV, "json": cohort.WriteJSON, "junit": cohort.WriteJUnit, "html": cohort.WriteHTML,
			}[format]
			if !ok {
				return usageError{fmt.Errorf("--format: want csv, json, junit or html, got %q", format)}
			}
			opts := cohort.ExportOptions{IncludePersonal: personal}
			if bankDir != "" {
				b, err := tasks.Load(bankDir)
				if err != nil {
					return fmt.Errorf("load bank: %w", err)
				}
				opts.Bank = b
			}
			st, err := store.Open(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			entries, err := batch.Entries(cmd.Context(), st)
			if err != nil {
				return err
			}
			if out == "" {
				return write(a.stdout, entries, opts)
			}
			return atomicfile.Write(out, func(w io.Writer) error { return write(w, entries, opts) })
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&db, "db", "", "results store (required)")
	fl.StringVar(&format, "format", "csv", "csv, json, junit or html")
	fl.StringVar(&out, "out", "", "file to write (default: standard output)")
	fl.StringVar(&bankDir, "bank", "", "task bank, for the item analysis's exams and tasks (default: what the reports name)")
	fl.BoolVar(&personal, "personal", false, "include candidates' names and emails")
	return cmd
}
