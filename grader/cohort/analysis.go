package cohort

import (
	"cmp"
	"math"
	"slices"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// Entry is one candidate of a cohort and the report of their grading.
type Entry struct {
	Candidate Candidate
	// Report is nil while the candidate is not graded, or could not be.
	Report *report.Report
}

// The thresholds of the item analysis flags (docs/cohort.md).
const (
	// MinCandidates is the fewest candidates graded on a task for its
	// flags to mean anything: below it a task gets FlagTooFew only.
	MinCandidates = 5
	// EasyAbove: a pass rate above it flags a task too easy.
	EasyAbove = 0.9
	// HardBelow: a pass rate below it flags a task too hard.
	HardBelow = 0.2
	// LowDiscrimination: a discrimination below it (and not negative)
	// flags a task as telling strong and weak candidates apart poorly.
	LowDiscrimination = 0.2
)

// ItemFlag names what an exam designer should look at in a task.
type ItemFlag string

// The item analysis flags.
const (
	// FlagTooFew: fewer than MinCandidates were graded on the task; the
	// figures are shown, but no other flag is raised from so few.
	FlagTooFew ItemFlag = "too-few"
	// FlagTooEasy: the pass rate is above EasyAbove.
	FlagTooEasy ItemFlag = "too-easy"
	// FlagTooHard: the pass rate is below HardBelow.
	FlagTooHard ItemFlag = "too-hard"
	// FlagNegative: the discrimination is below 0: candidates who did
	// well on the rest did worse on this task.
	FlagNegative ItemFlag = "negative-discrimination"
	// FlagLow: the discrimination is at least 0 but below
	// LowDiscrimination.
	FlagLow ItemFlag = "low-discrimination"
	// FlagNoSpread: the discrimination is undefined: every candidate
	// scored the same on the task or on the rest (or fewer than two have
	// a rest: another counted task).
	FlagNoSpread ItemFlag = "no-spread"
)

// Analysis is the item analysis of a cohort: how each task and each exam
// fared. Its definitions are in docs/cohort.md.
type Analysis struct {
	// Candidates is the number of entries; Graded, those with a report.
	Candidates int `json:"candidates"`
	Graded     int `json:"graded"`
	// Certified, Failed and Incomplete count the reports by their
	// certification verdict (PASS, FAIL, INCOMPLETE).
	Certified  int `json:"certified"`
	Failed     int `json:"failed"`
	Incomplete int `json:"incomplete"`
	// Exams are in bank order, Tasks in bank order (exam, then id).
	Exams []ExamStats `json:"exams"`
	Tasks []TaskStats `json:"tasks"`
}

// TaskStats is the item analysis of one task.
type TaskStats struct {
	ID    string `json:"id"`
	Exam  string `json:"exam"`
	Title string `json:"title"`
	// Possible is what the task is worth.
	Possible float64 `json:"possible"`
	// Graded counts the candidates whose result on the task counts (see
	// Counts); every figure below is over them.
	Graded int `json:"graded"`
	// Excluded counts the candidates whose report has the task but whose
	// result does not count: not gradable, not graded, flaky, or held for
	// review.
	Excluded int `json:"excluded"`
	// Passed counts the candidates who earned full points.
	Passed int `json:"passed"`
	// PassRate is Passed over Graded (0 to 1; 0 when Graded is 0).
	PassRate float64 `json:"pass_rate"`
	// MeanPoints and MeanPercent are the mean points earned and the mean
	// of the percent of the task's points earned.
	MeanPoints  float64 `json:"mean_points"`
	MeanPercent float64 `json:"mean_percent"`
	// Discrimination is the Pearson correlation between the task's
	// percent and the percent of the rest of the candidate's counted
	// points (-1 to 1), over the graded candidates who have another
	// counted task; nil when undefined (fewer than two such candidates,
	// or no spread in either score).
	Discrimination *float64 `json:"discrimination"`
	// Flags say what to look at; empty when nothing stands out.
	Flags []ItemFlag `json:"flags"`
}

// ExamStats is how one exam fared in a cohort.
type ExamStats struct {
	Name      string  `json:"name"`
	Threshold float64 `json:"threshold"`
	// Decided counts the reports whose exam verdict is PASS or FAIL;
	// Passed, those with PASS; Incomplete, the others (INCOMPLETE, or the
	// exam missing from the report).
	Decided    int `json:"decided"`
	Passed     int `json:"passed"`
	Incomplete int `json:"incomplete"`
	// PassRate is Passed over Decided (0 to 1; 0 when Decided is 0).
	PassRate float64 `json:"pass_rate"`
	// MeanPercent is the mean exam percent of the decided reports.
	MeanPercent float64 `json:"mean_percent"`
	// Histogram counts the decided reports by exam percent: bin i holds
	// [10i, 10i+10), the last bin [90, 100].
	Histogram [10]int `json:"histogram"`
}

// Counts says whether a task's grade is a decided result of the
// candidate's code, one that item analysis and the exports count: not a
// task the grader could not grade (not gradable) or did not finish (not
// graded), not flaky, and not held waiting for a proctor's decision. A
// task reviewed counts with the points the review left it.
func Counts(t report.TaskGrade) bool {
	switch t.Status {
	case report.NotGradable, report.NotGraded:
		return false
	}
	return !t.Flaky && !held(t)
}

// held says the task waits for a proctor's decision.
func held(t report.TaskGrade) bool { return t.Hold != nil && t.Hold.Review == nil }

// fullPoints says the task earned every point it was worth.
func fullPoints(t report.TaskGrade) bool {
	return t.Possible > 0 && t.Points+1e-9 >= t.Possible
}

// percentOf is points as a percent of possible (0 when possible is 0).
func percentOf(points, possible float64) float64 {
	if possible <= 0 {
		return 0
	}
	return 100 * points / possible
}

// Analyse computes the item analysis of a cohort. The bank fixes the exams
// and the tasks analysed (tasks of a report that are not in the bank are
// left out); a nil bank means the exams of tasks.Exams and the tasks the
// reports name. Entries without a report count only in Candidates. The
// result depends only on the bank and the entries, in their order.
func Analyse(bank *tasks.Bank, entries []Entry) *Analysis {
	if bank == nil {
		bank = bankOf(entries)
	}
	a := &Analysis{Candidates: len(entries)}
	index := make(map[string]int, len(bank.Tasks))
	for i, t := range bank.Tasks {
		index[t.ID] = i
		a.Tasks = append(a.Tasks, TaskStats{ID: t.ID, Exam: t.Exam, Title: t.Title, Possible: t.Points})
	}
	// The samples of each task: its percent and the rest's percent.
	type sample struct {
		points, percent, rest float64
		hasRest               bool
		full                  bool
	}
	samples := make([][]sample, len(bank.Tasks))
	for _, e := range entries {
		r := e.Report
		if r == nil {
			continue
		}
		a.Graded++
		switch r.Verdict {
		case report.Pass:
			a.Certified++
		case report.Fail:
			a.Failed++
		default:
			a.Incomplete++
		}
		// The candidate's counted tasks of the bank, each once.
		var counted []report.TaskGrade
		seen := map[string]bool{}
		var points, possible float64
		for _, t := range r.Tasks {
			i, ok := index[t.ID]
			if !ok || seen[t.ID] {
				continue
			}
			seen[t.ID] = true
			if !Counts(t) {
				a.Tasks[i].Excluded++
				continue
			}
			counted = append(counted, t)
			points += t.Points
			possible += t.Possible
		}
		for _, t := range counted {
			s := sample{points: t.Points, percent: percentOf(t.Points, t.Possible), full: fullPoints(t)}
			if rest := possible - t.Possible; rest > 0 {
				s.rest, s.hasRest = percentOf(points-t.Points, rest), true
			}
			i := index[t.ID]
			samples[i] = append(samples[i], s)
		}
	}
	for i := range a.Tasks {
		ts := &a.Tasks[i]
		var xs, ys []float64
		var sumPoints, sumPercent float64
		for _, s := range samples[i] {
			ts.Graded++
			if s.full {
				ts.Passed++
			}
			sumPoints += s.points
			sumPercent += s.percent
			if s.hasRest {
				xs, ys = append(xs, s.percent), append(ys, s.rest)
			}
		}
		var passRate float64
		if n := float64(ts.Graded); n > 0 {
			passRate = float64(ts.Passed) / n
			ts.MeanPoints = round(sumPoints/n, 2)
			ts.MeanPercent = round(sumPercent/n, 2)
		}
		ts.PassRate = round(passRate, 4)
		r, ok := pearson(xs, ys)
		if ok {
			r4 := round(r, 4)
			ts.Discrimination = &r4
		}
		ts.Flags = itemFlags(ts.Graded, passRate, r, ok)
	}
	a.Exams = examStats(bank.Exams, entries)
	return a
}

// itemFlags returns the flags of a task graded for n candidates, with the
// given pass rate and discrimination r (defined when ok).
func itemFlags(n int, passRate, r float64, ok bool) []ItemFlag {
	flags := []ItemFlag{}
	if n < MinCandidates {
		return append(flags, FlagTooFew)
	}
	switch {
	case passRate > EasyAbove:
		flags = append(flags, FlagTooEasy)
	case passRate < HardBelow:
		flags = append(flags, FlagTooHard)
	}
	switch {
	case !ok:
		flags = append(flags, FlagNoSpread)
	case r < 0:
		flags = append(flags, FlagNegative)
	case r < LowDiscrimination:
		flags = append(flags, FlagLow)
	}
	return flags
}

// pearson returns the Pearson correlation of xs and ys, and false when it
// is undefined: fewer than two pairs, or either list without spread.
func pearson(xs, ys []float64) (float64, bool) {
	n := len(xs)
	if n < 2 || constant(xs) || constant(ys) {
		return 0, false
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0, false
	}
	r := sxy / math.Sqrt(sxx*syy)
	return max(-1, min(1, r)), true
}

// constant says every value of xs is the same. It is checked exactly, as
// a mean computed in floating point may differ from equal values by a
// rounding error and give a spread that is not there.
func constant(xs []float64) bool {
	for _, x := range xs[1:] {
		if x != xs[0] {
			return false
		}
	}
	return true
}

// examStats computes the per-exam figures of the given exams.
func examStats(exams []tasks.Exam, entries []Entry) []ExamStats {
	out := make([]ExamStats, 0, len(exams))
	for _, ex := range exams {
		es := ExamStats{Name: ex.Name, Threshold: ex.Threshold}
		var sum float64
		for _, e := range entries {
			if e.Report == nil {
				continue
			}
			i := slices.IndexFunc(e.Report.Exams, func(s report.ExamScore) bool { return s.Name == ex.Name })
			if i < 0 {
				es.Incomplete++
				continue
			}
			s := e.Report.Exams[i]
			switch s.Verdict {
			case report.Pass:
				es.Passed++
			case report.Fail:
			default:
				es.Incomplete++
				continue
			}
			es.Decided++
			sum += s.Percent
			es.Histogram[bin(s.Percent)]++
		}
		if es.Decided > 0 {
			es.PassRate = round(float64(es.Passed)/float64(es.Decided), 4)
			es.MeanPercent = round(sum/float64(es.Decided), 2)
		}
		out = append(out, es)
	}
	return out
}

// bin returns the histogram bin of a percent: [10i, 10i+10), the last one
// [90, 100]; a percent out of range goes to the nearest end.
func bin(percent float64) int {
	return max(0, min(9, int(math.Floor(percent/10))))
}

// round rounds f to the given number of decimal places.
func round(f float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(f*p) / p
}

// bankOf is the bank the reports name: the five exams of tasks.Exams (and
// any other exam a report has, after them, by name) with the first
// report's pass mark for each, and every task of a report, with the exam,
// title and points of its first appearance, sorted by exam then id as a
// loaded bank is.
func bankOf(entries []Entry) *tasks.Bank {
	b := &tasks.Bank{}
	rank := map[string]int{}
	for i, name := range tasks.Exams {
		rank[name] = i
		b.Exams = append(b.Exams, tasks.Exam{Name: name, Threshold: tasks.DefaultThreshold})
	}
	threshold := map[string]bool{}
	seen := map[string]bool{}
	var extra []tasks.Exam
	for _, e := range entries {
		if e.Report == nil {
			continue
		}
		for _, s := range e.Report.Exams {
			if threshold[s.Name] {
				continue
			}
			threshold[s.Name] = true
			if i, ok := rank[s.Name]; ok {
				b.Exams[i].Threshold = s.Threshold
			} else {
				extra = append(extra, tasks.Exam{Name: s.Name, Threshold: s.Threshold})
			}
		}
		for _, t := range e.Report.Tasks {
			if seen[t.ID] {
				continue
			}
			seen[t.ID] = true
			b.Tasks = append(b.Tasks, &tasks.Task{ID: t.ID, Exam: t.Exam, Title: t.Title, Points: t.Possible})
		}
	}
	slices.SortFunc(extra, func(x, y tasks.Exam) int { return cmp.Compare(x.Name, y.Name) })
	b.Exams = append(b.Exams, extra...)
	for i, ex := range b.Exams {
		rank[ex.Name] = i
	}
	slices.SortStableFunc(b.Tasks, func(x, y *tasks.Task) int {
		rx, okx := rank[x.Exam]
		ry, oky := rank[y.Exam]
		if !okx {
			rx = len(b.Exams)
		}
		if !oky {
			ry = len(b.Exams)
		}
		return cmp.Or(cmp.Compare(rx, ry), cmp.Compare(x.Exam, y.Exam), cmp.Compare(x.ID, y.ID))
	})
	return b
}
