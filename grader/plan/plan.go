package plan

import (
	"bytes"
	"path"
	"slices"
	"strings"

	"github.com/cmcgrader/cmcgrader/grader/testout"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// Units splits ts into units graded together: Go tasks that can share a
// run (see Compatible) form one unit, greedily in bank order; every
// other task is a unit of its own. Units hold indexes into ts, in bank
// order; the unit of the first Go task comes first, so that the longest
// run starts first and lighter ones fill the other slots.
func Units(ts []*tasks.Task) [][]int {
	var goUnits, others [][]int
	for i, t := range ts {
		if t.Runner != tasks.RunnerGo {
			others = append(others, []int{i})
			continue
		}
		placed := false
		for u := range goUnits {
			if compatibleWith(ts, goUnits[u], t) {
				goUnits[u] = append(goUnits[u], i)
				placed = true
				break
			}
		}
		if !placed {
			goUnits = append(goUnits, []int{i})
		}
	}
	return append(goUnits, others...)
}

// compatibleWith reports whether t can join the unit.
func compatibleWith(ts []*tasks.Task, unit []int, t *tasks.Task) bool {
	for _, j := range unit {
		if !Compatible(ts[j], t) {
			return false
		}
	}
	return true
}

// Compatible reports whether Go tasks a and b can run in one go test
// invocation and each still see what it would see alone: no hidden path
// with different content, the same restored files, and no test name
// declared by both in the same folder (a test's result is found by its
// package and name).
func Compatible(a, b *tasks.Task) bool {
	if a.Runner != tasks.RunnerGo || b.Runner != tasks.RunnerGo {
		return false
	}
	for _, h := range a.Hidden {
		for _, o := range b.Hidden {
			if h.Path == o.Path && !bytes.Equal(h.Data, o.Data) {
				return false
			}
		}
	}
	ra, rb := slices.Clone(a.Restore), slices.Clone(b.Restore)
	slices.Sort(ra)
	slices.Sort(rb)
	if !slices.Equal(slices.Compact(ra), slices.Compact(rb)) {
		return false
	}
	shared := false
	for _, d := range Dirs(a) {
		shared = shared || slices.Contains(Dirs(b), d)
	}
	if shared {
		for _, n := range a.Tests {
			top, _, _ := strings.Cut(n, "/")
			for _, m := range b.Tests {
				if o, _, _ := strings.Cut(m, "/"); o == top {
					return false
				}
			}
		}
	}
	return true
}

// Dirs returns the folders of t's hidden test files, sorted, by slash
// path from the repository root ("." for the root): the test binaries
// whose output holds t's hidden tests.
func Dirs(t *tasks.Task) []string {
	var dirs []string
	for _, h := range t.Hidden {
		if strings.HasSuffix(h.Path, "_test.go") {
			dirs = append(dirs, path.Dir(h.Path))
		}
	}
	slices.Sort(dirs)
	return slices.Compact(dirs)
}

// Merge makes one task that runs the hidden tests of all of ts: the union
// of their packages, tests, hidden and restored files, with the sum of
// their timeouts. Its ID joins theirs with "+".
func Merge(ts []*tasks.Task) *tasks.Task {
	ids := make([]string, len(ts))
	m := &tasks.Task{Runner: tasks.RunnerGo}
	seen := map[string]bool{}
	for i, t := range ts {
		ids[i] = t.ID
		m.Timeout += t.Timeout
		for _, p := range t.Packages {
			if !slices.Contains(m.Packages, p) {
				m.Packages = append(m.Packages, p)
			}
		}
		for _, n := range t.Tests {
			if !slices.Contains(m.Tests, n) {
				m.Tests = append(m.Tests, n)
			}
		}
		for _, h := range t.Hidden {
			if !seen[h.Path] {
				seen[h.Path] = true
				m.Hidden = append(m.Hidden, h)
			}
		}
		for _, r := range t.Restore {
			if !slices.Contains(m.Restore, r) {
				m.Restore = append(m.Restore, r)
			}
		}
	}
	m.ID = strings.Join(ids, "+")
	return m
}

// Split gives each task of ts its share of res, the results of their
// merged run: the results of the task's own tests (and their subtests)
// reported under the import paths of the task's hidden folders (pkgs maps
// a folder, as Dirs names it, to the import path its test binary
// reported). A folder missing from pkgs contributes nothing. The build outcome and completeness are the run's, for every
// task.
func Split(ts []*tasks.Task, res *testout.Results, pkgs map[string]string) []*testout.Results {
	out := make([]*testout.Results, len(ts))
	for i, t := range ts {
		own, asked := map[string]bool{}, map[string]bool{}
		for _, d := range Dirs(t) {
			if p, ok := pkgs[d]; ok {
				own[p] = true
			}
		}
		for _, n := range t.Tests {
			top, _, _ := strings.Cut(n, "/")
			asked[top] = true
		}
		r := &testout.Results{BuildFailed: res.BuildFailed, BuildOutput: res.BuildOutput, Incomplete: res.Incomplete, StrayFraming: res.StrayFraming}
		for _, x := range res.Tests {
			if top, _, _ := strings.Cut(x.Name, "/"); own[x.Package] && asked[top] {
				r.Tests = append(r.Tests, x)
			}
		}
		out[i] = r
	}
	return out
}
