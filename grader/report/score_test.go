package report

import (
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/testout"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

func task(id, exam string, points float64, scoring tasks.Scoring, tests ...string) *tasks.Task {
	return &tasks.Task{ID: id, Exam: exam, Title: id, Points: points, Scoring: scoring, Tests: tests, Timeout: 30 * time.Second}
}

func pass(names ...string) []testout.Test {
	var rs []testout.Test
	for _, n := range names {
		rs = append(rs, testout.Test{Name: n, Status: testout.Pass})
	}
	return rs
}

func TestScore(t *testing.T) {
	aon := task("t", "server", 2, tasks.AllOrNothing, "TestA", "TestB", "TestC", "TestD")
	part := task("p", "server", 3, tasks.Partial, "TestA", "TestB", "TestC")
	for _, tc := range []struct {
		name       string
		task       *tasks.Task
		run        sandbox.Result
		results    *testout.Results
		wantStatus Status
		wantPoints float64
		wantReason string
	}{
		{
			name: "all pass", task: aon,
			results:    &testout.Results{Tests: pass("TestA", "TestB", "TestC", "TestD")},
			wantStatus: Passed, wantPoints: 2, wantReason: "4 of 4 tests passed",
		},
		{
			name: "all or nothing with one failure", task: aon,
			run:        sandbox.Result{ExitCode: 1},
			results:    &testout.Results{Tests: append(pass("TestA", "TestB", "TestC"), testout.Test{Name: "TestD", Status: testout.Fail})},
			wantStatus: Failed, wantPoints: 0, wantReason: "1 of 4 tests failed",
		},
		{
			name: "missing tests count as failed whatever the exit status", task: aon,
			run:        sandbox.Result{ExitCode: 0},
			results:    &testout.Results{Tests: pass("TestA", "TestB")},
			wantStatus: Failed, wantPoints: 0, wantReason: "2 of 4 tests failed; 2 never reported a result",
		},
		{
			name: "skipped counts as failed", task: aon,
			results:    &testout.Results{Tests: append(pass("TestA", "TestB", "TestC"), testout.Test{Name: "TestD", Status: testout.Skip})},
			wantStatus: Failed, wantPoints: 0, wantReason: "1 of 4 tests failed",
		},
		{
			name: "partial credit", task: part,
			run:        sandbox.Result{ExitCode: 1},
			results:    &testout.Results{Tests: append(pass("TestA", "TestC"), testout.Test{Name: "TestB", Status: testout.Fail})},
			wantStatus: Failed, wantPoints: 2, wantReason: "1 of 3 tests failed",
		},
		{
			name: "partial credit rounds to cents", task: part,
			results:    &testout.Results{Tests: pass("TestA")},
			wantStatus: Failed, wantPoints: 1, wantReason: "2 of 3 tests failed; 2 never reported a result",
		},
		{
			name: "partial credit all pass", task: part,
			results:    &testout.Results{Tests: pass("TestA", "TestB", "TestC")},
			wantStatus: Passed, wantPoints: 3, wantReason: "3 of 3 tests passed",
		},
		{
			name: "build failed names the first error", task: aon,
			run:        sandbox.Result{ExitCode: 1},
			results:    &testout.Results{BuildFailed: true, BuildOutput: "# example.com/x\nx.go:3:2: undefined: foo\n"},
			wantStatus: BuildFailed, wantPoints: 0, wantReason: "x.go:3:2: undefined: foo",
		},
		{
			name: "timed out keeps partial credit earned before the kill", task: part,
			run:        sandbox.Result{ExitCode: 137, TimedOut: true, Duration: 31 * time.Second},
			results:    &testout.Results{Tests: pass("TestA"), Incomplete: true},
			wantStatus: TimedOut, wantPoints: 1, wantReason: "killed after 31s (task timeout 30s)",
		},
		{
			name: "timed out all or nothing", task: aon,
			run:        sandbox.Result{ExitCode: 137, TimedOut: true, Duration: 30 * time.Second},
			results:    &testout.Results{Tests: pass("TestA", "TestB", "TestC", "TestD")},
			wantStatus: TimedOut, wantPoints: 0, wantReason: "killed after 30s (task timeout 30s)",
		},
		{
			name: "out of memory", task: aon,
			run:        sandbox.Result{ExitCode: 137, OOMKilled: true},
			results:    &testout.Results{Incomplete: true},
			wantStatus: OutOfMemory, wantPoints: 0, wantReason: "killed for exceeding the sandbox memory limit",
		},
		{
			name: "a pass reported twice is forged", task: part,
			results:    &testout.Results{Tests: pass("TestA", "TestA", "TestB", "TestC")},
			wantStatus: Failed, wantPoints: 2, wantReason: "1 of 3 tests failed",
		},
		{
			name: "a later pass does not undo a failure", task: part,
			results:    &testout.Results{Tests: append([]testout.Test{{Name: "TestA", Status: testout.Fail}}, pass("TestA", "TestB", "TestC")...)},
			wantStatus: Failed, wantPoints: 2, wantReason: "1 of 3 tests failed",
		},
		{
			name: "nil results", task: aon,
			run:        sandbox.Result{ExitCode: 2},
			wantStatus: Failed, wantPoints: 0, wantReason: "4 of 4 tests failed; 4 never reported a result",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Score(tc.task, Outcome{Run: tc.run, Results: tc.results})
			if got.Status != tc.wantStatus || got.Points != tc.wantPoints || got.Reason != tc.wantReason {
				t.Errorf("Score = %s %g %q, want %s %g %q", got.Status, got.Points, got.Reason, tc.wantStatus, tc.wantPoints, tc.wantReason)
			}
			if got.Possible != tc.task.Points || len(got.Tests) != len(tc.task.Tests) {
				t.Errorf("Score possible %g with %d tests, want %g with %d", got.Possible, len(got.Tests), tc.task.Points, len(tc.task.Tests))
			}
		})
	}
}

func testBank(thresholds map[string]float64) *tasks.Bank {
	b := &tasks.Bank{Name: "t"}
	for _, e := range tasks.Exams {
		th, ok := thresholds[e]
		if !ok {
			th = tasks.DefaultThreshold
		}
		b.Exams = append(b.Exams, tasks.Exam{Name: e, Threshold: th})
	}
	return b
}

func res(exam string, status Status, points, possible float64) TaskGrade {
	return TaskGrade{Exam: exam, Status: status, Points: points, Possible: possible}
}

func full() []TaskGrade {
	var rs []TaskGrade
	for _, e := range tasks.Exams {
		rs = append(rs, res(e, Passed, 2, 2), res(e, Passed, 3, 3))
	}
	return rs
}

func TestSummarize(t *testing.T) {
	with := func(rs []TaskGrade, i int, r TaskGrade) []TaskGrade {
		rs[i] = r
		return rs
	}
	for _, tc := range []struct {
		name        string
		thresholds  map[string]float64
		results     []TaskGrade
		wantVerdict Verdict
		wantOverall float64
		wantExam    ExamScore // checked when Name is set
	}{
		{name: "everything passes", results: full(), wantVerdict: Pass, wantOverall: 100},
		{
			name: "exactly at the threshold passes", thresholds: map[string]float64{"server": 60},
			results:     with(full(), 0, res("server", Failed, 0, 2)),
			wantVerdict: Pass, wantOverall: 92,
			wantExam: ExamScore{Name: "server", Points: 3, Possible: 5, Percent: 60, Threshold: 60, Verdict: Pass, Tasks: 2},
		},
		{
			name:        "one exam under 70% fails the certification",
			results:     with(full(), 0, res("server", Failed, 0, 2)),
			wantVerdict: Fail, wantOverall: 92,
			wantExam: ExamScore{Name: "server", Points: 3, Possible: 5, Percent: 60, Threshold: 70, Verdict: Fail, Tasks: 2},
		},
		{
			name: "a bank threshold above 70", thresholds: map[string]float64{"ui": 90},
			results:     with(full(), 5, res("ui", Failed, 2.5, 3)),
			wantVerdict: Pass, wantOverall: 98,
			wantExam: ExamScore{Name: "ui", Points: 4.5, Possible: 5, Percent: 90, Threshold: 90, Verdict: Pass, Tasks: 2},
		},
		{
			name:        "not gradable makes the exam incomplete, never a zero",
			results:     with(full(), 2, res("cli", NotGradable, 0, 2)),
			wantVerdict: Incomplete, wantOverall: 92,
			wantExam: ExamScore{Name: "cli", Points: 3, Possible: 5, Percent: 60, Threshold: 70, Verdict: Incomplete, Tasks: 2},
		},
		{
			name:        "a failed exam decides even when another is incomplete",
			results:     with(with(full(), 2, res("cli", NotGradable, 0, 2)), 0, res("server", Failed, 0, 2)),
			wantVerdict: Fail, wantOverall: 84,
		},
		{
			name:        "a task not graded (interrupted) leaves the certification incomplete, even beside a failed exam",
			results:     with(with(full(), 2, res("cli", NotGraded, 0, 2)), 0, res("server", Failed, 0, 2)),
			wantVerdict: Incomplete, wantOverall: 84,
		},
		{
			name:        "an exam with no graded task is not in the bank: the rest passed, partially",
			results:     full()[2:],
			wantVerdict: Partial, wantOverall: 100,
			wantExam: ExamScore{Name: "server", Threshold: 70, Verdict: NotInBank},
		},
		{
			name:        "an exam not in the bank beside a failed one fails",
			results:     append([]TaskGrade{res("cli", Failed, 0, 2)}, full()[4:]...),
			wantVerdict: Fail, wantOverall: 75,
			wantExam: ExamScore{Name: "server", Threshold: 70, Verdict: NotInBank},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Summarize(testBank(tc.thresholds), tc.results)
			if s.Verdict != tc.wantVerdict || s.Overall != tc.wantOverall {
				t.Errorf("Summarize = %s %g%%, want %s %g%%", s.Verdict, s.Overall, tc.wantVerdict, tc.wantOverall)
			}
			if len(s.Exams) != len(tasks.Exams) {
				t.Fatalf("got %d exams, want %d", len(s.Exams), len(tasks.Exams))
			}
			if tc.wantExam.Name == "" {
				return
			}
			for _, e := range s.Exams {
				if e.Name == tc.wantExam.Name && e != tc.wantExam {
					t.Errorf("exam = %+v, want %+v", e, tc.wantExam)
				}
			}
		})
	}
}

func TestSummaryLines(t *testing.T) {
	s := Summarize(testBank(nil), full()[2:6])
	var evs []examVerdict
	for _, ex := range s.Exams {
		evs = append(evs, examVerdict{ex.Name, ex.Verdict})
	}
	if got, want := overallLine(evs, s.Overall), "Overall: 100.0% of the 2 exams graded (of 5)"; got != want {
		t.Errorf("overall line %q, want %q", got, want)
	}
	if got, want := certificationLine(evs, s.Verdict), "Certification: PARTIAL (2 of 5 exams graded, all passed: cli, ui; the others are not in this bank)"; got != want {
		t.Errorf("certification line %q, want %q", got, want)
	}
	if got := s.GradedExams(); len(got) != 2 || got[0] != "cli" || got[1] != "ui" {
		t.Errorf("GradedExams = %v, want [cli ui]", got)
	}
	whole := Summarize(testBank(nil), full())
	evs = evs[:0]
	for _, ex := range whole.Exams {
		evs = append(evs, examVerdict{ex.Name, ex.Verdict})
	}
	if got, want := overallLine(evs, whole.Overall), "Overall: 100.0% (each exam weighs 20%)"; got != want {
		t.Errorf("overall line %q, want %q", got, want)
	}
	if got := certificationLine(evs, whole.Verdict); got != "Certification: PASS" {
		t.Errorf("certification line %q", got)
	}
}
