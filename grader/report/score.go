package report

import (
	"cmp"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/testout"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// Status is a task's grading outcome.
type Status string

// The task statuses. Every one but NotGradable and NotGraded describes
// what the candidate's code did; NotGradable means the grader failed,
// NotGraded that the grading was interrupted before the task had a
// result. Neither is ever scored as a zero.
const (
	Passed      Status = "passed"
	Failed      Status = "failed"
	BuildFailed Status = "build failed"
	TimedOut    Status = "timed out"
	OutOfMemory Status = "out of memory"
	NotGradable Status = "not gradable"
	NotGraded   Status = "not graded"
)

// TestOutcome is one hidden test's outcome in a task result.
type TestOutcome struct {
	Name    string         `json:"name"`
	Status  testout.Status `json:"status"`
	Elapsed time.Duration  `json:"elapsed_ns"`
	// Missing says the test never reported a result (counted as failed).
	Missing bool   `json:"missing,omitempty"`
	Output  string `json:"output,omitempty"`
}

// TaskGrade is one task's grade.
type TaskGrade struct {
	ID       string        `json:"id"`
	Exam     string        `json:"exam"`
	Title    string        `json:"title"`
	Status   Status        `json:"status"`
	Points   float64       `json:"points"`
	Possible float64       `json:"possible"`
	Reason   string        `json:"reason,omitempty"`
	Tests    []TestOutcome `json:"tests"`
	Attempts int           `json:"attempts"`
	// Path says how the result was obtained: PathAlone or PathCombined.
	Path      string        `json:"path,omitempty"`
	Duration  time.Duration `json:"duration_ns"`
	ExitCode  int           `json:"exit_code"`
	Truncated bool          `json:"output_truncated,omitempty"`
	// Forged says the run's output was not the hidden tests' own (see
	// Outcome.Forged); the task earns nothing and the report flags it.
	Forged bool `json:"forged,omitempty"`
	// Flaky says a second run of the failed task gave another result
	// (Grader.Recheck); the exam's verdict is then INCOMPLETE until a
	// proctor decides.
	Flaky   bool         `json:"flaky,omitempty"`
	Recheck *RecheckInfo `json:"recheck,omitempty"`
	// Hold, when set, says the task's tests reach flagged candidate code:
	// the exam's verdict is INCOMPLETE until a proctor decides.
	Hold      *Hold          `json:"hold,omitempty"`
	Workspace *WorkspaceInfo `json:"workspace,omitempty"`
}

// RecheckInfo is the second run's grade of a flaky task.
type RecheckInfo struct {
	Status Status  `json:"status"`
	Points float64 `json:"points"`
	Reason string  `json:"reason,omitempty"`
}

// WorkspaceInfo summarises the workspace a task ran in.
type WorkspaceInfo struct {
	Files   int      `json:"files"`
	Bytes   int64    `json:"bytes"`
	Skipped []string `json:"skipped,omitempty"`
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// ExamScore is one exam's score.
type ExamScore struct {
	Name      string  `json:"name"`
	Points    float64 `json:"points"`
	Possible  float64 `json:"possible"`
	Percent   float64 `json:"percent"`
	Threshold float64 `json:"threshold"`
	// Verdict is PASS or FAIL; INCOMPLETE when a task was not gradable
	// or not graded, flaky or held for review; NOT IN BANK when no task
	// of the exam was graded (a bank, form or --task for other exams).
	Verdict Verdict `json:"verdict"`
	// Tasks is the number of tasks in the exam.
	Tasks int `json:"tasks"`
}

// Verdict is the outcome of an exam or of the certification.
type Verdict string

// The verdicts of an exam and of the certification.
const (
	Pass Verdict = "PASS"
	Fail Verdict = "FAIL"
	// Incomplete: the grader could not decide (a task not gradable, not
	// graded, flaky or held for review): grade again or review.
	Incomplete Verdict = "INCOMPLETE"
	// NotInBank: of an exam, no task of it was graded.
	NotInBank Verdict = "NOT IN BANK"
	// Partial: of the certification, every exam graded passed, but not
	// every exam was graded: this report cannot certify.
	Partial Verdict = "PARTIAL"
)

// Summary is the exam scores and the certification verdict.
type Summary struct {
	Exams []ExamScore `json:"exams"`
	// Overall is the mean of the percentages of the exams graded (of the
	// five, each weighs 20%, when all were).
	Overall float64 `json:"overall_percent"`
	// Verdict is PASS only when every exam was graded and passed;
	// INCOMPLETE whenever a task was not graded (an interrupted grading
	// decides nothing); else FAIL when an exam failed; else INCOMPLETE
	// when an exam graded could not be decided; else PARTIAL when some
	// exam was not graded.
	Verdict Verdict `json:"verdict"`
}

// Summarize computes exam scores and the composite verdict.
func Summarize(b *tasks.Bank, results []TaskGrade) Summary {
	var s Summary
	allPass, incomplete, partial, notInBank := true, false, false, false
	graded := 0
	for _, ex := range b.Exams {
		er := ExamScore{Name: ex.Name, Threshold: ex.Threshold}
		gradable := true
		for _, r := range results {
			if r.Exam != ex.Name {
				continue
			}
			er.Tasks++
			er.Points += r.Points
			er.Possible += r.Possible
			if r.Status == NotGradable || r.Status == NotGraded || r.Flaky || r.Hold.pending() {
				gradable = false
			}
			partial = partial || r.Status == NotGraded
		}
		er.Points = round2(er.Points)
		if er.Possible > 0 {
			er.Percent = round2(100 * er.Points / er.Possible)
		}
		switch {
		case er.Tasks == 0:
			er.Verdict = NotInBank
			notInBank = true
		case !gradable:
			er.Verdict = Incomplete
			incomplete = true
		case er.Possible > 0 && er.Percent+1e-9 >= ex.Threshold:
			er.Verdict = Pass
		default:
			er.Verdict = Fail
			allPass = false
		}
		if er.Tasks > 0 {
			s.Overall += er.Percent
			graded++
		}
		s.Exams = append(s.Exams, er)
	}
	if graded > 0 {
		s.Overall = round2(s.Overall / float64(graded))
	}
	switch {
	case partial:
		s.Verdict = Incomplete
	case !allPass:
		s.Verdict = Fail
	case incomplete:
		s.Verdict = Incomplete
	case notInBank || graded == 0:
		s.Verdict = Partial
	default:
		s.Verdict = Pass
	}
	return s
}

// GradedExams names the exams the summary graded (a task of which was
// graded), in order.
func (s *Summary) GradedExams() []string {
	var out []string
	for _, ex := range s.Exams {
		if ex.Verdict != NotInBank {
			out = append(out, ex.Name)
		}
	}
	return out
}

// examVerdict is an exam's name and verdict, for the summary lines.
type examVerdict struct {
	name    string
	verdict Verdict
}

// overallLine and certificationLine say what the verdict covers.
func overallLine(exams []examVerdict, overall float64) string {
	graded := 0
	for _, ex := range exams {
		if ex.verdict != NotInBank {
			graded++
		}
	}
	if graded == len(exams) {
		return fmt.Sprintf("Overall: %.1f%% (each exam weighs %.0f%%)", overall, 100/float64(max(len(exams), 1)))
	}
	return fmt.Sprintf("Overall: %.1f%% of the %d exams graded (of %d)", overall, graded, len(exams))
}

func certificationLine(exams []examVerdict, v Verdict) string {
	if v != Partial {
		return "Certification: " + string(v)
	}
	var names []string
	for _, ex := range exams {
		if ex.verdict != NotInBank {
			names = append(names, ex.name)
		}
	}
	if len(names) == 0 {
		return "Certification: PARTIAL (no exam was graded)"
	}
	return fmt.Sprintf("Certification: PARTIAL (%d of %d exams graded, all passed: %s; the others are not in this bank)",
		len(names), len(exams), strings.Join(names, ", "))
}

// Outcome is what one sandbox run of a task produced, before scoring.
type Outcome struct {
	// Run is the sandbox's result.
	Run sandbox.Result
	// Results are the parsed test results from the captured stdout.
	Results *testout.Results
	// Unfinished says the run did not reach its end with the hidden tests'
	// own output (the grader's canary test never attested it): no pass it
	// reported counts.
	Unfinished bool
	// Forged says, beyond Unfinished, that the output claimed hidden tests
	// passed and failed none, and the run was not killed: the results were
	// made up.
	Forged bool
	// Mismatch, when set, says how the output disagreed with how the test
	// processes ended, as the sandbox's supervisor saw them (it makes the
	// run Unfinished).
	Mismatch string
}

// Score turns one task's outcome into its grade. It is a pure function
// of the task spec and the outcome.
func Score(t *tasks.Task, o Outcome) TaskGrade {
	tr := TaskGrade{
		ID:        t.ID,
		Exam:      t.Exam,
		Title:     t.Title,
		Possible:  t.Points,
		Duration:  o.Run.Duration,
		ExitCode:  o.Run.ExitCode,
		Truncated: o.Run.StdoutTruncated || o.Run.StderrTruncated,
	}
	res := o.Results
	if res == nil {
		res = &testout.Results{}
	}
	if o.Unfinished {
		// Passes of a run that did not reach its end are not counted.
		cp := *res
		cp.Tests = make([]testout.Test, len(res.Tests))
		for i, r := range res.Tests {
			if r.Status == testout.Pass {
				r.Status, r.Output = testout.Fail, "reported passing, but the run did not reach its end: not counted"
			}
			cp.Tests[i] = r
		}
		res = &cp
	}
	// The last report of a name wins; go test never reports a test twice
	// in one run, so a repeat means forged output and must not help.
	reported := make(map[string]testout.Test, len(res.Tests))
	seen := make(map[string]int, len(res.Tests))
	for _, r := range res.Tests {
		seen[r.Name]++
		if prev, ok := reported[r.Name]; ok && prev.Status != testout.Pass {
			continue // a failure is never overwritten by a later pass
		}
		reported[r.Name] = r
	}
	passed := 0
	for _, name := range t.Tests {
		r, ok := reported[name]
		oc := TestOutcome{Name: name, Status: testout.Fail, Missing: !ok}
		if ok {
			oc.Status, oc.Elapsed, oc.Output = r.Status, r.Elapsed, r.Output
			if seen[name] > 1 && r.Status == testout.Pass {
				oc.Status = testout.Fail
				oc.Output = "reported more than once: counted as failed"
			}
		}
		if oc.Status == testout.Pass {
			passed++
		}
		tr.Tests = append(tr.Tests, oc)
	}
	total := len(t.Tests)
	switch {
	case passed == total && total > 0 && !o.Run.TimedOut && !o.Run.OOMKilled:
		tr.Points = t.Points
	case t.Scoring == tasks.Partial && total > 0:
		tr.Points = round2(t.Points * float64(passed) / float64(total))
	}

	failed := total - passed
	switch {
	case o.Forged && o.Mismatch != "":
		tr.Status = Failed
		tr.Forged = true
		tr.Reason = "forged results: the output claimed the hidden tests passed; " + o.Mismatch
	case o.Forged:
		tr.Status = Failed
		tr.Forged = true
		tr.Reason = "forged results: the output claimed the hidden tests passed, but the grader's check test did not confirm the run (it stopped early, or the test flags or framework were tampered with)"
	case o.Run.TimedOut:
		tr.Status = TimedOut
		tr.Reason = fmt.Sprintf("killed after %s (task timeout %s)", o.Run.Duration.Round(time.Second), t.Timeout)
	case o.Run.OOMKilled:
		tr.Status = OutOfMemory
		tr.Reason = "killed for exceeding the sandbox memory limit"
	case failed == 0:
		tr.Status = Passed
		tr.Reason = fmt.Sprintf("%d of %d tests passed", passed, total)
	case res.BuildFailed && passed == 0:
		tr.Status = BuildFailed
		tr.Reason = cmp.Or(res.FirstError(), "the code did not compile")
	default:
		tr.Status = Failed
		tr.Reason = failReason(tr.Tests, failed, total)
		switch {
		case o.Mismatch != "":
			tr.Reason += "; " + o.Mismatch + ", so no pass was counted"
		case o.Unfinished:
			tr.Reason += "; the grader's check test did not confirm the run (a crash, an exit, or tampering), so no pass was counted"
		}
	}
	return tr
}

func failReason(tests []TestOutcome, failed, total int) string {
	var missing []string
	for _, t := range tests {
		if t.Missing {
			missing = append(missing, t.Name)
		}
	}
	s := fmt.Sprintf("%d of %d tests failed", failed, total)
	if len(missing) > 0 {
		s += fmt.Sprintf("; %d never reported a result", len(missing))
	}
	return s
}
