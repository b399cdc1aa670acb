package publish

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/escape"
)

// GitHub's limits on what a check run or a commit status holds.
const (
	// MaxSummary bounds a check run output's summary (and text), in
	// characters.
	MaxSummary = 65535
	// MaxDescription bounds a commit status's description.
	MaxDescription = 140
)

// truncatedMarker ends a summary cut to MaxSummary.
const truncatedMarker = "\n\n… (cut here: GitHub holds at most 65,535 characters; ask your proctor for the whole result)"

// Conclusions of a completed check run, and states of a commit status.
const (
	conclusionSuccess = "success"
	conclusionFailure = "failure"
	conclusionNeutral = "neutral"

	statePending = "pending"
	stateSuccess = "success"
	stateFailure = "failure"
	stateError   = "error"
)

// What a push that can never be graded shows on its commit. It says
// nothing of why: the reason may name the grader's paths or hidden tests.
const (
	failedTitle   = "Could not be graded"
	failedSummary = "This commit could not be graded; proctors have been told. " +
		"Nothing is needed from you: a proctor looks into it, and pushing again does no harm."
	failedDescribe = "Could not be graded; proctors have been told"
)

// result is what a completed grading shows on the commit.
type result struct {
	conclusion string // of the check run
	state      string // of the commit status
	title      string // the check run's title
	summary    string // its summary (markdown), at most MaxSummary characters
	describe   string // the commit status's description, at most MaxDescription
}

// resultOf renders the candidate view c. Success is a certification PASS;
// neutral is an INCOMPLETE verdict or a task the proctor reviews (held,
// flaky, not gradable), whatever the rest; failure otherwise.
func resultOf(c *report.CandidateReport) result {
	pending := c.Verdict == report.Incomplete
	for _, ex := range c.Exams {
		if slices.ContainsFunc(ex.Tasks, func(t report.CandidateTask) bool { return t.Result == report.ResultPending }) {
			pending = true
		}
	}
	r := result{}
	switch {
	case pending:
		r.conclusion, r.state = conclusionNeutral, statePending
		r.title = fmt.Sprintf("Awaiting a proctor's review: %.1f%% so far", c.Overall)
		r.describe = fmt.Sprintf("Graded %.1f%%; a task awaits a proctor's review", c.Overall)
	case c.Verdict == report.Pass:
		r.conclusion, r.state = conclusionSuccess, stateSuccess
		r.title = fmt.Sprintf("Certification PASS: %.1f%%", c.Overall)
		r.describe = fmt.Sprintf("Certification PASS: %.1f%%", c.Overall)
	default:
		r.conclusion, r.state = conclusionFailure, stateFailure
		r.title = fmt.Sprintf("Certification %s: %.1f%%", c.Verdict, c.Overall)
		r.describe = fmt.Sprintf("Certification %s: %.1f%%", c.Verdict, c.Overall)
	}
	r.describe = clip(r.describe, MaxDescription, "…")
	r.summary = clip(summaryOf(c), MaxSummary, truncatedMarker)
	return r
}

// summaryOf writes the candidate view as markdown: the verdict, a table of
// the exams, then each exam's tasks by title.
func summaryOf(c *report.CandidateReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Certification: %s**, overall %.1f%% (every exam must pass)\n\n", c.Verdict, c.Overall)
	b.WriteString("| Exam | Points | Score | Pass mark | Result |\n|---|---:|---:|---:|---|\n")
	for _, ex := range c.Exams {
		if len(ex.Tasks) == 0 {
			fmt.Fprintf(&b, "| %s | | | | not in this bank |\n", md(ex.Name))
			continue
		}
		fmt.Fprintf(&b, "| %s | %g/%g | %.1f%% | %g%% | %s |\n", md(ex.Name), ex.Points, ex.Possible, ex.Percent, ex.Threshold, ex.Verdict)
	}
	for _, ex := range c.Exams {
		if len(ex.Tasks) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s: %g/%g points, %s\n\n", md(strings.ToUpper(ex.Name)), ex.Points, ex.Possible, ex.Verdict)
		for _, t := range ex.Tasks {
			fmt.Fprintf(&b, "- %s %s: %g/%g\n", mark(t.Result), md(t.Title), t.Points, t.Possible)
		}
	}
	for _, ex := range c.Exams {
		if slices.ContainsFunc(ex.Tasks, func(t report.CandidateTask) bool { return t.Result == report.ResultPending }) {
			b.WriteString("\nA task marked pending could not be decided by the grader; your proctor reviews it.\n")
			break
		}
	}
	return b.String()
}

func mark(r report.CandidateResult) string {
	switch r {
	case report.ResultPass:
		return "pass"
	case report.ResultFail:
		return "**fail**"
	}
	return "_pending_"
}

// md makes s one line of markdown text: controls escaped, and the
// characters markdown or HTML act on backslash-escaped.
func md(s string) string {
	s = escape.OneLine(s, 200)
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_{}[]()<>#+-.!|~&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// clip cuts s to at most max characters on a rune boundary, ending it
// with marker when it cut.
func clip(s string, max int, marker string) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	keep := max - utf8.RuneCountInString(marker)
	i, n := 0, 0
	for n < keep {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return s[:i] + marker
}
