package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/escape"
)

// Defaults of cmcgrader freeze.
const (
	defaultFreezeJobs    = 8
	defaultFreezeTimeout = time.Minute
)

func (a *app) rosterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "roster",
		Short: "Work with cohort rosters",
		Args:  noArgs,
	}
	var file string
	check := &cobra.Command{
		Use:   "check --roster FILE",
		Short: "Load and validate a roster, and list its candidates",
		Long: `Check reads a roster the way freeze does and lists its candidates: the line,
id, branch, repository and form of each (names and emails are left out).
A roster is a CSV file (.csv) with a header row naming its columns, or a
YAML file (.yaml, .yml) with a list of candidates; the columns are id, repo
and branch (required), form and attempt (together, or neither), name and
email. A bad roster is rejected whole, with every problem named by line
and column.`,
		Example: `  cmcgrader roster check --roster cohort/roster.csv`,
		Args:    noArgs,
		RunE: func(*cobra.Command, []string) error {
			if file == "" {
				return usageError{errors.New("--roster is required: the roster file")}
			}
			r, err := cohort.LoadRoster(file)
			if err != nil {
				return err
			}
			return r.WriteText(a.stdout)
		},
	}
	check.Flags().StringVar(&file, "roster", "", "roster file, .csv or .yaml (required)")
	cmd.AddCommand(check)
	return cmd
}

func (a *app) freezeCmd() *cobra.Command {
	var rosterFile, out, signKey string
	var jobs int
	var timeout time.Duration
	var force bool
	cmd := &cobra.Command{
		Use:   "freeze --roster FILE --out FILE [--sign-key KEYFILE]",
		Short: "Record the commit every candidate's branch points to at the deadline",
		Long: `Freeze reads, for every candidate of the roster, the commit their branch
points to now (as git ls-remote does: nothing is fetched), several
repositories at once, and writes the freeze file: the time, the roster's
digest and each candidate's commit. A push after the freeze does not
change it: grade a candidate's frozen commit with grade --commit SHA.

It prints one line per candidate: the id and the commit, or "problem" and
the reason (an unreachable repository, a missing branch). Problems are
listed, not fatal: the exit status is 0 once the freeze is written. A
roster with errors writes nothing and exits 1; a usage error exits 2.

With --sign-key the freeze gets a signature file FILE.sig over its exact
bytes, checked by freeze verify. An existing freeze is not replaced
unless --force.`,
		Example: `  cmcgrader freeze --roster cohort/roster.csv --out cohort/freeze.json --sign-key grader.key
  cmcgrader freeze verify --pub grader.key.pub cohort/freeze.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case rosterFile == "":
				return usageError{errors.New("--roster is required: the roster file")}
			case out == "":
				return usageError{errors.New("--out is required: the freeze file to write")}
			case jobs < 1:
				return usageError{fmt.Errorf("--jobs must be at least 1, got %d", jobs)}
			case timeout <= 0:
				return usageError{fmt.Errorf("--fetch-timeout must be positive, got %s", timeout)}
			}
			key, err := loadSignKey(signKey)
			if err != nil {
				return err
			}
			if _, err := os.Lstat(out); err == nil && !force {
				return fmt.Errorf("%s exists: a freeze is the record of a deadline; give --force to replace it", out)
			}
			r, err := cohort.LoadRoster(rosterFile)
			if err != nil {
				return err
			}
			return a.freeze(cmd.Context(), r, out, key, jobs, timeout)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&rosterFile, "roster", "", "roster file, .csv or .yaml (required)")
	fl.StringVar(&out, "out", "", "freeze file to write (required)")
	fl.StringVar(&signKey, "sign-key", "", "private key file (receipt keygen) to sign the freeze with: writes FILE.sig beside --out FILE")
	fl.IntVar(&jobs, "jobs", defaultFreezeJobs, "repositories read at once")
	fl.DurationVar(&timeout, "fetch-timeout", defaultFreezeTimeout, "time limit of reading one repository's branches")
	fl.BoolVar(&force, "force", false, "replace an existing freeze file")
	cmd.AddCommand(a.freezeVerifyCmd())
	return cmd
}

func (a *app) freeze(ctx context.Context, r *cohort.Roster, out string, key ed25519.PrivateKey, jobs int, timeout time.Duration) error {
	resolve := func(ctx context.Context, c cohort.Candidate) (string, error) {
		return repo.ResolveBranch(ctx, a.log.WithField("candidate", c.ID), repo.FetchOptions{URL: c.Repo, Branch: c.Branch, Timeout: timeout})
	}
	f := cohort.Resolve(ctx, r, resolve, jobs, time.Now())
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: the freeze is incomplete; nothing was written to %s", out)
	}
	if err := cohort.WriteFreeze(out, f, key); err != nil {
		return err
	}
	if err := f.WriteText(a.stdout); err != nil {
		return err
	}
	if key != nil {
		fmt.Fprintf(a.stdout, "wrote %s and its signature %s (key %s)\n", escape.Line(out), escape.Line(report.SignaturePath(out)), report.KeyFingerprint(key.Public().(ed25519.PublicKey)))
	} else {
		fmt.Fprintf(a.stdout, "wrote %s (unsigned)\n", escape.Line(out))
	}
	return nil
}

func (a *app) freezeVerifyCmd() *cobra.Command {
	var pub string
	cmd := &cobra.Command{
		Use:   "verify [--pub KEYFILE.pub] FILE",
		Short: "Check a freeze file's signature and list what it froze",
		Long: `Verify checks a freeze file: FILE.sig must sign its
exact bytes (with --pub, by that key), and the file must be a freeze of
this grader's version. It prints "freeze OK" and the freeze's candidates,
or exits 1 with what failed. An unsigned freeze fails. Without --pub the
key written in FILE.sig is used, which shows only that the two files
belong together: compare the fingerprint it prints with the grader's.`,
		Example: `  cmcgrader freeze verify --pub grader.key.pub cohort/freeze.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("%s takes one freeze file, got %d arguments", cmd.CommandPath(), len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			trusted, err := loadPublicKey(pub)
			if err != nil {
				return err
			}
			f, err := cohort.LoadFreeze(file, trusted)
			if err != nil {
				return fmt.Errorf("verification failed: %w", err)
			}
			if f.SignedBy == "" {
				return fmt.Errorf("verification failed: %s is not signed: it has no signature file %s; freeze with --sign-key", file, report.SignaturePath(file))
			}
			by := "the key in " + pub
			if trusted == nil {
				by = "the key in " + report.SignaturePath(file) + ", not checked"
			}
			fmt.Fprintf(a.stdout, "freeze OK: %s, signed by %s (%s)\n", escape.Line(file), f.SignedBy, escape.Line(by))
			if trusted == nil {
				fmt.Fprintf(a.stdout, "this shows only that the freeze is intact: anyone can sign an edited freeze with a key of their own; compare %s with the grader's key, or verify with --pub\n", f.SignedBy)
			}
			return f.WriteText(a.stdout)
		},
	}
	cmd.Flags().StringVar(&pub, "pub", "", "public key file (PEM) the freeze must be signed by")
	return cmd
}
