package grader

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/escape"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// DefaultVerifyRuns is how many times Verify runs each side of each task.
const DefaultVerifyRuns = 3

// RunGrade is one run's grade in a verification.
type RunGrade struct {
	Status report.Status `json:"status"`
	Points float64       `json:"points"`
	Reason string        `json:"reason,omitempty"`
}

// TaskVerification is what calibrating one task found.
type TaskVerification struct {
	ID       string  `json:"id"`
	Exam     string  `json:"exam"`
	Possible float64 `json:"possible"`
	// Base are the runs on the untouched base; each must score 0.
	Base []RunGrade `json:"base"`
	// Reference are the runs on the base with the task's reference
	// solution; each must score full points.
	Reference []RunGrade `json:"reference"`
	// Flaky says runs of the same code gave different grades.
	Flaky bool `json:"flaky"`
	// Problems say why the task is not fit for an exam; empty when it is.
	Problems []string      `json:"problems,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Verification is the result of calibrating a bank against its base.
type Verification struct {
	Bank       report.BankInfo    `json:"bank"`
	BaseCommit string             `json:"base_commit"`
	Runs       int                `json:"runs"`
	Tasks      []TaskVerification `json:"tasks"`
	// Combined are the grades of every task with all reference solutions
	// applied together; each must score full points.
	Combined []RunGrade `json:"combined"`
	// Problems are the bank-wide problems (references that do not apply
	// together, an exam not at 100% with all of them).
	Problems []string `json:"problems,omitempty"`
}

// OK reports whether every task and the combined reference passed.
func (v *Verification) OK() bool {
	for _, t := range v.Tasks {
		if len(t.Problems) > 0 {
			return false
		}
	}
	return len(v.Problems) == 0
}

// Verify calibrates a bank: it runs each task's hidden tests runs times
// against the untouched base, where they must score 0, and runs times with
// the task's reference solution applied, where they must score full
// points, exactly as grading runs them. Then it applies every reference
// together and grades that once: every exam must be at 100%. An error
// means verification could not be done; a bad task is in the result.
func (g *Grader) Verify(ctx context.Context, bank *tasks.Bank, sub Submission, runs int) (*Verification, error) {
	if runs <= 0 {
		runs = DefaultVerifyRuns
	}
	mirror, err := g.upstream(ctx, bank, sub)
	if err != nil {
		return nil, err
	}
	if mirror != nil {
		defer mirror.Close()
	}
	base, err := g.fetchBase(ctx, bank, sub, mirror)
	if err != nil {
		return nil, err
	}
	defer base.Close()
	req, err := imageRequest(bank, base)
	if err != nil {
		return nil, err
	}
	g.phase("preparing the sandbox image")
	img, err := g.Images.Prepare(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("prepare image: %w", err)
	}
	v := &Verification{Bank: report.BankInfo{Name: bank.Name, Digest: bank.Digest}, BaseCommit: base.Commit, Runs: runs}

	// All references together, applied in bank order.
	combined := repo.Files{}
	for _, t := range bank.Tasks {
		if err := repo.ApplyPatch(t.Reference, base.ReadFile, combined); err != nil {
			v.Problems = append(v.Problems, fmt.Sprintf("the reference of %s does not apply on top of the others: %v", t.ID, err))
		}
	}

	v.Tasks = make([]TaskVerification, len(bank.Tasks))
	v.Combined = make([]RunGrade, len(bank.Tasks))
	// The first error ends the verification: no task starts after it,
	// and the running ones are stopped.
	tctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	sem := make(chan struct{}, max(g.Jobs, 1))
	var wg sync.WaitGroup
	for i, t := range bank.Tasks {
		select {
		case sem <- struct{}{}:
		case <-tctx.Done():
		}
		if tctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if g.Progress != nil {
				g.Progress.TaskStarted(t)
			}
			tv, comb, err := g.verifyTask(tctx, t, base, img, runs, combined, len(v.Problems) == 0)
			if err != nil {
				stop(err)
				return
			}
			v.Tasks[i], v.Combined[i] = tv, comb
			if g.Progress != nil {
				st := report.Passed
				if len(tv.Problems) > 0 {
					st = report.Failed
				}
				g.Progress.TaskDone(report.TaskGrade{ID: t.ID, Status: st, Possible: t.Points, Points: t.Points * float64(btoi(st == report.Passed)), Duration: tv.Duration})
			}
		}()
	}
	wg.Wait()
	switch err := context.Cause(tctx); {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("verification interrupted: %w", context.Cause(ctx))
	case errors.Is(err, sandbox.ErrBackendDown):
		return nil, backendDown(err)
	case err != nil:
		return nil, err
	}
	if len(v.Problems) == 0 {
		results := make([]report.TaskGrade, len(bank.Tasks))
		for i, t := range bank.Tasks {
			results[i] = report.TaskGrade{ID: t.ID, Exam: t.Exam, Points: v.Combined[i].Points, Possible: t.Points, Status: v.Combined[i].Status}
			if v.Combined[i].Points != t.Points {
				v.Problems = append(v.Problems, fmt.Sprintf("with every reference applied, %s scores %g of %g: %s %s", t.ID, v.Combined[i].Points, t.Points, v.Combined[i].Status, v.Combined[i].Reason))
			}
		}
		for _, e := range report.Summarize(bank, results).Exams {
			if e.Tasks > 0 && e.Percent != 100 {
				v.Problems = append(v.Problems, fmt.Sprintf("with every reference applied, exam %s scores %g%%, not 100%%", e.Name, e.Percent))
			}
		}
	}
	return v, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// verifyTask runs one task on the base and on its reference, runs times
// each, and once on the combined references when withCombined.
func (g *Grader) verifyTask(ctx context.Context, t *tasks.Task, base *repo.Snapshot, img sandbox.Image, runs int, combined repo.Files, withCombined bool) (TaskVerification, RunGrade, error) {
	start := time.Now()
	tv := TaskVerification{ID: t.ID, Exam: t.Exam, Possible: t.Points}
	ov, err := overlayFor(t, base)
	if err != nil {
		return tv, RunGrade{}, err
	}
	grade := func(files repo.Files) (RunGrade, error) {
		tr, _, err := g.scoreOnce(ctx, t, base, ov.WithRestored(files), img, 0)
		if err != nil {
			return RunGrade{}, fmt.Errorf("task %s: %w", t.ID, err)
		}
		return RunGrade{Status: tr.Status, Points: tr.Points, Reason: tr.Reason}, nil
	}
	for range runs {
		rg, err := grade(nil)
		if err != nil {
			return tv, RunGrade{}, err
		}
		tv.Base = append(tv.Base, rg)
	}
	ref := repo.Files{}
	if err := repo.ApplyPatch(t.Reference, base.ReadFile, ref); err != nil {
		tv.Problems = append(tv.Problems, fmt.Sprintf("the reference does not apply to the base: %v", err))
	} else {
		for range runs {
			rg, err := grade(ref)
			if err != nil {
				return tv, RunGrade{}, err
			}
			tv.Reference = append(tv.Reference, rg)
		}
	}
	var comb RunGrade
	if withCombined {
		if comb, err = grade(combined); err != nil {
			return tv, RunGrade{}, err
		}
	}
	tv.Duration = time.Since(start)

	if varies(tv.Base) || varies(tv.Reference) {
		tv.Flaky = true
		tv.Problems = append(tv.Problems, fmt.Sprintf("flaky: the same code graded differently (base: %s; reference: %s)", summarizeRuns(tv.Base), summarizeRuns(tv.Reference)))
	}
	for _, rg := range tv.Base {
		if rg.Points > 0 || rg.Status == report.Passed {
			tv.Problems = append(tv.Problems, fmt.Sprintf("passes trivially: the untouched base scores %g of %g (%s)", rg.Points, t.Points, rg.Reason))
			break
		}
	}
	for _, rg := range tv.Reference {
		if rg.Points != t.Points || rg.Status != report.Passed {
			tv.Problems = append(tv.Problems, fmt.Sprintf("the reference fails: %s, %g of %g (%s)", rg.Status, rg.Points, t.Points, rg.Reason))
			break
		}
	}
	return tv, comb, nil
}

func varies(rs []RunGrade) bool {
	for _, r := range rs {
		if r.Status != rs[0].Status || r.Points != rs[0].Points {
			return true
		}
	}
	return false
}

// summarizeRuns writes runs as "failed 0 ×2, passed 2 ×1".
func summarizeRuns(rs []RunGrade) string {
	if len(rs) == 0 {
		return "not run"
	}
	type key struct {
		s report.Status
		p float64
	}
	var order []key
	count := map[key]int{}
	for _, r := range rs {
		k := key{r.Status, r.Points}
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprintf("%s %g ×%d", k.s, k.p, count[k])
	}
	return strings.Join(parts, ", ")
}

// WriteText writes the verification as a table, one row per task, then
// the problems, each naming its task. Problems quote the runs' failure
// reasons, which quote test and compiler output; they are escaped.
func (v *Verification) WriteText(w io.Writer) error {
	ew := bufio.NewWriter(w)
	fmt.Fprintf(ew, "Bank %s (%s) against base %s, %d runs per side\n\n", escape.Line(v.Bank.Name), escape.Short(v.Bank.Digest), escape.Line(v.BaseCommit), v.Runs)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tBASE\tREFERENCE\tALL REFERENCES\tFLAKY\tTIME\tRESULT")
	for i, t := range v.Tasks {
		result := "ok"
		if len(t.Problems) > 0 {
			result = "BROKEN"
		}
		comb := "-"
		if i < len(v.Combined) && v.Combined[i].Status != "" {
			comb = fmt.Sprintf("%s %g", v.Combined[i].Status, v.Combined[i].Points)
		}
		flaky := "no"
		if t.Flaky {
			flaky = "YES"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", escape.Line(t.ID), summarizeRuns(t.Base), summarizeRuns(t.Reference), comb, flaky, t.Duration.Round(100*time.Millisecond), result)
	}
	tw.Flush()
	var problems []string
	for _, t := range v.Tasks {
		for _, p := range t.Problems {
			problems = append(problems, t.ID+": "+p)
		}
	}
	problems = append(problems, v.Problems...)
	if len(problems) == 0 {
		fmt.Fprintf(ew, "\nAll %d tasks are calibrated: 0 on the base, full points with their reference, all references together pass every exam.\n", len(v.Tasks))
		return ew.Flush()
	}
	fmt.Fprintf(ew, "\n%d problems:\n", len(problems))
	for _, p := range problems {
		fmt.Fprintf(ew, "  %s\n", escape.OneLine(p, 300))
	}
	return ew.Flush()
}
