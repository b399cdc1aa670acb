package report

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cmcgrader/cmcgrader/tasks"
)

// Hold says a task's tests reach candidate code with a capability that can
// reach the test process's output, exit status or test framework (see
// Capability): what that code can do in-process, the supervisor cannot
// see. The task keeps the points its run earned, but its exam is
// INCOMPLETE, never PASS, until a proctor decides (Review).
type Hold struct {
	// Flags are the capabilities that hold the task, one line each
	// ("path:line kind: detail").
	Flags []string `json:"flags"`
	// Review is the proctor's decision; nil until there is one.
	Review *Review `json:"review,omitempty"`
}

// Decision is what a proctor decides on a held task.
type Decision string

// Decisions a proctor takes on a held task.
const (
	// Accept: the flagged code is innocent; the task keeps its points.
	Accept Decision = "accept"
	// Reject: the flagged code forged or could have forged the result;
	// the task scores 0.
	Reject Decision = "reject"
)

// Review is a proctor's decision on a held task.
type Review struct {
	Decision Decision  `json:"decision"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
	// Points are the task's points before the decision.
	Points float64 `json:"points"`
}

// pending says the task waits for a proctor's decision.
func (h *Hold) pending() bool { return h != nil && h.Review == nil }

// ApplyHolds holds each task that earned points and whose tests reach a
// flagged capability. A task that earned nothing is not held: no flagged
// code gave it anything to review.
func ApplyHolds(results []TaskGrade, flags []TamperFlag) {
	for i := range results {
		r := &results[i]
		if r.Points <= 0 {
			continue
		}
		for _, f := range flags {
			if !slices.Contains(f.Reached, r.ID) {
				continue
			}
			if r.Hold == nil {
				r.Hold = &Hold{}
			}
			where := f.Path
			if f.Line > 0 {
				where = fmt.Sprintf("%s:%d", f.Path, f.Line)
			}
			r.Hold.Flags = append(r.Hold.Flags, where+" "+string(f.Kind)+": "+f.Detail)
		}
	}
}

// ErrReview marks a review that cannot be recorded (unknown task, a task
// not held, a decision already taken, no reason).
var ErrReview = errors.New("review")

// Review records a proctor's decision on held task id, at time at, and
// updates the exam scores and the verdicts (from the report's own exams
// and pass marks). Reject scores the task 0.
func (r *Report) Review(id string, decision Decision, reason string, at time.Time) error {
	if decision != Accept && decision != Reject {
		return fmt.Errorf("%w: decision %q: want %s or %s", ErrReview, decision, Accept, Reject)
	}
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("%w: give the reason for the decision (--reason)", ErrReview)
	}
	for i := range r.Tasks {
		t := &r.Tasks[i]
		if t.ID != id {
			continue
		}
		switch {
		case t.Hold == nil:
			return fmt.Errorf("%w: task %s is not held for review", ErrReview, id)
		case t.Hold.Review != nil:
			return fmt.Errorf("%w: task %s was already reviewed (%s at %s)", ErrReview, id, t.Hold.Review.Decision, t.Hold.Review.At.Format(time.RFC3339))
		}
		t.Hold.Review = &Review{Decision: decision, Reason: reason, At: at.UTC(), Points: t.Points}
		if decision == Reject {
			t.Points = 0
			t.Reason = "rejected on review: " + reason
		}
		exams := &tasks.Bank{}
		for _, ex := range r.Exams {
			exams.Exams = append(exams.Exams, tasks.Exam{Name: ex.Name, Threshold: ex.Threshold})
		}
		r.Summary = Summarize(exams, r.Tasks)
		return nil
	}
	return fmt.Errorf("%w: the report has no task %s", ErrReview, id)
}
