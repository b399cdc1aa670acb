package cohort

import (
	"bytes"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/escape"
	"github.com/cmcgrader/cmcgrader/internal/jsonout"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// ExportOptions says what an export holds. The zero value exports every
// candidate without personal data, with the five exams of tasks.Exams.
type ExportOptions struct {
	// IncludePersonal adds each candidate's name and email; they are left
	// out unless asked for.
	IncludePersonal bool
	// Bank, when set, fixes the exams (the columns of the CSV and of the
	// HTML table) and the tasks of the item analysis; nil means
	// tasks.Exams and the tasks the reports name (see Analyse). The JUnit
	// XML follows each report's own exams.
	Bank *tasks.Bank
}

// exams returns the names of the exams an export has columns for.
func (o ExportOptions) exams() []string {
	if o.Bank == nil {
		return slices.Clone(tasks.Exams)
	}
	names := make([]string, len(o.Bank.Exams))
	for i, e := range o.Bank.Exams {
		names[i] = e.Name
	}
	return names
}

// repo and branch are the candidate's, from the roster, or else the
// report's.
func (e Entry) repo() string {
	if e.Candidate.Repo == "" && e.Report != nil {
		return e.Report.Repository
	}
	return e.Candidate.Repo
}

func (e Entry) branch() string {
	if e.Candidate.Branch == "" && e.Report != nil {
		return e.Report.Branch
	}
	return e.Candidate.Branch
}

// heldCount counts a report's tasks held waiting for a proctor's decision.
func heldCount(r *report.Report) int {
	n := 0
	for _, t := range r.Tasks {
		if held(t) {
			n++
		}
	}
	return n
}

// examScore returns the report's score of the named exam.
func examScore(r *report.Report, name string) (report.ExamScore, bool) {
	for _, s := range r.Exams {
		if s.Name == name {
			return s, true
		}
	}
	return report.ExamScore{}, false
}

// number writes a score as the shortest decimal that reads back the same.
func number(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// rate writes a rate of 0 to 1 as a whole percent.
func rate(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + "%" }

// timestamp writes a time in RFC 3339, UTC; the zero time is empty.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// WriteCSV writes one row per candidate, after a header row, as RFC 4180
// CSV (CRLF line ends, UTF-8): the candidate's id, name and email (with
// IncludePersonal), repository and branch; the commit graded; per exam
// its percent and verdict; the overall percent and the certification
// verdict; the number of tampering findings and of tasks held for review;
// and when the grading finished. docs/cohort.md lists the columns. A cell
// that a spreadsheet would read as a formula is neutralised (see
// neutralise), whoever wrote it.
func WriteCSV(w io.Writer, entries []Entry, opts ExportOptions) error {
	exams := opts.exams()
	header := []string{"id"}
	if opts.IncludePersonal {
		header = append(header, "name", "email")
	}
	header = append(header, "repo", "branch", "commit")
	for _, ex := range exams {
		header = append(header, ex+"_percent", ex+"_verdict")
	}
	header = append(header, "overall_percent", "verdict", "flags", "held", "graded_at")

	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(neutraliseAll(header)); err != nil {
		return err
	}
	for _, e := range entries {
		row := []string{e.Candidate.ID}
		if opts.IncludePersonal {
			row = append(row, e.Candidate.Name, e.Candidate.Email)
		}
		row = append(row, e.repo(), e.branch())
		r := e.Report
		if r == nil {
			// Not graded: the roster's columns only.
			row = append(row, make([]string, len(header)-len(row))...)
			if err := cw.Write(neutraliseAll(row)); err != nil {
				return err
			}
			continue
		}
		row = append(row, r.Commit)
		for _, ex := range exams {
			s, ok := examScore(r, ex)
			switch {
			case !ok:
				row = append(row, "", "")
			case s.Tasks == 0:
				row = append(row, "", string(s.Verdict))
			default:
				row = append(row, number(s.Percent), string(s.Verdict))
			}
		}
		row = append(row, number(r.Overall), string(r.Verdict),
			strconv.Itoa(len(r.Tampering)), strconv.Itoa(heldCount(r)), timestamp(r.FinishedAt))
		if err := cw.Write(neutraliseAll(row)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// neutralise keeps a spreadsheet from reading a cell as a formula: a cell
// that starts with = + - @, a tab or a carriage return, or with spaces
// and then one of = + - @, gets a single quote in front, which
// spreadsheets show as text and do not evaluate. Other cells are kept as
// they are.
func neutralise(s string) string {
	if s == "" {
		return s
	}
	if s[0] == '\t' || s[0] == '\r' {
		return "'" + s
	}
	if t := strings.TrimLeft(s, " "); t != "" && strings.IndexByte("=+-@", t[0]) >= 0 {
		return "'" + s
	}
	return s
}

func neutraliseAll(row []string) []string {
	for i, s := range row {
		row[i] = neutralise(s)
	}
	return row
}

// ExportVersion is the version of the JSON export's shape. It changes
// when a field is removed or changes meaning; new fields may appear in
// any version.
const ExportVersion = 1

// Export is the JSON export of a cohort (docs/cohort.md).
type Export struct {
	Version int `json:"version"`
	// Exams are the exams of the export, in order.
	Exams []string `json:"exams"`
	// Candidates are in entry order.
	Candidates []ExportCandidate `json:"candidates"`
	// Analysis is the item analysis of the cohort.
	Analysis *Analysis `json:"analysis"`
}

// ExportCandidate is one candidate of the JSON export.
type ExportCandidate struct {
	ID string `json:"id"`
	// Name and Email are set only with IncludePersonal.
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
	Repo   string `json:"repo"`
	Branch string `json:"branch"`
	// Result is nil when the candidate has no report.
	Result *ExportResult `json:"result"`
}

// ExportResult is what a candidate's report says, in short.
type ExportResult struct {
	Commit   string             `json:"commit"`
	GradedAt time.Time          `json:"graded_at"`
	Exams    []report.ExamScore `json:"exams"`
	Overall  float64            `json:"overall_percent"`
	Verdict  report.Verdict     `json:"verdict"`
	// Interrupted says the grading stopped before every task had a result.
	Interrupted bool `json:"interrupted,omitempty"`
	// Flags counts the tampering findings; Held, the tasks held for review.
	Flags int          `json:"flags"`
	Held  int          `json:"held"`
	Tasks []ExportTask `json:"tasks"`
}

// ExportTask is one task's grade in the JSON export.
type ExportTask struct {
	ID       string        `json:"id"`
	Exam     string        `json:"exam"`
	Status   report.Status `json:"status"`
	Points   float64       `json:"points"`
	Possible float64       `json:"possible"`
	// Counts says the result counts in the item analysis (see Counts).
	Counts bool `json:"counts"`
	Flaky  bool `json:"flaky,omitempty"`
	// Held says the task waits for a proctor's decision.
	Held bool `json:"held,omitempty"`
}

// NewExport builds the JSON export of a cohort.
func NewExport(entries []Entry, opts ExportOptions) *Export {
	x := &Export{
		Version:    ExportVersion,
		Exams:      opts.exams(),
		Candidates: make([]ExportCandidate, 0, len(entries)),
		Analysis:   Analyse(opts.Bank, entries),
	}
	for _, e := range entries {
		c := ExportCandidate{ID: e.Candidate.ID, Repo: e.repo(), Branch: e.branch()}
		if opts.IncludePersonal {
			c.Name, c.Email = e.Candidate.Name, e.Candidate.Email
		}
		if r := e.Report; r != nil {
			res := &ExportResult{
				Commit:      r.Commit,
				GradedAt:    r.FinishedAt.UTC(),
				Exams:       r.Exams,
				Overall:     r.Overall,
				Verdict:     r.Verdict,
				Interrupted: r.Interrupted,
				Flags:       len(r.Tampering),
				Held:        heldCount(r),
				Tasks:       make([]ExportTask, 0, len(r.Tasks)),
			}
			if res.Exams == nil {
				res.Exams = []report.ExamScore{}
			}
			for _, t := range r.Tasks {
				res.Tasks = append(res.Tasks, ExportTask{
					ID: t.ID, Exam: t.Exam, Status: t.Status, Points: t.Points, Possible: t.Possible,
					Counts: Counts(t), Flaky: t.Flaky, Held: held(t),
				})
			}
			c.Result = res
		}
		x.Candidates = append(x.Candidates, c)
	}
	return x
}

// WriteJSON writes the JSON export of a cohort (NewExport), indented, with
// the characters a terminal could act on written as \u escapes (see
// escape.JSON), so the file can be shown as it is.
func WriteJSON(w io.Writer, entries []Entry, opts ExportOptions) error {
	var buf bytes.Buffer
	if err := jsonout.Write(&buf, NewExport(entries, opts)); err != nil {
		return err
	}
	_, err := w.Write(escape.JSON(buf.Bytes()))
	return err
}
