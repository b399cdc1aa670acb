package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/atomicfile"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// The files cmcgrader form writes.
const (
	formJSON     = "form.json"
	formMarkdown = "form.md"
)

func (a *app) formCmd() *cobra.Command {
	var bankDir, candidate, out, appURL string
	var attempt int
	var force bool
	cmd := &cobra.Command{
		Use:   "form --bank DIR --candidate ID --attempt N --out DIR",
		Short: "Draw a candidate's exam form from a bank",
		Long: `Form draws the tasks of one candidate's attempt from the bank: for each exam
the number of tasks the bank sets (exams.<exam>.tasks; all when unset),
balanced across easy, medium and hard. The same bank, candidate and attempt
always draw the same form. Attempts are numbered from 1 to the bank's
attempts (default 3).

It writes two files to the --out folder:
  form.json  for the proctor: grade --form form.json grades exactly these tasks
  form.md    for the candidate: each task's title, points and statement, and
             never a hidden test's name, path or content; with
             --github-app-url, the link to install the grading GitHub App
             on their fork, so that their pushes are graded

Existing files are not overwritten unless --force is given.`,
		Example: `  cmcgrader form --bank ./bank --candidate cmc-0042 --attempt 1 --out forms/cmc-0042-1
  cmcgrader grade --bank ./bank --form forms/cmc-0042-1/form.json --repo ./fork.git --branch cmc`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case bankDir == "":
				return usageError{errors.New("--bank is required: the task bank folder")}
			case candidate == "":
				return usageError{errors.New("--candidate is required: the candidate's id")}
			case !cmd.Flags().Changed("attempt"):
				return usageError{errors.New("--attempt is required: the attempt number, from 1")}
			case out == "":
				return usageError{errors.New("--out is required: the folder to write form.json and form.md to")}
			}
			if err := tasks.CheckCandidate(candidate); err != nil {
				return usageError{fmt.Errorf("--candidate: %w", err)}
			}
			install := ""
			if appURL != "" {
				var err error
				if install, err = formInstallSection(appURL); err != nil {
					return usageError{fmt.Errorf("--github-app-url: %w", err)}
				}
			}
			b, err := tasks.Load(bankDir)
			if err != nil {
				return fmt.Errorf("load bank: %w", err)
			}
			form, err := tasks.Draw(b, candidate, attempt)
			if err != nil {
				return fmt.Errorf("--attempt: %w", err)
			}
			return a.writeForm(form, b, out, force, install)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&bankDir, "bank", "", "task bank folder (required)")
	fl.StringVar(&candidate, "candidate", "", "the candidate's id: printable, at most 128 bytes (required)")
	fl.IntVar(&attempt, "attempt", 0, "attempt number, from 1 to the bank's attempts (required)")
	fl.StringVar(&out, "out", "", "folder to write form.json and form.md to; created if missing (required)")
	fl.BoolVar(&force, "force", false, "overwrite form.json and form.md if they exist")
	fl.StringVar(&appURL, "github-app-url", "", "the grading GitHub App's page (https://github.com/apps/SLUG): form.md tells the candidate to install it on their fork")
	return cmd
}

// writeForm renders both files in memory first, so that a problem (an
// existing file, a statement naming a hidden test) leaves nothing behind.
// install, if any, ends form.md.
func (a *app) writeForm(form *tasks.Form, b *tasks.Bank, out string, force bool, install string) error {
	var js, md bytes.Buffer
	if err := form.WriteJSON(&js); err != nil {
		return err
	}
	if err := form.WriteMarkdown(&md, b); err != nil {
		return fmt.Errorf("write the candidate's form: %w", err)
	}
	if install != "" {
		md.WriteString("\n" + install)
	}
	files := []struct {
		name string
		data []byte
	}{{filepath.Join(out, formJSON), js.Bytes()}, {filepath.Join(out, formMarkdown), md.Bytes()}}
	if !force {
		for _, f := range files {
			if _, err := os.Lstat(f.name); err == nil {
				return fmt.Errorf("%s exists; give --force to overwrite it, or another --out folder", f.name)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create the --out folder: %w", err)
	}
	for _, f := range files {
		err := atomicfile.Write(f.name, func(w io.Writer) error {
			_, err := w.Write(f.data)
			return err
		})
		if err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	fmt.Fprintf(a.stdout, "form of candidate %s, attempt %d of %d, bank %s (%s)\n",
		form.Candidate, form.Attempt, form.Attempts, form.Bank, form.BankDigest[:12])
	for _, e := range form.Exams {
		fmt.Fprintf(a.stdout, "  %-14s %s\n", e.Name, strings.Join(e.Tasks, ", "))
	}
	fmt.Fprintf(a.stdout, "wrote %s (for grade --form) and %s (for the candidate)\n", files[0].name, files[1].name)
	return nil
}

// formBank reads the form file name, when given, checks that it was drawn
// from bank, and returns it with the part of the bank it grades.
func formBank(name string, bank *tasks.Bank) (*tasks.Form, *tasks.Bank, error) {
	if name == "" {
		return nil, bank, nil
	}
	form, err := tasks.LoadForm(name)
	if err != nil {
		return nil, nil, fmt.Errorf("--form: %w", err)
	}
	sub, err := form.Tasks(bank)
	if err != nil {
		return nil, nil, fmt.Errorf("--form %s: %w", name, err)
	}
	return form, sub, nil
}

// writeCandidateReport prints the candidate's view of rep and, with out,
// writes it as JSON.
func (a *app) writeCandidateReport(rep *report.Report, out string) error {
	c := rep.ForCandidate()
	if out != "" {
		if err := atomicfile.Write(out, c.WriteJSON); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return c.WriteText(a.stdout)
}
