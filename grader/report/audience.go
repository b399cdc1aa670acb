package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/cmcgrader/cmcgrader/internal/escape"
	"github.com/cmcgrader/cmcgrader/internal/jsonout"
)

// The audiences a report is rendered for (grade --audience).
const (
	// AudienceProctor sees the whole report.
	AudienceProctor = "proctor"
	// AudienceCandidate sees CandidateReport: scores and titles only.
	AudienceCandidate = "candidate"
)

// CandidateReportVersion is the version of the candidate report's JSON
// shape, with the same rules as ReportVersion.
const CandidateReportVersion = 1

// CandidateResult is what a candidate sees of a task's result.
type CandidateResult string

// The results a candidate sees for a task.
const (
	// ResultPass: every hidden test passed.
	ResultPass CandidateResult = "pass"
	// ResultFail: the task earned less than its points (it may still earn
	// part of them, when it gives partial credit).
	ResultFail CandidateResult = "fail"
	// ResultPending: the grader could not decide the task (not gradable,
	// not graded, or a second run disagreed); the proctor reviews it.
	ResultPending CandidateResult = "pending"
)

// CandidateReport is what a candidate may see of a report: the graded
// commit, each exam's score and verdict, and for each task its title,
// points and whether it passed. It holds no task id, hidden test name,
// test output, failure reason (they quote test output and hidden paths),
// image, bank digest or tampering finding.
type CandidateReport struct {
	Version    int       `json:"version"`
	Repository string    `json:"repository"`
	Branch     string    `json:"branch,omitempty"`
	Commit     string    `json:"commit"`
	Form       *FormInfo `json:"form,omitempty"`
	// Exams holds every exam, in report order.
	Exams []CandidateExam `json:"exams"`
	// Overall and Verdict are the report's.
	Overall float64 `json:"overall_percent"`
	Verdict Verdict `json:"verdict"`
}

// CandidateExam is one exam's score as a candidate sees it.
type CandidateExam struct {
	Name      string  `json:"name"`
	Points    float64 `json:"points"`
	Possible  float64 `json:"possible"`
	Percent   float64 `json:"percent"`
	Threshold float64 `json:"threshold"`
	Verdict   Verdict `json:"verdict"`
	// Tasks are the exam's graded tasks; none when the exam was not
	// graded.
	Tasks []CandidateTask `json:"tasks"`
}

// CandidateTask is one task's grade as a candidate sees it.
type CandidateTask struct {
	Title    string  `json:"title"`
	Points   float64 `json:"points"`
	Possible float64 `json:"possible"`
	// Result is ResultPass, ResultFail or ResultPending.
	Result CandidateResult `json:"result"`
}

// ForCandidate returns the candidate's view of the report. It copies
// fields one by one, so a field added to Report later stays out of it
// until someone decides a candidate may see it.
func (r *Report) ForCandidate() *CandidateReport {
	c := &CandidateReport{
		Version:    CandidateReportVersion,
		Repository: r.Repository,
		Branch:     r.Branch,
		Commit:     r.Commit,
		Overall:    r.Overall,
		Verdict:    r.Verdict,
	}
	if r.Form != nil {
		f := *r.Form
		c.Form = &f
	}
	for _, ex := range r.Exams {
		ce := CandidateExam{
			Name: ex.Name, Points: ex.Points, Possible: ex.Possible,
			Percent: ex.Percent, Threshold: ex.Threshold, Verdict: ex.Verdict,
			Tasks: []CandidateTask{},
		}
		for _, t := range r.Tasks {
			if t.Exam == ex.Name {
				ce.Tasks = append(ce.Tasks, CandidateTask{
					Title: t.Title, Points: t.Points, Possible: t.Possible, Result: candidateResult(t),
				})
			}
		}
		c.Exams = append(c.Exams, ce)
	}
	return c
}

func candidateResult(t TaskGrade) CandidateResult {
	switch {
	case t.Status == NotGradable || t.Status == NotGraded || t.Flaky || t.Hold.pending():
		return ResultPending
	case t.Status == Passed:
		return ResultPass
	default:
		return ResultFail
	}
}

// WriteJSON writes the candidate report as indented JSON.
func (c *CandidateReport) WriteJSON(w io.Writer) error {
	return jsonout.Write(w, c)
}

// WriteText writes the candidate report for reading: one block per exam
// with its tasks' titles, results and points, then the overall score and
// the certification verdict. Like Report.WriteText, it escapes what may
// come from the candidate.
func (c *CandidateReport) WriteText(w io.Writer) error {
	ew := bufio.NewWriter(w)
	if c.Form != nil {
		fmt.Fprintf(ew, "Candidate:  %s, attempt %d\n", escape.OneLine(c.Form.Candidate, 130), c.Form.Attempt)
	}
	fmt.Fprintf(ew, "Repository: %s\n", escape.Line(c.Repository))
	if c.Branch != "" {
		fmt.Fprintf(ew, "Branch:     %s\n", escape.Line(c.Branch))
	}
	fmt.Fprintf(ew, "Commit:     %s\n", escape.Line(c.Commit))
	fmt.Fprintln(ew)
	for _, ex := range c.Exams {
		if len(ex.Tasks) == 0 {
			fmt.Fprintf(ew, "%s  not in this bank\n\n", strings.ToUpper(ex.Name))
			continue
		}
		fmt.Fprintf(ew, "%s  %g/%g points  %.1f%%  %s (pass mark %g%%)\n",
			strings.ToUpper(ex.Name), ex.Points, ex.Possible, ex.Percent, ex.Verdict, ex.Threshold)
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		for _, t := range ex.Tasks {
			fmt.Fprintf(tw, "  %s\t%s\t%g/%g\n", escape.OneLine(t.Title, 80), t.Result, t.Points, t.Possible)
		}
		tw.Flush()
		fmt.Fprintln(ew)
	}
	var evs []examVerdict
	for _, ex := range c.Exams {
		evs = append(evs, examVerdict{ex.Name, ex.Verdict})
	}
	fmt.Fprintln(ew, overallLine(evs, c.Overall))
	fmt.Fprintln(ew, certificationLine(evs, c.Verdict))
	for _, ex := range c.Exams {
		if slices.ContainsFunc(ex.Tasks, func(t CandidateTask) bool { return t.Result == ResultPending }) {
			fmt.Fprintln(ew, "A task marked pending could not be decided by the grader; your proctor reviews it.")
			break
		}
	}
	return ew.Flush()
}
