package tasks

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Task returns the task with the given id, or nil.
func (b *Bank) Task(id string) *Task {
	for _, t := range b.Tasks {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// Exam returns the named exam with its threshold, or the zero Exam when
// name is not one of Exams.
func (b *Bank) Exam(name string) Exam {
	for _, e := range b.Exams {
		if e.Name == name {
			return e
		}
	}
	return Exam{}
}

// TasksFor returns the tasks of one exam, sorted by id.
func (b *Bank) TasksFor(exam string) []*Task {
	var out []*Task
	for _, t := range b.Tasks {
		if t.Exam == exam {
			out = append(out, t)
		}
	}
	return out
}

// Possible returns the points the task is worth (its Points).
func (t *Task) Possible() float64 { return t.Points }

// Subset returns a copy of the bank holding only the tasks with the given
// ids, in bank order. The copy keeps the bank's name, base, exams and
// digest: it grades part of the same bank. An unknown id is an error that
// lists the bank's ids.
func (b *Bank) Subset(ids []string) (*Bank, error) {
	want := map[string]bool{}
	for _, id := range ids {
		if b.Task(id) == nil {
			known := make([]string, len(b.Tasks))
			for i, t := range b.Tasks {
				known[i] = t.ID
			}
			return nil, fmt.Errorf("task %q is not in bank %s; its tasks are %s", id, b.Name, strings.Join(known, ", "))
		}
		want[id] = true
	}
	sub := *b
	sub.Tasks = nil
	for _, t := range b.Tasks {
		if want[t.ID] {
			sub.Tasks = append(sub.Tasks, t)
		}
	}
	return &sub, nil
}

// GoPackages are the package patterns of the bank's Go tasks, sorted and
// without repeats.
func (bank *Bank) GoPackages() []string {
	var pkgs []string
	for _, t := range bank.Tasks {
		if t.Runner == RunnerGo {
			pkgs = append(pkgs, t.Packages...)
		}
	}
	slices.Sort(pkgs)
	return slices.Compact(pkgs)
}

// GoHiddenFiles are the hidden files of the bank's Go tasks, by path; when
// two tasks hide a file at the same path, the first task's is kept (the
// files only tell the warm build what to compile).
func (bank *Bank) GoHiddenFiles() map[string][]byte {
	files := map[string][]byte{}
	for _, t := range bank.Tasks {
		if t.Runner != RunnerGo {
			continue
		}
		for _, h := range t.Hidden {
			if _, ok := files[h.Path]; !ok {
				files[h.Path] = h.Data
			}
		}
	}
	return files
}

// WriteText lists the bank for a proctor: its name, Go version and
// digest, then one row per task.
func (b *Bank) WriteText(w io.Writer) error {
	ew := bufio.NewWriter(w)
	fmt.Fprintf(ew, "bank %s: %d tasks, Go %s, digest %s\n", b.Name, len(b.Tasks), b.Go, b.Digest)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EXAM\tTASK\tPOINTS\tSCORING\tRUNNER\tDIFFICULTY\tTITLE")
	for _, t := range b.Tasks {
		fmt.Fprintf(tw, "%s\t%s\t%g\t%s\t%s\t%s\t%s\n", t.Exam, t.ID, t.Points, t.Scoring, t.Runner, t.Difficulty, t.Title)
	}
	tw.Flush()
	return ew.Flush()
}
