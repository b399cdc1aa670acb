package cohort

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// testBank has four tasks of 2 points, a to d, in the server exam.
func testBank() *tasks.Bank {
	b := &tasks.Bank{Name: "test"}
	for _, name := range tasks.Exams {
		b.Exams = append(b.Exams, tasks.Exam{Name: name, Threshold: 70})
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		b.Tasks = append(b.Tasks, &tasks.Task{ID: id, Exam: "server", Title: "Task " + id, Points: 2})
	}
	return b
}

// g is a grade of a task of testBank: points of 2, passed when all.
func g(id string, points float64) report.TaskGrade {
	st := report.Failed
	if points == 2 {
		st = report.Passed
	}
	return report.TaskGrade{ID: id, Exam: "server", Title: "Task " + id, Status: st, Points: points, Possible: 2}
}

// entry is a graded candidate of testBank with the given grades.
func entry(id string, grades ...report.TaskGrade) Entry {
	r := &report.Report{Commit: "c0ffee", Tasks: grades}
	r.Summary = report.Summarize(testBank(), grades)
	return Entry{Candidate: Candidate{ID: id}, Report: r}
}

// matrix makes one candidate per row of passes (1) and fails (0) of the
// tasks named, in order.
func matrix(ids string, rows ...string) []Entry {
	var out []Entry
	for i, row := range rows {
		var grades []report.TaskGrade
		for j, c := range row {
			grades = append(grades, g(string(ids[j]), 2*float64(c-'0')))
		}
		out = append(out, entry(fmt.Sprintf("c%d", i+1), grades...))
	}
	return out
}

func ptr(f float64) *float64 { return &f }

// want is the expected analysis of one task.
type want struct {
	graded, excluded, passed int
	passRate                 float64
	meanPoints, meanPercent  float64
	disc                     *float64
	flags                    []ItemFlag
}

func TestAnalyseTasks(t *testing.T) {
	run := func(t *testing.T, entries []Entry, wants map[string]want) {
		t.Helper()
		a := Analyse(testBank(), entries)
		for _, ts := range a.Tasks {
			w, ok := wants[ts.ID]
			if !ok {
				continue
			}
			got := want{ts.Graded, ts.Excluded, ts.Passed, ts.PassRate, ts.MeanPoints, ts.MeanPercent, ts.Discrimination, ts.Flags}
			if got.graded != w.graded || got.excluded != w.excluded || got.passed != w.passed ||
				got.passRate != w.passRate || got.meanPoints != w.meanPoints || got.meanPercent != w.meanPercent ||
				(got.disc == nil) != (w.disc == nil) || got.disc != nil && *got.disc != *w.disc ||
				!slices.Equal(got.flags, w.flags) {
				t.Errorf("task %s:\n got %s\nwant %s", ts.ID, show(got), show(w))
			}
		}
	}
	for _, tc := range []struct {
		name    string
		entries []Entry
		want    map[string]want
	}{
		{
			// a: x = 1 1 1 0 1, rest = 2 1 0 0 1 (other passes); sxy 0.8,
			// sxx 0.8, syy 2.8: r = 0.8/sqrt(2.24) = 0.53452.
			// b: x = 1 1 0 0 0, rest = 2 1 1 0 2; sxy 0.6, sxx 1.2, syy
			// 2.8: r = 0.6/sqrt(3.36) = 0.32733. c: the same by symmetry.
			name:    "three tasks",
			entries: matrix("abc", "111", "110", "100", "000", "101"),
			want: map[string]want{
				"a": {5, 0, 4, 0.8, 1.6, 80, ptr(0.5345), []ItemFlag{}},
				"b": {5, 0, 2, 0.4, 0.8, 40, ptr(0.3273), []ItemFlag{}},
				"c": {5, 0, 2, 0.4, 0.8, 40, ptr(0.3273), []ItemFlag{}},
				"d": {0, 0, 0, 0, 0, 0, nil, []ItemFlag{FlagTooFew}},
			},
		},
		{
			// Who passes one fails the other: r = -1 for both.
			name:    "negative",
			entries: matrix("ab", "10", "10", "01", "01", "10"),
			want: map[string]want{
				"a": {5, 0, 3, 0.6, 1.2, 60, ptr(-1), []ItemFlag{FlagNegative}},
				"b": {5, 0, 2, 0.4, 0.8, 40, ptr(-1), []ItemFlag{FlagNegative}},
			},
		},
		{
			// Deviations of ±0.5 that cancel exactly: r = 0.
			name:    "low",
			entries: matrix("ab", "11", "11", "10", "10", "01", "01", "00", "00"),
			want: map[string]want{
				"a": {8, 0, 4, 0.5, 1, 50, ptr(0), []ItemFlag{FlagLow}},
				"b": {8, 0, 4, 0.5, 1, 50, ptr(0), []ItemFlag{FlagLow}},
			},
		},
		{
			// Everyone passes a (no spread in a) and so has the same rest
			// for b (no spread in b's rest): neither correlation exists.
			name:    "no spread",
			entries: matrix("ab", "11", "11", "10", "10", "11", "11", "11", "11", "11", "11"),
			want: map[string]want{
				"a": {10, 0, 10, 1, 2, 100, nil, []ItemFlag{FlagTooEasy, FlagNoSpread}},
				"b": {10, 0, 8, 0.8, 1.6, 80, nil, []ItemFlag{FlagNoSpread}},
			},
		},
		{
			// Nobody passes a: too hard, and no spread either.
			name:    "too hard",
			entries: matrix("ab", "01", "01", "00", "00", "01"),
			want: map[string]want{
				"a": {5, 0, 0, 0, 0, 0, nil, []ItemFlag{FlagTooHard, FlagNoSpread}},
				"b": {5, 0, 3, 0.6, 1.2, 60, nil, []ItemFlag{FlagNoSpread}},
			},
		},
		{
			// Four candidates: the figures, but no flag beyond too-few.
			name:    "too few",
			entries: matrix("ab", "10", "10", "01", "01"),
			want: map[string]want{
				"a": {4, 0, 2, 0.5, 1, 50, ptr(-1), []ItemFlag{FlagTooFew}},
			},
		},
		{
			// Exam forms and partial points: each candidate has some of
			// the tasks, and the rest is a percent of the others.
			// a: c1 x 100 rest 50 (b 1/2), c2 x 0 rest 100 (c 2/2), c4 x 50
			// rest 50 (2/4); c5 has no other task. In units of 50: x = 2 0
			// 1, y = 1 2 1; sxy -1, sxx 2, syy 2/3: r = -1/sqrt(4/3).
			// b: c1 x 50 rest 100, c3 x 100 rest 50, c4 x 50 rest 50; c6's a
			// does not count. x = 1 2 1, y = 2 1 1; sxy -1/3, sxx = syy =
			// 2/3: r = -0.5.
			// c: c2 x 100 rest 0, c3 x 50 rest 100, c4 x 50 rest 50: x = 2 1
			// 1, y = 0 2 1; sxy -1, sxx 2/3, syy 2: r = -1/sqrt(4/3).
			name: "forms",
			entries: []Entry{
				entry("c1", g("a", 2), g("b", 1)),
				entry("c2", g("a", 0), g("c", 2)),
				entry("c3", g("b", 2), g("c", 1)),
				entry("c4", g("a", 1), g("b", 1), g("c", 1)),
				entry("c5", g("a", 2)),
				entry("c6", notGradable("a"), g("b", 2)),
				{Candidate: Candidate{ID: "c7"}},
				entry("c8", heldTask("a"), flaky("c")),
			},
			want: map[string]want{
				"a": {4, 2, 2, 0.5, 1.25, 62.5, ptr(-0.866), []ItemFlag{FlagTooFew}},
				"b": {4, 0, 2, 0.5, 1.5, 75, ptr(-0.5), []ItemFlag{FlagTooFew}},
				"c": {3, 1, 1, 0.3333, 1.33, 66.67, ptr(-0.866), []ItemFlag{FlagTooFew}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc.entries, tc.want) })
	}
}

func show(w want) string {
	d := "nil"
	if w.disc != nil {
		d = fmt.Sprint(*w.disc)
	}
	return fmt.Sprintf("graded %d excluded %d passed %d rate %v mean %v (%v%%) disc %s flags %v",
		w.graded, w.excluded, w.passed, w.passRate, w.meanPoints, w.meanPercent, d, w.flags)
}

func notGradable(id string) report.TaskGrade {
	t := g(id, 0)
	t.Status, t.Reason = report.NotGradable, "sandbox: engine hiccup"
	return t
}

func heldTask(id string) report.TaskGrade {
	t := g(id, 2)
	t.Hold = &report.Hold{Flags: []string{"x.go:3 exit: os.Exit"}}
	return t
}

func flaky(id string) report.TaskGrade {
	t := g(id, 0)
	t.Flaky = true
	t.Recheck = &report.RecheckInfo{Status: report.Passed, Points: 2}
	return t
}

func TestCounts(t *testing.T) {
	reviewed := heldTask("a")
	reviewed.Hold.Review = &report.Review{Decision: report.Accept, Reason: "fine"}
	for _, tc := range []struct {
		name string
		t    report.TaskGrade
		want bool
	}{
		{"passed", g("a", 2), true},
		{"failed", g("a", 0), true},
		{"build failed", report.TaskGrade{Status: report.BuildFailed}, true},
		{"timed out", report.TaskGrade{Status: report.TimedOut}, true},
		{"out of memory", report.TaskGrade{Status: report.OutOfMemory}, true},
		{"not gradable", notGradable("a"), false},
		{"not graded", report.TaskGrade{Status: report.NotGraded}, false},
		{"flaky", flaky("a"), false},
		{"held", heldTask("a"), false},
		{"reviewed", reviewed, true},
	} {
		if got := Counts(tc.t); got != tc.want {
			t.Errorf("Counts(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAnalyseExams(t *testing.T) {
	exam := func(percent float64, v report.Verdict) Entry {
		return Entry{Report: &report.Report{Summary: report.Summary{
			Exams:   []report.ExamScore{{Name: "cli", Percent: percent, Verdict: v, Threshold: 60, Tasks: 2}},
			Verdict: v,
		}}}
	}
	entries := []Entry{
		exam(0, report.Fail), exam(9.99, report.Fail), exam(10, report.Fail), exam(59.99, report.Fail),
		exam(60, report.Pass), exam(99.9, report.Pass), exam(100, report.Pass),
		exam(100, report.Incomplete), // not decided: left out of the figures
		{Candidate: Candidate{ID: "not graded"}},
		{Report: &report.Report{Summary: report.Summary{Verdict: report.Fail}}}, // no cli exam
	}
	a := Analyse(nil, entries)
	if a.Candidates != 10 || a.Graded != 9 || a.Certified != 3 || a.Failed != 5 || a.Incomplete != 1 {
		t.Errorf("counts: candidates %d graded %d certified %d failed %d incomplete %d, want 10 9 3 5 1",
			a.Candidates, a.Graded, a.Certified, a.Failed, a.Incomplete)
	}
	if len(a.Exams) != len(tasks.Exams) {
		t.Fatalf("%d exams, want %d", len(a.Exams), len(tasks.Exams))
	}
	got := a.Exams[1]
	want := ExamStats{
		Name: "cli", Threshold: 60, Decided: 7, Passed: 3, Incomplete: 2, PassRate: 0.4286,
		// (0 + 9.99 + 10 + 59.99 + 60 + 99.9 + 100) / 7 = 339.88 / 7
		MeanPercent: 48.55,
		Histogram:   [10]int{2, 1, 0, 0, 0, 1, 1, 0, 0, 2},
	}
	if got != want {
		t.Errorf("cli:\n got %+v\nwant %+v", got, want)
	}
	if s := a.Exams[0]; s.Name != "server" || s.Decided != 0 || s.Incomplete != 9 || s.Threshold != tasks.DefaultThreshold {
		t.Errorf("server: %+v, want nothing decided, 9 incomplete, the default pass mark", s)
	}
}

// TestAnalyseWithoutBank derives the tasks from the reports: the same
// figures as with the bank, in the bank's order.
func TestAnalyseWithoutBank(t *testing.T) {
	entries := matrix("cab", "111", "110", "100", "000", "101")
	withBank, without := Analyse(testBank(), entries), Analyse(nil, entries)
	var ids []string
	for _, ts := range without.Tasks {
		ids = append(ids, ts.ID)
	}
	if !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Fatalf("tasks %v, want a b c", ids)
	}
	for i, ts := range without.Tasks {
		wb := withBank.Tasks[i]
		if ts.Graded != wb.Graded || ts.PassRate != wb.PassRate || *ts.Discrimination != *wb.Discrimination || ts.Title != wb.Title || ts.Possible != 2 {
			t.Errorf("task %s without the bank: %+v, with it: %+v", ts.ID, ts, wb)
		}
	}
}

// TestAnalyseIgnoresUnknownTasks: a task the bank does not have counts
// neither as an item nor in the rest of another.
func TestAnalyseIgnoresUnknownTasks(t *testing.T) {
	plain := matrix("ab", "10", "10", "01", "01", "10")
	extra := matrix("abz", "100", "101", "011", "010", "101")
	x, y := Analyse(testBank(), plain), Analyse(testBank(), extra)
	for i := range x.Tasks {
		if x.Tasks[i].Graded != y.Tasks[i].Graded || (x.Tasks[i].Discrimination == nil) != (y.Tasks[i].Discrimination == nil) ||
			x.Tasks[i].Discrimination != nil && *x.Tasks[i].Discrimination != *y.Tasks[i].Discrimination {
			t.Errorf("task %s changed with an unknown task in the reports", x.Tasks[i].ID)
		}
	}
}

func TestPearsonConstantWithRoundingError(t *testing.T) {
	// The mean of three 0.1s is not exactly 0.1 in floating point; the
	// list still has no spread.
	if _, ok := pearson([]float64{0.1, 0.1, 0.1}, []float64{1, 2, 3}); ok {
		t.Error("pearson of a constant list is defined")
	}
	if r, ok := pearson([]float64{1, 2, 3}, []float64{2, 4, 6}); !ok || r != 1 {
		t.Errorf("pearson of proportional lists = %v, %v; want 1", r, ok)
	}
}

func TestBin(t *testing.T) {
	for p, want := range map[float64]int{-1: 0, 0: 0, 9.99: 0, 10: 1, 55: 5, 89.99: 8, 90: 9, 100: 9, 120: 9} {
		if got := bin(p); got != want {
			t.Errorf("bin(%v) = %d, want %d", p, got, want)
		}
	}
}
