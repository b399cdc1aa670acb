package tamper

// Running the capability analysis over a candidate's change, and finding
// which tasks' tests reach what it found.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// nativeExts are files the go command compiles or links into a package
// beside its Go files: assembly, C and C++ (through cgo), object files.
var nativeExts = []string{".s", ".S", ".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".m", ".syso", ".f", ".F", ".f90"}

// jsExts are the JavaScript and TypeScript files the JS analysis reads.
var jsExts = []string{".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx"}

func hasExt(p string, exts []string) bool {
	return slices.Contains(exts, path.Ext(p))
}

// capScan collects the changed code of one comparison and analyses it.
type capScan struct {
	goDirs  map[string][]string // folder -> changed .go files (candidate side present)
	native  []treeChange        // changed assembly, C, object files
	js      []treeChange        // changed JS/TS files
	rego    []treeChange        // changed Rego files
	results []capFound
}

// capFound is a capability at a file.
type capFound struct {
	path string
	Capability
}

// note remembers a changed path the analysis must read.
func (cs *capScan) note(c treeChange) {
	if !c.cand.present() {
		return // a deletion adds no capability
	}
	p := c.path
	if !repo.InWorkspace(p) {
		return // the workspace leaves it out: it never runs
	}
	goIgnored := ignoredBelow(path.Dir(p), ".") || ignoredBelow(path.Dir(p), "")
	switch {
	case strings.HasSuffix(p, ".go") && goIgnored:
		// testdata, _ and . folders: the go command builds nothing there.
	case strings.HasSuffix(p, ".go"):
		if cs.goDirs == nil {
			cs.goDirs = map[string][]string{}
		}
		dir := path.Dir(p)
		cs.goDirs[dir] = append(cs.goDirs[dir], p)
	case hasExt(p, nativeExts) && !goIgnored:
		cs.native = append(cs.native, c)
	case hasExt(p, jsExts) && !underNodeModules(p):
		cs.js = append(cs.js, c)
	case path.Ext(p) == ".rego":
		cs.rego = append(cs.rego, c)
	}
}

func underNodeModules(p string) bool {
	return strings.HasPrefix(p, "node_modules/") || strings.Contains(p, "/node_modules/")
}

// run analyses what note collected.
func (cs *capScan) run(ctx context.Context, r *tamperRun) error {
	for _, c := range cs.native {
		cs.results = append(cs.results, capFound{c.path, Capability{Kind: report.CapUnsafe, Line: 0, Detail: "assembly, C or object file " + changeVerb(c) + " (the go command builds it into the package)"}})
	}
	if err := cs.runGo(ctx, r); err != nil {
		return err
	}
	for _, c := range cs.js {
		if err := cs.analyse(r, c, jsCapabilities); err != nil {
			return err
		}
	}
	rego := func(name string, cand, base []byte) ([]Capability, error) {
		return regoCapabilities(name, cand, base, r.rego)
	}
	for _, c := range cs.rego {
		if len(r.hidden[c.path]) > 0 {
			continue // grading puts the hidden file there instead
		}
		if err := cs.analyse(r, c, rego); err != nil {
			return err
		}
	}
	return nil
}

// analyse reads both sides of changed file c and adds what caps finds in
// it; a file too large to read, or one caps cannot analyse, is flagged
// "not analysed".
func (cs *capScan) analyse(r *tamperRun, c treeChange, caps func(name string, cand, base []byte) ([]Capability, error)) error {
	cand, base, big, err := r.bothSides(c)
	if err != nil {
		return err
	}
	if big != "" {
		cs.results = append(cs.results, capFound{c.path, Capability{Kind: report.CapFramework, Detail: "not analysed: " + big}})
		return nil
	}
	found, err := caps(c.path, cand, base)
	if err != nil {
		cs.results = append(cs.results, capFound{c.path, Capability{Kind: report.CapFramework, Detail: "not analysed: " + err.Error()}})
		return nil
	}
	for _, cp := range found {
		cs.results = append(cs.results, capFound{c.path, cp})
	}
	return nil
}

func (cs *capScan) runGo(ctx context.Context, r *tamperRun) error {
	if len(cs.goDirs) == 0 {
		return nil
	}
	type dirFiles struct{ cand, base []goFile }
	dirs := map[string]dirFiles{}
	var imports []string
	for _, dir := range slices.Sorted(maps.Keys(cs.goDirs)) {
		cand, big, err := goFilesIn(r.cand, dir)
		if err != nil {
			return err
		}
		for _, p := range big {
			if slices.Contains(cs.goDirs[dir], p) {
				cs.results = append(cs.results, capFound{p, Capability{Kind: report.CapUnsafe, Detail: fmt.Sprintf("not analysed: over the %d-byte parse limit", ParseBytes)}})
			}
		}
		base, _, err := goFilesIn(r.base, dir)
		if err != nil {
			return err
		}
		for _, f := range append(slices.Clone(cand), base...) {
			imports = append(imports, goImports(f.name, f.src)...)
		}
		dirs[dir] = dirFiles{cand, base}
	}
	imp := newStdImporter("")
	imp.prepare(ctx, imports)
	for _, dir := range slices.Sorted(maps.Keys(dirs)) {
		changed := cs.goDirs[dir]
		found := goCapabilities(imp, changed, dirs[dir].cand, dirs[dir].base)
		for _, p := range changed {
			for _, cp := range found[p] {
				cs.results = append(cs.results, capFound{p, cp})
			}
		}
	}
	return nil
}

// goFilesIn reads the Go files of folder dir of s (none when it has no
// such folder): regular files and symlinks to regular files of the tree,
// up to ParseBytes each; big lists those over. Names the go command
// ignores, and symlinks a workspace drops, are skipped.
func goFilesIn(s *repo.Snapshot, dir string) (out []goFile, big []string, err error) {
	t, err := treeAt(s, dir)
	if err != nil || t == nil {
		return nil, nil, err
	}
	for _, e := range t {
		if !strings.HasSuffix(e.Name, ".go") || strings.HasPrefix(e.Name, "_") || strings.HasPrefix(e.Name, ".") {
			continue
		}
		p := path.Join(dir, e.Name)
		te := treeEntry{hash: e.Hash, mode: e.Mode}
		if e.Mode == repo.ModeSymlink {
			if te, err = resolveLink(s, p, e.Hash); err != nil {
				continue // flagged by the tamper checks of that file
			}
		}
		if !te.regular() {
			continue
		}
		data, _, err := s.ReadBlob(te.hash, ParseBytes)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", p, err)
		}
		if data == nil {
			big = append(big, p)
			continue
		}
		out = append(out, goFile{name: p, src: data})
	}
	return out, big, nil
}

// treeAt returns the entries of folder dir of s ("." for the root), or
// nil when there is no such folder.
func treeAt(s *repo.Snapshot, dir string) ([]repo.Entry, error) {
	es, err := s.TreeAt(dir)
	if errors.Is(err, repo.ErrNotExist) {
		return nil, nil
	}
	return es, err
}

// reach maps each task of the bank to the files and folders its tests
// reach in the candidate's tree.
type reach struct {
	goDirs  map[string]map[string]bool // task -> package folders its tests build
	goRoots map[string]map[string]bool // task -> the folders it tests (their test files are built too)
	jsFiles map[string]map[string]bool // task -> JS files its tests load
	rego    map[string]map[string]bool // task -> Rego files opa loads
}

// maxReachFiles bounds the files a reach walk reads.
const maxReachFiles = 20000

// computeReach walks, for each task, the imports of its tests within the
// candidate's tree: Go packages of the main module (its path from the
// base's go.mod, which grading restores), and relative JS imports.
func computeReach(cand *repo.Snapshot, modulePath string, bank *tasks.Bank) *reach {
	rc := &reach{goDirs: map[string]map[string]bool{}, goRoots: map[string]map[string]bool{}, jsFiles: map[string]map[string]bool{}, rego: map[string]map[string]bool{}}
	if bank == nil {
		return rc
	}
	goImportsOf := map[string][]string{} // folder -> module-internal folders imported (non-test files)
	goTestImportsOf := map[string][]string{}
	readDir := func(dir string) {
		if _, ok := goImportsOf[dir]; ok {
			return
		}
		files, _, _ := goFilesIn(cand, dir)
		var imps, testImps []string
		for _, f := range files {
			for _, p := range goImports(f.name, f.src) {
				d, ok := moduleDir(modulePath, p)
				if !ok {
					continue
				}
				if strings.HasSuffix(f.name, "_test.go") {
					testImps = append(testImps, d)
				} else {
					imps = append(imps, d)
				}
			}
		}
		goImportsOf[dir], goTestImportsOf[dir] = imps, testImps
	}
	for _, t := range bank.Tasks {
		switch t.Runner {
		case tasks.RunnerGo:
			roots := goRootDirs(cand, t.Packages)
			var starts []string
			for d := range roots {
				readDir(d)
				// The tested folders' test files are built too.
				starts = append(append(starts, d), goTestImportsOf[d]...)
			}
			seen := reachFrom(starts, func(d string) []string {
				readDir(d)
				return goImportsOf[d]
			})
			rc.goDirs[t.ID], rc.goRoots[t.ID] = seen, roots
		case tasks.RunnerJS, tasks.RunnerJest:
			rc.jsFiles[t.ID] = jsReach(cand, t)
		case tasks.RunnerOPA:
			rc.rego[t.ID] = regoFilesOf(cand, t)
		}
	}
	return rc
}

// moduleDir maps an import path of the main module to its folder.
func moduleDir(modulePath, imp string) (string, bool) {
	if modulePath == "" {
		return "", false
	}
	if imp == modulePath {
		return ".", true
	}
	rest, ok := strings.CutPrefix(imp, modulePath+"/")
	return rest, ok
}

// goRootDirs are the folders of a task's package patterns ("./a",
// "./a/..."), as they exist in the tree.
func goRootDirs(s *repo.Snapshot, patterns []string) map[string]bool {
	out := map[string]bool{}
	for _, p := range patterns {
		p = strings.TrimPrefix(path.Clean(p), "./")
		if root, ok := strings.CutSuffix(p, "/..."); ok || p == "..." {
			if p == "..." {
				root = "."
			}
			walkDirs(s, root, func(d string) { out[d] = true })
			continue
		}
		out[p] = true
	}
	return out
}

// walkDirs calls f for root and every folder below it that a ... pattern
// matches (not testdata, vendor, or names starting with _ or .).
func walkDirs(s *repo.Snapshot, root string, f func(string)) {
	t, err := treeAt(s, root)
	if err != nil || t == nil {
		return
	}
	f(root)
	for _, e := range t {
		if e.Mode != repo.ModeDir || e.Name == "testdata" || e.Name == "vendor" || strings.HasPrefix(e.Name, "_") || strings.HasPrefix(e.Name, ".") {
			continue
		}
		walkDirs(s, path.Join(root, e.Name), f)
	}
}

// jsReach returns the JS files a JS task's hidden tests load: the hidden
// files, and every file they import, transitively, by relative path or
// from a node_modules folder of the tree.
func jsReach(s *repo.Snapshot, t *tasks.Task) map[string]bool {
	var starts []string
	for _, h := range t.Hidden {
		if hasExt(h.Path, jsExts) {
			starts = append(starts, h.Path)
		}
	}
	return reachFrom(starts, func(f string) []string {
		src := hiddenOr(t, f, s)
		if src == nil {
			return nil
		}
		specs, _ := jsImports(f, src)
		var next []string
		for _, spec := range specs {
			next = append(next, resolveJS(s, path.Dir(f), spec)...)
		}
		return next
	})
}

// reachFrom returns starts and everything next leads to from them,
// transitively, up to maxReachFiles nodes.
func reachFrom(starts []string, next func(string) []string) map[string]bool {
	seen := map[string]bool{}
	queue := starts
	for len(queue) > 0 && len(seen) < maxReachFiles {
		n := queue[0]
		queue = queue[1:]
		if seen[n] {
			continue
		}
		seen[n] = true
		queue = append(queue, next(n)...)
	}
	return seen
}

// hiddenOr returns the content of file f as a run sees it: the task's
// hidden file, or the candidate's.
func hiddenOr(t *tasks.Task, f string, s *repo.Snapshot) []byte {
	for _, h := range t.Hidden {
		if h.Path == f {
			return h.Data
		}
	}
	data, err := s.ReadFile(f)
	if err != nil || len(data) > ParseBytes {
		return nil
	}
	return data
}

// resolveJS returns the files an import specifier may load from folder
// dir: for a relative one, the file itself or with a JS extension, or an
// index file; for a bare one, the files of that package in the nearest
// node_modules folders of the tree. Builtins ("node:...") load no file.
func resolveJS(s *repo.Snapshot, dir, spec string) []string {
	if strings.HasPrefix(spec, "node:") {
		return nil
	}
	exists := func(p string) bool {
		_, err := s.ReadFile(p)
		return err == nil
	}
	if strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../") || strings.HasPrefix(spec, "/") {
		p := path.Join(dir, spec)
		if strings.HasPrefix(spec, "/") || p == ".." || strings.HasPrefix(p, "../") {
			return nil
		}
		var out []string
		for _, cand := range append([]string{p}, jsCandidates(p)...) {
			if exists(cand) {
				out = append(out, cand)
			}
		}
		return out
	}
	// A bare specifier: "pkg" or "@scope/pkg", maybe with a subpath.
	parts := strings.SplitN(spec, "/", 3)
	name := parts[0]
	if strings.HasPrefix(name, "@") && len(parts) > 1 {
		name += "/" + parts[1]
	}
	var out []string
	for d := dir; ; d = path.Dir(d) {
		root := path.Join(d, "node_modules", name)
		if t, _ := treeAt(s, root); t != nil {
			walkFiles(s, root, func(p string) {
				if hasExt(p, jsExts) {
					out = append(out, p)
				}
			})
			return out
		}
		if d == "." || d == "/" || d == "" {
			return nil
		}
	}
}

// jsCandidates are the files Node and bundlers try for an import of p
// without an extension.
func jsCandidates(p string) []string {
	var out []string
	for _, ext := range jsExts {
		out = append(out, p+ext, path.Join(p, "index"+ext))
	}
	return out
}

// walkFiles calls f for every regular file below root, up to
// maxReachFiles.
func walkFiles(s *repo.Snapshot, root string, f func(string)) {
	n := 0
	var walk func(string)
	walk = func(dir string) {
		t, err := treeAt(s, dir)
		if err != nil || t == nil {
			return
		}
		for _, e := range t {
			if n >= maxReachFiles {
				return
			}
			p := path.Join(dir, e.Name)
			if e.Mode == repo.ModeDir {
				walk(p)
				continue
			}
			n++
			f(p)
		}
	}
	walk(root)
}

// reachedBy returns the tasks whose tests reach file p.
func (rc *reach) reachedBy(p string) []string {
	var ids []string
	dir := path.Dir(p)
	isTest := strings.HasSuffix(p, "_test.go")
	for id, dirs := range rc.goDirs {
		if !dirs[dir] {
			continue
		}
		// Test files are built only in the folders the task tests.
		if isTest && !rc.goRoots[id][dir] {
			continue
		}
		if strings.HasSuffix(p, ".go") || hasExt(p, nativeExts) {
			ids = append(ids, id)
		}
	}
	for id, files := range rc.jsFiles {
		if files[p] {
			ids = append(ids, id)
		}
	}
	for id, files := range rc.rego {
		if files[p] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
