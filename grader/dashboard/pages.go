package dashboard

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// The cohort table.
type (
	cohortView struct {
		Exams                  []string
		Rows                   []cohortRow
		Total                  int
		Pass, Fail, Incomplete int
		NotGraded              int
		// The filter and sort of the table, as asked.
		Verdict, Flag string
		Verdicts      []string
		Flags         []string
		Sort          string
		Desc          bool
		Columns       []column
		FilterApplied bool
		HeldTasks     int
		// Width is the table's number of columns.
		Width int
	}
	cohortRow struct {
		store.CandidateState
		Graded    bool
		Exams     []examCell
		Flags     int
		Held      int
		Flaky     int
		Undecided int
		kinds     map[string]bool
	}
	examCell struct {
		Graded  bool
		Percent float64
		Verdict report.Verdict
	}
	// column is a sortable column's header: its link sorts by it.
	column struct {
		Label, Key, URL string
		Active, Desc    bool
	}
)

// The filters of the cohort table. A flag is one of these or a tampering
// finding's kind.
var (
	verdictFilters = []string{string(report.Pass), string(report.Fail), string(report.Incomplete), "none"}
	flagFilters    = []string{"held", "flaky", "undecided", "tampering",
		string(report.TamperTestFile), string(report.TamperBuildFile), string(report.TamperCI), string(report.TamperBuildTag),
		string(report.TamperTestMain), string(report.TamperInit), string(report.TamperForgedResults),
		string(report.CapInit), string(report.CapUnsafe), string(report.CapStdio), string(report.CapExit),
		string(report.CapExec), string(report.CapFramework)}
	sortKeys = []struct{ key, label string }{
		{"id", "candidate"}, {"state", "state"}, {"overall", "overall"}, {"verdict", "certification"},
		{"flags", "flags"}, {"held", "held"},
	}
)

// cohortPage shows the cohort table. Query parameters: verdict (PASS,
// FAIL, INCOMPLETE, none), flag (held, flaky, undecided, tampering, or a
// tampering finding's kind), sort (id, state, overall, verdict, flags,
// held; roster order without) and desc=1.
func (d *Dashboard) cohortPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := cohortView{
		Exams: tasks.Exams, Verdicts: verdictFilters, Flags: flagFilters,
		Verdict: q.Get("verdict"), Flag: q.Get("flag"), Sort: q.Get("sort"), Desc: q.Get("desc") == "1",
	}
	switch {
	case v.Verdict != "" && !slices.Contains(verdictFilters, v.Verdict):
		d.failBack(w, r, http.StatusBadRequest, "There is no such verdict to filter by; choose one from the list.", "/")
		return
	case v.Flag != "" && !slices.Contains(flagFilters, v.Flag):
		d.failBack(w, r, http.StatusBadRequest, "There is no such flag to filter by; choose one from the list.", "/")
		return
	case v.Sort != "" && !slices.ContainsFunc(sortKeys, func(k struct{ key, label string }) bool { return k.key == v.Sort }):
		d.failBack(w, r, http.StatusBadRequest, "The table cannot be sorted by that.", "/")
		return
	}
	rows, err := d.cohortRows(r.Context())
	if err != nil {
		d.storeFailed(w, r, err)
		return
	}
	v.Total = len(rows)
	for _, row := range rows {
		switch {
		case !row.Graded:
			v.NotGraded++
		case row.Latest.Verdict == report.Pass:
			v.Pass++
		case row.Latest.Verdict == report.Fail:
			v.Fail++
		default:
			v.Incomplete++
		}
		v.HeldTasks += row.Held
		if row.matches(v.Verdict, v.Flag) {
			v.Rows = append(v.Rows, row)
		}
	}
	v.FilterApplied = v.Verdict != "" || v.Flag != ""
	v.Width = 3 + len(v.Exams) + len(sortKeys) - 2
	sortRows(v.Rows, v.Sort, v.Desc)
	for _, k := range sortKeys {
		c := column{Label: k.label, Key: k.key, Active: v.Sort == k.key, Desc: v.Sort == k.key && v.Desc}
		u := url.Values{}
		if v.Verdict != "" {
			u.Set("verdict", v.Verdict)
		}
		if v.Flag != "" {
			u.Set("flag", v.Flag)
		}
		u.Set("sort", k.key)
		if c.Active && !c.Desc {
			u.Set("desc", "1")
		}
		c.URL = "/?" + u.Encode()
		v.Columns = append(v.Columns, c)
	}
	d.render(w, r, http.StatusOK, "cohort", page{Title: "Cohort", Nav: "cohort", Data: v})
}

// cohortRows reads every candidate and the summary of their latest report,
// one report in memory at a time.
func (d *Dashboard) cohortRows(ctx context.Context) ([]cohortRow, error) {
	cs, err := d.st.Candidates(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]cohortRow, len(cs))
	at := map[string]int{}
	for i, c := range cs {
		rows[i] = cohortRow{CandidateState: c}
		at[c.ID] = i
	}
	for s, err := range d.st.Reports(ctx) {
		if err != nil {
			return nil, err
		}
		i, ok := at[s.Candidate]
		if !ok {
			continue
		}
		row := &rows[i]
		rep := s.Report
		row.Graded = true
		if row.Latest == nil {
			row.Latest = &s.Summary
		}
		for _, ex := range tasks.Exams {
			cell := examCell{}
			for _, es := range rep.Exams {
				if es.Name == ex {
					cell = examCell{Graded: es.Tasks > 0, Percent: es.Percent, Verdict: es.Verdict}
				}
			}
			row.Exams = append(row.Exams, cell)
		}
		row.Flags = len(rep.Tampering)
		row.kinds = map[string]bool{}
		for _, f := range rep.Tampering {
			row.kinds[string(f.Kind)] = true
		}
		for _, t := range rep.Tasks {
			switch {
			case t.Hold != nil && t.Hold.Review == nil:
				row.Held++
			case t.Flaky:
				row.Flaky++
			}
			if t.Status == report.NotGradable || t.Status == report.NotGraded {
				row.Undecided++
			}
		}
	}
	return rows, nil
}

// matches says whether the row passes the filters.
func (row *cohortRow) matches(verdict, flag string) bool {
	switch {
	case verdict == "none" && row.Graded,
		verdict != "" && verdict != "none" && (!row.Graded || string(row.Latest.Verdict) != verdict):
		return false
	}
	switch flag {
	case "":
		return true
	case "held":
		return row.Held > 0
	case "flaky":
		return row.Flaky > 0
	case "undecided":
		return row.Undecided > 0
	case "tampering":
		return row.Flags > 0
	}
	return row.kinds[flag]
}

// sortRows sorts the table by key, stably, so that rows that tie keep the
// roster's order.
func sortRows(rows []cohortRow, key string, desc bool) {
	overall := func(r cohortRow) float64 {
		if !r.Graded {
			return -1
		}
		return r.Latest.Overall
	}
	verdict := func(r cohortRow) string {
		if !r.Graded {
			return ""
		}
		return string(r.Latest.Verdict)
	}
	var by func(a, b cohortRow) int
	switch key {
	case "id":
		by = func(a, b cohortRow) int { return strings.Compare(a.ID, b.ID) }
	case "state":
		by = func(a, b cohortRow) int { return strings.Compare(string(a.State), string(b.State)) }
	case "overall":
		by = func(a, b cohortRow) int { return cmp.Compare(overall(a), overall(b)) }
	case "verdict":
		by = func(a, b cohortRow) int { return strings.Compare(verdict(a), verdict(b)) }
	case "flags":
		by = func(a, b cohortRow) int { return cmp.Compare(a.Flags, b.Flags) }
	case "held":
		by = func(a, b cohortRow) int { return cmp.Compare(a.Held, b.Held) }
	default:
		return
	}
	slices.SortStableFunc(rows, func(a, b cohortRow) int {
		if desc {
			return by(b, a)
		}
		return by(a, b)
	})
}

// The candidate's report, as a proctor sees it.
type (
	candidateView struct {
		store.CandidateState
		Report *report.Report
		// Digest is the digest of the report shown: a decision is taken
		// on it, and refused if the latest report is another by then.
		Digest  string
		Signed  bool
		Exams   []examView
		Pending int
		// CanReview says a decision on this report can be recorded: it
		// is unsigned, or the dashboard has the key to sign it again.
		CanReview bool
	}
	examView struct {
		report.ExamScore
		Tasks []taskView
	}
	taskView struct {
		report.TaskGrade
		Pending bool
		Failing []testView
	}
	testView struct {
		Name, Status string
		Missing      bool
		// Output is the test's output, cut to maxOutputShown bytes.
		Output string
		Cut    bool
	}
)

// maxOutputShown bounds the output of a test shown on a candidate's page.
const maxOutputShown = 4 << 10

// candidatePage shows a candidate's latest report: ?id=CANDIDATE.
func (d *Dashboard) candidatePage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	cs, err := d.st.Candidates(r.Context())
	if err != nil {
		d.storeFailed(w, r, err)
		return
	}
	i := slices.IndexFunc(cs, func(c store.CandidateState) bool { return c.ID == id })
	if i < 0 {
		d.failBack(w, r, http.StatusNotFound, "The roster has no such candidate.", "/")
		return
	}
	v := candidateView{CandidateState: cs[i]}
	raw, sig, rep, err := d.st.Report(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		d.render(w, r, http.StatusOK, "candidate", page{Title: id, Nav: "cohort", Data: v})
		return
	case err != nil:
		d.storeFailed(w, r, err)
		return
	}
	v.Report, v.Digest, v.Signed = rep, digestOf(raw), sig != nil
	v.CanReview = sig == nil || d.key != nil
	for _, es := range rep.Exams {
		ev := examView{ExamScore: es}
		for _, t := range rep.Tasks {
			if t.Exam != es.Name {
				continue
			}
			tv := taskView{TaskGrade: t, Pending: t.Hold != nil && t.Hold.Review == nil}
			if tv.Pending {
				v.Pending++
			}
			for _, o := range t.Tests {
				if o.Status == "pass" && !o.Missing {
					continue
				}
				out := o.Output
				tv.Failing = append(tv.Failing, testView{Name: o.Name, Status: string(o.Status), Missing: o.Missing,
					Output: out[:min(len(out), maxOutputShown)], Cut: len(out) > maxOutputShown})
			}
			ev.Tasks = append(ev.Tasks, tv)
		}
		v.Exams = append(v.Exams, ev)
	}
	d.render(w, r, http.StatusOK, "candidate", page{Title: id, Nav: "cohort", Data: v})
}

// digestOf is the digest the store gives a report's bytes.
func digestOf(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// The review queue.
type (
	queueView struct {
		Items  []queueItem
		HasKey bool
	}
	queueItem struct {
		store.TaskState
		// Why says why the task is in the queue.
		Why     string
		Pending bool
		Digest  string
		Signed  bool
	}
)

// queuePage lists the tasks a proctor should look at: held for a decision
// (with the forms to take it), flaky, and not decided by the grader.
func (d *Dashboard) queuePage(w http.ResponseWriter, r *http.Request) {
	ts, err := d.st.ReviewQueue(r.Context())
	if err != nil {
		d.storeFailed(w, r, err)
		return
	}
	cs, err := d.st.Candidates(r.Context())
	if err != nil {
		d.storeFailed(w, r, err)
		return
	}
	latest := map[string]*store.Summary{}
	for _, c := range cs {
		latest[c.ID] = c.Latest
	}
	v := queueView{HasKey: d.key != nil}
	for _, t := range ts {
		it := queueItem{TaskState: t}
		switch {
		case t.Held && t.Decision == "":
			it.Why, it.Pending = "held for review", true
		case t.Held:
			it.Why = string(t.Decision) + "ed on review"
		case t.Flaky:
			it.Why = "flaky: a second run gave another result; regrade"
		default:
			it.Why = string(t.Status) + ": regrade"
		}
		if s := latest[t.Candidate]; s != nil {
			it.Digest, it.Signed = s.Digest, s.Signed
		}
		v.Items = append(v.Items, it)
	}
	d.render(w, r, http.StatusOK, "queue", page{Title: "Review queue", Nav: "queue", Data: v})
}

// auditPage shows the audit log, newest entry first.
func (d *Dashboard) auditPage(w http.ResponseWriter, r *http.Request) {
	es, err := d.st.AuditLog(r.Context())
	if err != nil {
		d.storeFailed(w, r, err)
		return
	}
	slices.Reverse(es)
	d.render(w, r, http.StatusOK, "audit", page{Title: "Audit log", Nav: "audit", Data: es})
}

// analysisView is the item analysis page.
type analysisView struct {
	*cohort.Analysis
	HTML template.HTML
}

// analysisPage shows the item analysis of the cohort's latest reports.
func (d *Dashboard) analysisPage(w http.ResponseWriter, r *http.Request) {
	entries, err := d.entries(r.Context())
	if err != nil {
		d.storeFailed(w, r, err)
		return
	}
	a := cohort.Analyse(nil, entries)
	frag, err := cohort.AnalysisHTML(a)
	if err != nil {
		d.storeFailed(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "analysis", page{Title: "Item analysis", Nav: "analysis", Data: analysisView{Analysis: a, HTML: frag}})
}

// entries returns every candidate with their latest report (nil before
// the first), in roster order.
func (d *Dashboard) entries(ctx context.Context) ([]cohort.Entry, error) {
	cs, err := d.st.Candidates(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]cohort.Entry, len(cs))
	at := map[string]int{}
	for i, c := range cs {
		out[i] = cohort.Entry{Candidate: c.Candidate}
		at[c.ID] = i
	}
	for s, err := range d.st.Reports(ctx) {
		if err != nil {
			return nil, err
		}
		if i, ok := at[s.Candidate]; ok {
			out[i].Report = s.Report
		}
	}
	return out, nil
}
