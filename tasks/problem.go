package tasks

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is matched by errors.Is for every error Load returns about a
// bad bank (as opposed to a bank folder that cannot be found).
var ErrInvalid = errors.New("invalid bank")

// Problem is one thing wrong with a bank.
type Problem struct {
	// File is the file (or folder) at fault, slash-separated and relative
	// to the bank folder, e.g. "tasks/server-health/task.yaml".
	File string
	// Field is the YAML field at fault, dotted for nested fields
	// ("points", "base.ref", "exams.ui.threshold"). Empty when the problem
	// is the file itself (missing, too large, not valid YAML, a symlink).
	Field string
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error returns "file: field: msg", or "file: msg" without a field.
func (p Problem) Error() string {
	if p.Field == "" {
		return p.File + ": " + p.Msg
	}
	return p.File + ": " + p.Field + ": " + p.Msg
}

// BankError is the error Load returns for a bad bank. It lists every
// problem found, sorted by file, so that a bank author can fix them all at
// once. It matches ErrInvalid and, through errors.As, each Problem.
type BankError struct {
	// Dir is the bank folder as given to Load.
	Dir string
	// Problems holds at least one problem, sorted by File (and in the
	// order found within a file).
	Problems []Problem
}

// Error returns a summary line followed by one line per problem.
func (e *BankError) Error() string {
	var b strings.Builder
	n := len(e.Problems)
	fmt.Fprintf(&b, "invalid bank %s: %d problem", e.Dir, n)
	if n != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns ErrInvalid followed by each problem.
func (e *BankError) Unwrap() []error {
	errs := make([]error, 0, len(e.Problems)+1)
	errs = append(errs, ErrInvalid)
	for _, p := range e.Problems {
		errs = append(errs, p)
	}
	return errs
}

// problems collects what is wrong with a bank while it loads.
type problems struct {
	list []Problem
}

func (ps *problems) add(file, field, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: file, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// err returns nil when nothing was found, or a *BankError with the
// problems sorted by file and without repeats.
func (ps *problems) err(dir string) error {
	if len(ps.list) == 0 {
		return nil
	}
	list := make([]Problem, len(ps.list))
	copy(list, ps.list)
	sort.SliceStable(list, func(i, j int) bool { return list[i].File < list[j].File })
	out := list[:0]
	seen := make(map[Problem]bool, len(list))
	for _, p := range list {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return &BankError{Dir: dir, Problems: out}
}
