package report

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/gradertest"
)

func TestHoldAndReview(t *testing.T) {
	bank := gradertest.Bank()
	results := func() []TaskGrade {
		return []TaskGrade{{ID: "server-h", Exam: "server", Status: Passed, Points: 2, Possible: 2}}
	}
	flags := []TamperFlag{
		{Kind: CapStdio, Path: "server/x.go", Line: 7, Detail: "writes os.Stdout itself", Reached: []string{"server-h"}},
		{Kind: CapInit, Path: "server/other/y.go", Line: 3, Detail: "init function"}, // reached by no task: listed only
	}
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		decision Decision
		points   float64
		verdict  Verdict
	}{
		{"accepted", Accept, 2, Pass},
		{"rejected", Reject, 0, Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := results()
			ApplyHolds(rs, flags)
			if rs[0].Hold == nil || len(rs[0].Hold.Flags) != 1 || rs[0].Hold.Flags[0] != "server/x.go:7 stdio: writes os.Stdout itself" {
				t.Fatalf("hold = %+v, want one flag naming file:line", rs[0].Hold)
			}
			rep := &Report{Tasks: rs, Summary: Summarize(bank, rs)}
			if rep.Exams[0].Verdict != Incomplete || rep.Verdict == Pass {
				t.Fatalf("held: server %s, certification %s; want INCOMPLETE and not PASS", rep.Exams[0].Verdict, rep.Verdict)
			}
			if got := candidateResult(rep.Tasks[0]); got != ResultPending {
				t.Errorf("candidate sees %q for a held task, want %q", got, ResultPending)
			}
			if err := rep.Review("server-h", tc.decision, "read the code", at); err != nil {
				t.Fatal(err)
			}
			tr := rep.Tasks[0]
			if tr.Points != tc.points || tr.Hold.Review.Decision != tc.decision || tr.Hold.Review.Points != 2 || !tr.Hold.Review.At.Equal(at) {
				t.Errorf("after %s: points %g, review %+v", tc.decision, tr.Points, tr.Hold.Review)
			}
			if rep.Exams[0].Verdict != tc.verdict {
				t.Errorf("after %s: server %s, want %s", tc.decision, rep.Exams[0].Verdict, tc.verdict)
			}
			if err := rep.Review("server-h", Accept, "again", at); !errors.Is(err, ErrReview) || !strings.Contains(err.Error(), "already reviewed") {
				t.Errorf("a second review: %v", err)
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		rep := &Report{Tasks: results()}
		for _, tc := range []struct {
			id       string
			decision Decision
			reason   string
			want     string
		}{
			{"server-h", Accept, "ok", "not held"},
			{"nope", Accept, "ok", "no task nope"},
			{"server-h", "maybe", "ok", "want accept or reject"},
			{"server-h", Accept, " ", "give the reason"},
		} {
			if err := rep.Review(tc.id, tc.decision, tc.reason, at); !errors.Is(err, ErrReview) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Review(%q, %q, %q) = %v, want %q", tc.id, tc.decision, tc.reason, err, tc.want)
			}
		}
	})
	t.Run("no points, no hold", func(t *testing.T) {
		rs := results()
		rs[0].Points, rs[0].Status = 0, Failed
		ApplyHolds(rs, flags)
		if rs[0].Hold != nil {
			t.Errorf("a task that earned nothing was held: %+v", rs[0].Hold)
		}
	})
}
