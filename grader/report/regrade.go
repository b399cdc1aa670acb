package report

import (
	"bufio"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/cmcgrader/cmcgrader/internal/escape"
)

// TaskMark is a task's status and points in one report, as a
// comparison shows them.
type TaskMark struct {
	Status Status  `json:"status"`
	Points float64 `json:"points"`
}

// TaskChange compares one task's grade in two reports.
type TaskChange struct {
	ID string `json:"id"`
	// Old and New are nil when the task is not in that report.
	Old *TaskMark `json:"old"`
	New *TaskMark `json:"new"`
	// Same says both reports hold the task with the same status and
	// points.
	Same bool `json:"same"`
}

// Comparison is what re-grading a receipt gave beside the first grading.
type Comparison struct {
	// Tasks are the old report's tasks in order, then any the new one
	// added.
	Tasks []TaskChange `json:"tasks"`
	// Inputs name the receipt entries that differ between the two
	// gradings ("image.node: v20.19.2 → v22.1.0"); empty when the inputs
	// were the same.
	Inputs []string `json:"inputs,omitempty"`
}

// Compare compares the grades of two reports of the same submission, task
// by task, and their receipts' inputs.
func Compare(before, after *Report) *Comparison {
	c := &Comparison{}
	newByID := map[string]*TaskMark{}
	for _, t := range after.Tasks {
		newByID[t.ID] = &TaskMark{Status: t.Status, Points: t.Points}
	}
	seen := map[string]bool{}
	for _, t := range before.Tasks {
		seen[t.ID] = true
		o := &TaskMark{Status: t.Status, Points: t.Points}
		n := newByID[t.ID]
		c.Tasks = append(c.Tasks, TaskChange{ID: t.ID, Old: o, New: n, Same: n != nil && *n == *o})
	}
	for _, t := range after.Tasks {
		if !seen[t.ID] {
			c.Tasks = append(c.Tasks, TaskChange{ID: t.ID, New: newByID[t.ID]})
		}
	}
	c.Inputs = before.Receipt.Diff(after.Receipt)
	return c
}

// Diff lists the inputs that differ between receipts a and b, one line
// each ("field: a → b"); none when they record the same grading.
func (a *Receipt) Diff(b *Receipt) []string {
	if a == nil || b == nil {
		if a == b {
			return nil
		}
		return []string{"receipt: only one of the reports has one"}
	}
	var out []string
	diff := func(name string, x, y any) {
		if x != y {
			out = append(out, fmt.Sprintf("%s: %v → %v", name, x, y))
		}
	}
	diff("repository", a.Repository, b.Repository)
	diff("commit", a.Commit, b.Commit)
	diff("tree", a.Tree, b.Tree)
	diff("base.repository", a.Base.Repository, b.Base.Repository)
	diff("base.commit", a.Base.Commit, b.Base.Commit)
	diff("bank.digest", a.Bank.Digest, b.Bank.Digest)
	tasks := map[string]TaskDigest{}
	for _, t := range b.Bank.Tasks {
		tasks[t.ID] = t
	}
	for _, t := range a.Bank.Tasks {
		u, ok := tasks[t.ID]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("bank.tasks: %s not graded again", t.ID))
		case u != t:
			out = append(out, fmt.Sprintf("bank.tasks: %s differs", t.ID))
		}
	}
	diff("image.id", a.Image.ID, b.Image.ID)
	diff("image.go", a.Image.Go, b.Image.Go)
	diff("image.node", a.Image.Node, b.Image.Node)
	diff("image.opa", a.Image.OPA, b.Image.OPA)
	diff("image.jest", a.Image.Jest, b.Image.Jest)
	diff("image.js_lockfile", a.Image.JSLockfile, b.Image.JSLockfile)
	diff("limits", a.Limits, b.Limits)
	diff("grader_version", a.GraderVersion, b.GraderVersion)
	return out
}

// WriteText writes the comparison as a table, task | old | new |
// same/DIFFERENT, followed by the verdict and any differing inputs. The
// old report is a file anyone may have edited, and its receipt names the
// candidate's repository: every string from it is escaped.
func (c *Comparison) WriteText(w io.Writer) error {
	ew := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tOLD\tNEW\tCOMPARED")
	differ := 0
	for _, t := range c.Tasks {
		same := "same"
		if !t.Same {
			same = "DIFFERENT"
			differ++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", escape.Line(t.ID), gradeText(t.Old), gradeText(t.New), same)
	}
	tw.Flush()
	if differ == 0 {
		fmt.Fprintf(ew, "identical: all %d tasks got the same status and points\n", len(c.Tasks))
	} else {
		fmt.Fprintf(ew, "DIFFERENT: %d of %d tasks got another status or points\n", differ, len(c.Tasks))
	}
	for _, in := range c.Inputs {
		fmt.Fprintf(ew, "input differs: %s\n", escape.Line(in))
	}
	return ew.Flush()
}

func gradeText(g *TaskMark) string {
	if g == nil {
		return "(not graded)"
	}
	return fmt.Sprintf("%s %g", escape.Line(string(g.Status)), g.Points)
}
