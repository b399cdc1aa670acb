package cohort

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/escape"
)

//go:embed html.tmpl
var htmlSource string

var htmlPage = template.Must(template.New("cohort").Parse(htmlSource))

// The view of the HTML page: every string in it is ready to show, and
// html/template escapes it again for its place in the page.
type (
	htmlView struct {
		Personal   bool
		Exams      []string
		Candidates int
		Graded     int
		Certified  int
		Failed     int
		Incomplete int
		Rows       []htmlRow
		Analysis   htmlAnalysis
	}
	// htmlAnalysis is the exams' distributions and the item analysis,
	// a part of the page of its own (AnalysisHTML).
	htmlAnalysis struct {
		ExamStats  []htmlExam
		Tasks      []htmlTask
		Thresholds htmlThresholds
	}
	htmlRow struct {
		ID, Name, Email, Commit string
		Graded                  bool
		Cells                   []htmlCell
		Overall                 string
		Verdict                 htmlCell
		Flags, Held             int
	}
	htmlCell struct {
		Percent, Verdict string
		// Class is one of pass, fail, incomplete or empty.
		Class string
	}
	htmlExam struct {
		Name                        string
		Decided, Passed, Incomplete int
		PassRate, Mean, Threshold   string
		Histogram                   htmlHistogram
	}
	htmlTask struct {
		ID, Exam, Title                   string
		Possible                          string
		Graded, Excluded                  int
		PassRate, MeanPoints, MeanPercent string
		Discrimination                    string
		Flags                             []string
	}
	htmlThresholds struct {
		MinCandidates                           int
		EasyAbove, HardBelow, LowDiscrimination string
	}
	// htmlHistogram is an exam's score distribution as an SVG bar chart.
	htmlHistogram struct {
		Width, Height int
		Label         string
		Bars          []htmlBar
		// Base is the y of the axis; Mark the x of the pass mark.
		Base, Mark int
		Ticks      []htmlTick
	}
	htmlBar struct {
		X, Y, W, H int
		// TextX, TextY place the count above the bar.
		TextX, TextY int
		Count        int
		Title        string
	}
	htmlTick struct {
		X     int
		Label string
	}
)

// The geometry of a histogram, in SVG user units.
const (
	histLeft    = 12  // space before the first bar
	histSlot    = 32  // width of a bin
	histBar     = 26  // width of a bar
	histBase    = 100 // y of the axis
	histTallest = 80  // height of the tallest bar
)

// histogram draws the bins of an exam's distribution.
func histogram(es ExamStats) htmlHistogram {
	h := htmlHistogram{
		Width:  histLeft*2 + histSlot*len(es.Histogram),
		Height: histBase + 20,
		Base:   histBase,
		Mark:   histLeft + int(math.Round(es.Threshold/100*histSlot*float64(len(es.Histogram)))),
		Label:  fmt.Sprintf("%s: exam percent of %d decided candidate(s), in bins of 10%%; the dashed line is the pass mark, %s%%", es.Name, es.Decided, number(es.Threshold)),
	}
	tallest := 0
	for _, n := range es.Histogram {
		tallest = max(tallest, n)
	}
	for i, n := range es.Histogram {
		height := 0
		if tallest > 0 && n > 0 {
			height = max(2, int(math.Round(float64(n)*histTallest/float64(tallest))))
		}
		x := histLeft + i*histSlot + (histSlot-histBar)/2
		hi := "<"
		if i == len(es.Histogram)-1 {
			hi = "≤"
		}
		h.Bars = append(h.Bars, htmlBar{
			X: x, Y: histBase - height, W: histBar, H: height,
			TextX: x + histBar/2, TextY: histBase - height - 4, Count: n,
			Title: fmt.Sprintf("%d%% ≤ percent %s %d%%: %d candidate(s)", 10*i, hi, 10*i+10, n),
		})
	}
	for _, p := range []int{0, 50, 100} {
		h.Ticks = append(h.Ticks, htmlTick{X: histLeft + p*histSlot*len(es.Histogram)/100, Label: strconv.Itoa(p) + "%"})
	}
	return h
}

// verdictClass is the style of a verdict.
func verdictClass(v report.Verdict) string {
	switch v {
	case report.Pass:
		return "pass"
	case report.Fail:
		return "fail"
	case report.Incomplete:
		return "incomplete"
	}
	return ""
}

// WriteHTML writes the cohort as one self-contained HTML page: no script,
// no external resource (a Content-Security-Policy says so to the
// browser). It shows the cohort table (per candidate the exams' percent
// and verdict, the overall percent, the certification, the tampering
// findings and the tasks held), each exam's pass rate and score
// distribution as an SVG histogram, and the item analysis with its flags.
// Every string from a report or the roster is escaped as for a terminal
// (see package escape), so control and bidirectional characters show as
// escapes, then by html/template.
func WriteHTML(w io.Writer, entries []Entry, opts ExportOptions) error {
	a := Analyse(opts.Bank, entries)
	v := htmlView{
		Personal:   opts.IncludePersonal,
		Candidates: a.Candidates,
		Graded:     a.Graded,
		Certified:  a.Certified,
		Failed:     a.Failed,
		Incomplete: a.Incomplete,
		Analysis:   analysisView(a),
	}
	for _, ex := range opts.exams() {
		v.Exams = append(v.Exams, escape.Line(ex))
	}
	for _, e := range entries {
		row := htmlRow{ID: escape.Line(e.Candidate.ID)}
		if opts.IncludePersonal {
			row.Name, row.Email = escape.Line(e.Candidate.Name), escape.Line(e.Candidate.Email)
		}
		if r := e.Report; r != nil {
			row.Graded = true
			row.Commit = escape.Short(r.Commit)
			for _, ex := range opts.exams() {
				s, ok := examScore(r, ex)
				switch {
				case !ok:
					row.Cells = append(row.Cells, htmlCell{})
				case s.Tasks == 0:
					row.Cells = append(row.Cells, htmlCell{Verdict: escape.Line(string(s.Verdict)), Class: verdictClass(s.Verdict)})
				default:
					row.Cells = append(row.Cells, htmlCell{Percent: number(s.Percent) + "%", Verdict: escape.Line(string(s.Verdict)), Class: verdictClass(s.Verdict)})
				}
			}
			row.Overall = number(r.Overall) + "%"
			row.Verdict = htmlCell{Verdict: escape.Line(string(r.Verdict)), Class: verdictClass(r.Verdict)}
			row.Flags, row.Held = len(r.Tampering), heldCount(r)
		}
		v.Rows = append(v.Rows, row)
	}
	var b strings.Builder
	if err := htmlPage.Execute(&b, v); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// analysisView is the view of the exams' distributions and the item
// analysis.
func analysisView(a *Analysis) htmlAnalysis {
	v := htmlAnalysis{
		Thresholds: htmlThresholds{
			MinCandidates:     MinCandidates,
			EasyAbove:         rate(EasyAbove),
			HardBelow:         rate(HardBelow),
			LowDiscrimination: number(LowDiscrimination),
		},
	}
	for _, es := range a.Exams {
		x := htmlExam{
			Name: escape.Line(es.Name), Decided: es.Decided, Passed: es.Passed, Incomplete: es.Incomplete,
			PassRate: "–", Mean: "–", Threshold: number(es.Threshold) + "%",
			Histogram: histogram(es),
		}
		if es.Decided > 0 {
			x.PassRate, x.Mean = rate(es.PassRate), number(es.MeanPercent)+"%"
		}
		v.ExamStats = append(v.ExamStats, x)
	}
	for _, ts := range a.Tasks {
		t := htmlTask{
			ID: escape.Line(ts.ID), Exam: escape.Line(ts.Exam), Title: escape.Line(ts.Title),
			Possible: number(ts.Possible), Graded: ts.Graded, Excluded: ts.Excluded,
			PassRate: "–", MeanPoints: "–", MeanPercent: "–", Discrimination: "–",
		}
		if ts.Graded > 0 {
			t.PassRate, t.MeanPoints, t.MeanPercent = rate(ts.PassRate), number(ts.MeanPoints), number(ts.MeanPercent)+"%"
		}
		if ts.Discrimination != nil {
			t.Discrimination = strconv.FormatFloat(*ts.Discrimination, 'f', 2, 64)
		}
		for _, f := range ts.Flags {
			t.Flags = append(t.Flags, string(f))
		}
		v.Tasks = append(v.Tasks, t)
	}
	return v
}

// AnalysisHTML renders the part of WriteHTML's page that shows the item
// analysis: each exam's pass rate and score distribution as an SVG
// histogram, the table of the tasks with their flags, and what the flags
// mean. It is a fragment, without the page around it, for a page that
// embeds it (the proctor dashboard); its elements carry the classes of
// WriteHTML's style sheet. Strings are escaped as in WriteHTML.
func AnalysisHTML(a *Analysis) (template.HTML, error) {
	var b strings.Builder
	if err := htmlPage.ExecuteTemplate(&b, "analysis", analysisView(a)); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}
