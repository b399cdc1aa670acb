package tamper

// Go sources: build constraints, and TestMain and init functions in the
// packages under test.

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// pkgKey names a Go package: its folder and its package clause (a folder
// may hold p and p_test).
type pkgKey struct{ dir, name string }

// pkgDelta counts, over a package's changed files, the TestMain and init
// functions the candidate has beyond the base.
type pkgDelta struct {
	testMain, inits int
	// testMainFiles and initFiles are the candidate's files that
	// declare more of them than their base version.
	testMainFiles, initFiles []string
	tasks                    []string
}

// checkGo flags build constraints added or changed, and counts TestMain
// and init functions when the file is in a package under test. A symlink
// there is read through: the go command compiles what it points to.
func (r *tamperRun) checkGo(c treeChange) error {
	dir := path.Dir(c.path)
	if dir == "." {
		dir = ""
	}
	ids := r.tasksOf(dir, path.Base(c.path))
	if c.cand.mode == repo.ModeSymlink && len(ids) > 0 {
		target, err := resolveLink(r.cand, c.path, c.cand.hash)
		if err != nil {
			r.flag(report.TamperInit, c.path, oneTask(ids), "Go file "+changeVerb(c)+" in a package tested by "+strings.Join(ids, ", ")+"; not checked: "+err.Error())
			return nil
		}
		c.cand = target
	}
	if !c.cand.regular() {
		return nil
	}
	cand, base, big, err := r.bothSides(c)
	if err != nil {
		return err
	}
	if big != "" {
		r.flag(report.TamperBuildTag, c.path, "", "Go file "+changeVerb(c)+"; build constraints not checked: "+big)
		if len(ids) > 0 {
			r.flag(report.TamperInit, c.path, oneTask(ids), "TestMain and init functions not checked in a package tested by "+strings.Join(ids, ", ")+": "+big)
		}
		return nil
	}
	ci := parseGo(c.path, cand, len(ids) > 0)
	bi := parseGo(c.path, base, len(ids) > 0)
	if !slices.Equal(ci.constraints, bi.constraints) {
		switch {
		case len(ci.constraints) == 0:
			r.flag(report.TamperBuildTag, c.path, "", "build constraint removed: "+strings.Join(bi.constraints, "; "))
		case len(bi.constraints) == 0:
			r.flag(report.TamperBuildTag, c.path, "", "build constraint added: "+strings.Join(ci.constraints, "; "))
		default:
			r.flag(report.TamperBuildTag, c.path, "", "build constraint changed from "+strings.Join(bi.constraints, "; ")+" to "+strings.Join(ci.constraints, "; "))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if bi.pkg != "" {
		bd := r.delta(pkgKey{dir: dir, name: bi.pkg}, ids)
		bd.testMain -= bi.testMain
		bd.inits -= bi.inits
	}
	if ci.pkg == "" {
		return nil
	}
	d := r.delta(pkgKey{dir: dir, name: ci.pkg}, ids)
	d.testMain += ci.testMain
	d.inits += ci.inits
	same := bi.pkg == ci.pkg
	if ci.testMain > 0 && (!same || ci.testMain > bi.testMain) {
		d.testMainFiles = append(d.testMainFiles, c.path)
	}
	if ci.inits > 0 && (!same || ci.inits > bi.inits) {
		d.initFiles = append(d.initFiles, c.path)
	}
	return nil
}

// resolveLink follows the symlink at pth (blob h) of s to a regular file
// of the tree, one level deep.
func resolveLink(s *repo.Snapshot, pth string, h repo.Hash) (treeEntry, error) {
	target, ok, err := s.LinkTarget(h)
	if err != nil {
		return treeEntry{}, err
	}
	if !ok || strings.HasPrefix(target, "/") {
		return treeEntry{}, errors.New("a symlink with an absolute or invalid target")
	}
	full := path.Join(path.Dir(pth), target)
	if full == "." || full == ".." || strings.HasPrefix(full, "../") {
		return treeEntry{}, errors.New("a symlink out of the repository")
	}
	e, err := s.Lookup(full)
	if err != nil {
		return treeEntry{}, fmt.Errorf("a symlink to %s, which is not a regular file of the tree", displayPath(full))
	}
	if !e.Mode.Regular() {
		return treeEntry{}, fmt.Errorf("a symlink to %s, which is not a regular file", displayPath(full))
	}
	return treeEntry{hash: e.Hash, mode: e.Mode}, nil
}

func (r *tamperRun) delta(k pkgKey, ids []string) *pkgDelta {
	d := r.pkgs[k]
	if d == nil {
		d = &pkgDelta{tasks: ids}
		r.pkgs[k] = d
	}
	return d
}

// flagPackages flags the packages under test that gained a TestMain or
// init functions, naming the files that declare them.
func (r *tamperRun) flagPackages() {
	keys := slices.SortedFunc(maps.Keys(r.pkgs), func(a, b pkgKey) int {
		if c := strings.Compare(a.dir, b.dir); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	for _, k := range keys {
		d := r.pkgs[k]
		where := "package " + k.name + " in " + displayDir(k.dir) + ", tested by " + strings.Join(d.tasks, ", ")
		if d.testMain > 0 {
			for _, f := range d.testMainFiles {
				r.flag(report.TamperTestMain, f, oneTask(d.tasks), "new TestMain in "+where)
			}
		}
		if d.inits > 0 {
			for _, f := range d.initFiles {
				r.flag(report.TamperInit, f, oneTask(d.tasks), fmt.Sprintf("%d more init function(s) than the base in %s", d.inits, where))
			}
		}
	}
}

// goInfo is what Scan reads from a Go file.
type goInfo struct {
	pkg             string
	constraints     []string
	testMain, inits int
}

// parseGo reads a Go file's build constraints and, when decls is set, its
// package name and its TestMain and init functions. A file that does not
// parse gives what was read before the error; nil src gives nothing.
func parseGo(name string, src []byte, decls bool) goInfo {
	var gi goInfo
	if src == nil {
		return gi
	}
	mode := parser.ParseComments | parser.SkipObjectResolution
	if !decls {
		mode |= parser.PackageClauseOnly
	}
	f, _ := parser.ParseFile(token.NewFileSet(), name, src, mode)
	if f == nil {
		return gi
	}
	for _, g := range f.Comments {
		if f.Package.IsValid() && g.Pos() > f.Package {
			break
		}
		for _, c := range g.List {
			if constraint.IsGoBuild(c.Text) || constraint.IsPlusBuild(c.Text) {
				gi.constraints = append(gi.constraints, strings.Join(strings.Fields(c.Text), " "))
			}
		}
	}
	if f.Name != nil {
		gi.pkg = f.Name.Name
	}
	isTest := strings.HasSuffix(name, "_test.go")
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Name == nil {
			continue
		}
		switch {
		case fd.Name.Name == "init":
			gi.inits++
		case fd.Name.Name == "TestMain" && isTest:
			gi.testMain++
		}
	}
	return gi
}

// goScope maps the folders of the bank's Go packages to the tasks that
// test them. A "./dir/..." pattern is kept as "dir/..." ("..." for the
// whole tree).
func goScope(bank *tasks.Bank) map[string][]string {
	scope := map[string][]string{}
	if bank == nil {
		return scope
	}
	for _, t := range bank.Tasks {
		if t.Runner != tasks.RunnerGo {
			continue
		}
		for _, p := range t.Packages {
			p = strings.TrimPrefix(path.Clean(p), "./")
			if p == "." {
				p = ""
			}
			if !slices.Contains(scope[p], t.ID) {
				scope[p] = append(scope[p], t.ID)
			}
		}
	}
	for _, ids := range scope {
		slices.Sort(ids)
	}
	return scope
}

// tasksOf returns the tasks whose Go packages hold the file named file in
// folder dir ("" for the root). Files the go command ignores (names
// starting with _ or .) and folders it does not match with ... (testdata,
// vendor, names starting with _ or .) are in no package under test.
func (r *tamperRun) tasksOf(dir, file string) []string {
	if strings.HasPrefix(file, "_") || strings.HasPrefix(file, ".") {
		return nil
	}
	var ids []string
	add := func(more []string) {
		for _, id := range more {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	add(r.scope[dir])
	// Walk up for "dir/..." patterns; ... skips testdata, vendor and
	// names starting with _ or . below the pattern's root.
	d := dir
	for {
		var pattern string
		if d == "" {
			pattern = "..."
		} else {
			pattern = d + "/..."
		}
		if ids2, ok := r.scope[pattern]; ok && !ignoredBelow(dir, d) {
			add(ids2)
		}
		if d == "" {
			break
		}
		if i := strings.LastIndexByte(d, '/'); i >= 0 {
			d = d[:i]
		} else {
			d = ""
		}
	}
	slices.Sort(ids)
	return ids
}

// ignoredBelow reports whether a ... pattern rooted at root skips dir.
func ignoredBelow(dir, root string) bool {
	rel := strings.TrimPrefix(strings.TrimPrefix(dir, root), "/")
	if rel == "" {
		return false
	}
	for _, c := range strings.Split(rel, "/") {
		if c == "testdata" || c == "vendor" || strings.HasPrefix(c, "_") || strings.HasPrefix(c, ".") {
			return true
		}
	}
	return false
}
