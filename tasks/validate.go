package tasks

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"path"
	"strings"
	"time"

	"github.com/cmcgrader/cmcgrader/internal/gitref"
)

// checkBank validates bank.yaml as decoded in s and fills b.
// Fields in failed were reported while decoding and are not checked again.
func checkBank(probs *problems, failed map[string]bool, s *bankSpec, b *Bank) {
	bad := func(field, format string, args ...any) {
		if !reported(failed, field) {
			probs.add(bankFile, field, format, args...)
		}
	}
	switch {
	case s.Version == nil:
		bad("version", "required: set version: 1")
	case *s.Version != 1:
		bad("version", "must be 1 (got %d); this grader reads version 1 banks", *s.Version)
	}
	if strings.TrimSpace(s.Name) == "" {
		bad("name", "required: the bank's name, shown in reports")
	}
	switch {
	case s.Go == "":
		bad("go", `required: the Go version the grading image carries, like "1.26.8"`)
	case !goVersionRE.MatchString(s.Go):
		bad("go", `must be a Go version like "1.26.8", without a go prefix (got %q)`, s.Go)
	}
	if s.Repo != "" {
		if msg := checkRepoURL(s.Repo); msg != "" {
			bad("base.repo", "%s (got %q)", msg, s.Repo)
		}
	}
	switch {
	case s.Ref == "":
		bad("base.ref", "required: the branch name or full commit SHA candidates forked from")
	case !gitref.IsCommit(s.Ref) && !gitref.IsBranch(s.Ref):
		bad("base.ref", "must be a branch name or a full 40-hex commit SHA (got %q)", s.Ref)
	}
	for _, name := range Exams {
		if t := s.Exams[name]; t != nil && !(*t > 0 && *t <= 100) {
			bad("exams."+name+".threshold", "must be a percentage > 0 and <= 100 (got %v)", *t)
		}
	}
	for _, name := range Exams {
		if n := s.Draws[name]; n != nil && *n < 1 {
			bad("exams."+name+".tasks", "must be at least 1 (got %d); leave it out for forms to hold every %s task", *n, name)
		}
	}
	b.Attempts = DefaultAttempts
	if s.Attempts != nil {
		if *s.Attempts < 1 {
			bad("attempts", "must be at least 1 (got %d); leave it out for the default, %d", *s.Attempts, DefaultAttempts)
		}
		b.Attempts = *s.Attempts
	}
	b.JSDeps = JSDeps{Source: s.JSSource, Lockfile: s.JSLockfile}
	switch s.JSSource {
	case "", JSDepsImage:
		b.JSDeps.Source = JSDepsImage
		if s.JSLockfile != "" {
			bad("js_deps.lockfile", "is only read with source: npm; remove it, or set source: npm")
		}
	case JSDepsNPM:
		base := path.Base(s.JSLockfile)
		switch msg := checkRepoPath(s.JSLockfile); {
		case s.JSLockfile == "":
			bad("js_deps.lockfile", "required with source: npm: the base's npm lockfile, like ui/package-lock.json")
		case msg != "":
			bad("js_deps.lockfile", "%s (got %q)", msg, s.JSLockfile)
		case base != "package-lock.json" && base != "npm-shrinkwrap.json":
			bad("js_deps.lockfile", "must be a package-lock.json or npm-shrinkwrap.json, which npm ci installs from (got %q)", s.JSLockfile)
		}
	default:
		bad("js_deps.source", "must be image (Debian's jest in the grading image) or npm (the base's lockfile) (got %q)", s.JSSource)
	}
	b.Name = s.Name
	b.Go = s.Go
	b.Base = Base{Repo: s.Repo, Ref: s.Ref}
	b.Exams = exams(s.Exams)
	for i, e := range b.Exams {
		if n := s.Draws[e.Name]; n != nil && *n >= 1 {
			b.Exams[i].Draw = *n
		}
	}
}

// checkDraws reports an exam whose forms would draw more tasks than the
// bank holds for it.
func checkDraws(probs *problems, b *Bank, list []loaded) {
	count := map[string]int{}
	for _, l := range list {
		count[l.task.Exam]++
	}
	for _, e := range b.Exams {
		if e.Draw > count[e.Name] {
			probs.add(bankFile, "exams."+e.Name+".tasks", "must be at most %d, the number of %s tasks in the bank (got %d); lower it or add tasks",
				count[e.Name], e.Name, e.Draw)
		}
	}
}

// taskSpec is task.yaml as written.
type taskSpec struct {
	ID         string
	Exam       string
	Title      string
	Difficulty string
	Points     *float64
	Runner     string
	Packages   []string
	Tests      []string
	Scoring    string
	Timeout    string
	Hidden     []string
	Restore    []string
}

// fields binds the keys of task.yaml to s, in the order of the format.
func (s *taskSpec) fields() []field {
	return []field{
		{"id", &s.ID},
		{"exam", &s.Exam},
		{"title", &s.Title},
		{"difficulty", &s.Difficulty},
		{"points", &s.Points},
		{"runner", &s.Runner},
		{"packages", &s.Packages},
		{"tests", &s.Tests},
		{"scoring", &s.Scoring},
		{"timeout", &s.Timeout},
		{"hidden", &s.Hidden},
		{"restore", &s.Restore},
	}
}

// taskCheck validates one task folder and fills its Task.
type taskCheck struct {
	fl     *files
	dir    string // "tasks/<folder>"
	file   string // "tasks/<folder>/task.yaml"
	folder string
	// failed holds the fields reported while decoding; they are not
	// checked again.
	failed map[string]bool
	// complete is set when every hidden file is listed, present, read and
	// (for Go) parsed: only then can a missing test name be told apart
	// from an unreadable file.
	complete bool
	// decls holds the top-level function names of the Go hidden files.
	decls map[string]bool
}

func (c *taskCheck) bad(field, format string, args ...any) {
	if !reported(c.failed, field) {
		c.fl.probs.add(c.file, field, format, args...)
	}
}

// spec checks the fields of task.yaml and copies them into t with
// defaults applied.
func (c *taskCheck) spec(s *taskSpec, t *Task) {
	switch {
	case s.ID == "":
		c.bad("id", "required: set it to the folder name %q", c.folder)
	case !idRE.MatchString(s.ID):
		c.bad("id", "must be lowercase letters, digits and dashes, starting with a letter or digit (got %q)", s.ID)
	case s.ID != c.folder:
		c.bad("id", "must equal the folder name %q (got %q); rename one of them", c.folder, s.ID)
	}
	t.ID = s.ID

	switch {
	case s.Exam == "":
		c.bad("exam", "required: one of %s", examList())
	case !isExam(s.Exam):
		c.bad("exam", "must be one of %s (got %q)", examList(), s.Exam)
	}
	t.Exam = s.Exam

	if strings.TrimSpace(s.Title) == "" {
		c.bad("title", "required: the title shown to candidates")
	}
	t.Title = s.Title

	t.Difficulty = s.Difficulty
	switch s.Difficulty {
	case "":
		t.Difficulty = DefaultDifficulty
	case "easy", "medium", "hard":
	default:
		c.bad("difficulty", "must be easy, medium or hard (got %q)", s.Difficulty)
	}

	t.Points = DefaultPoints
	if s.Points != nil {
		t.Points = *s.Points
		if !(t.Points > 0) || math.IsInf(t.Points, 0) {
			c.bad("points", "must be > 0 (got %v)", t.Points)
		}
	}

	t.Runner = Runner(s.Runner)
	switch t.Runner {
	case "":
		c.bad("runner", "required: go, js, jest or opa")
	case RunnerGo, RunnerJS, RunnerJest, RunnerOPA:
	default:
		c.bad("runner", "must be go, js, jest or opa (got %q)", s.Runner)
	}

	c.packages(s.Packages, t.Runner)
	t.Packages = s.Packages

	if len(s.Tests) == 0 {
		c.bad("tests", "required: list the hidden tests that must pass")
	}
	seen := map[string]bool{}
	for _, name := range s.Tests {
		if seen[name] {
			c.bad("tests", "lists %q twice; list each test once", name)
			continue
		}
		seen[name] = true
		switch {
		case name == "":
			c.bad("tests", "test names must not be empty")
		case t.Runner == RunnerGo:
			if msg := checkGoTestName(name); msg != "" {
				c.bad("tests", "%q: %s", name, msg)
			}
		case t.Runner == RunnerOPA:
			if msg := checkRegoTestName(name); msg != "" {
				c.bad("tests", "%q: %s", name, msg)
			}
		}
	}
	t.Tests = s.Tests

	t.Scoring = Scoring(s.Scoring)
	switch t.Scoring {
	case "":
		t.Scoring = DefaultScoring
	case AllOrNothing, Partial:
	default:
		c.bad("scoring", "must be all-or-nothing or partial (got %q)", s.Scoring)
	}

	t.Timeout = DefaultTimeout
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		switch {
		case err != nil:
			c.bad("timeout", "must be a Go duration like 90s or 5m (got %q)", s.Timeout)
		case d <= 0:
			c.bad("timeout", "must be > 0 (got %q)", s.Timeout)
		default:
			t.Timeout = d
		}
	}

	hidden := map[string]bool{}
	for _, p := range s.Hidden {
		hidden[p] = true
	}
	seen = map[string]bool{}
	for _, p := range s.Restore {
		switch msg := checkRepoPath(p); {
		case msg != "":
			c.bad("restore", "%q: %s", p, msg)
		case seen[p]:
			c.bad("restore", "lists %q twice; list each path once", p)
		case hidden[p]:
			c.bad("restore", "%q is also a hidden file; a path is either hidden or restored, not both", p)
		}
		seen[p] = true
	}
	t.Restore = s.Restore
}

// packages checks the package patterns (Go) or test files (JS) to run.
func (c *taskCheck) packages(list []string, r Runner) {
	if len(list) == 0 {
		switch r {
		case RunnerGo:
			c.bad("packages", "required: the Go packages to test, like [./server/handlers]")
		case RunnerJS:
			c.bad("packages", "required: the test files node --test runs, like [ui/src/hidden/health.test.mjs]")
		case RunnerJest:
			c.bad("packages", "required: the test files jest runs, like [ui/src/hidden/bytes.test.js]")
		case RunnerOPA:
			c.bad("packages", "required: the policy folders or .rego files opa test loads, like [policies]")
		}
		return
	}
	seen := map[string]bool{}
	for _, p := range list {
		if seen[p] {
			c.bad("packages", "lists %q twice; list each once", p)
			continue
		}
		seen[p] = true
		switch r {
		case RunnerGo:
			if msg := checkGoPattern(p); msg != "" {
				c.bad("packages", "%q: %s", p, msg)
			}
		case RunnerJS, RunnerJest, RunnerOPA:
			msg := checkRepoPath(p)
			if msg == "" && strings.HasPrefix(p, "-") {
				msg = "must not start with - (it would be read as a flag)"
			}
			if msg != "" {
				c.bad("packages", "%q: %s", p, msg)
			}
		}
	}
}

// hidden checks the hidden files listed in s against those under hidden/,
// reads them into t and, for Go, parses them.
func (c *taskCheck) hidden(s *taskSpec, t *Task) {
	if len(s.Hidden) == 0 {
		c.bad("hidden", "required: list the hidden files, as paths from the repository root")
	}
	complete := len(s.Hidden) > 0
	hiddenRel := c.dir + "/" + hiddenDir
	listed := map[string]bool{}
	for _, p := range s.Hidden {
		if listed[p] {
			c.bad("hidden", "lists %q twice; list each file once", p)
			continue
		}
		listed[p] = true
		if msg := checkRepoPath(p); msg != "" {
			c.bad("hidden", "%q: %s", p, msg)
			complete = false
			continue
		}
		if t.Runner == RunnerGo && !strings.HasSuffix(p, "_test.go") {
			c.bad("hidden", "%q: a go task's hidden files must be tests, ending in _test.go", p)
			complete = false
		}
		if t.Runner == RunnerOPA && !strings.HasSuffix(p, ".rego") {
			c.bad("hidden", "%q: an opa task's hidden files must be Rego, ending in .rego", p)
			complete = false
		}
		rel := hiddenRel + "/" + p
		if !c.fl.exists(rel) {
			if !c.fl.refused[rel] {
				c.bad("hidden", "%q is listed but %s does not exist; add the file or unlist it", p, rel)
			}
			complete = false
			continue
		}
		data, ok := c.fl.read(rel)
		if !ok {
			complete = false
			continue
		}
		t.Hidden = append(t.Hidden, HiddenFile{Path: p, Data: data})
	}
	for _, p := range c.fl.under(hiddenRel) {
		if !listed[p] {
			c.fl.probs.add(hiddenRel+"/"+p, "", "is not listed in the hidden field of %s; list it there or delete it", c.file)
		}
	}
	if t.Runner == RunnerGo {
		c.decls = map[string]bool{}
		fset := token.NewFileSet()
		for _, h := range t.Hidden {
			if !strings.HasSuffix(h.Path, ".go") {
				continue
			}
			f, err := parser.ParseFile(fset, h.Path, h.Data, parser.SkipObjectResolution)
			if err != nil {
				c.fl.probs.add(hiddenRel+"/"+h.Path, "", "is not valid Go: %v", err)
				complete = false
				continue
			}
			for _, d := range f.Decls {
				if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil {
					c.decls[fn.Name.Name] = true
					if t := callsParallel(fn); t != "" {
						c.fl.probs.add(hiddenRel+"/"+h.Path, "", "%s calls %s.Parallel(): a top-level hidden test must not be parallel, it would run after the grader's check test; call t.Parallel in its subtests only", fn.Name.Name, t)
					}
				}
			}
			c.covered(s.Packages, h.Path)
		}
	}
	c.complete = complete
}

// callsParallel returns the name of fn's parameter when fn is a test
// whose own body (not a subtest's function) calls Parallel on it, else "".
func callsParallel(fn *ast.FuncDecl) string {
	params := fn.Type.Params.List
	if !strings.HasPrefix(fn.Name.Name, "Test") || fn.Body == nil || len(params) != 1 || len(params[0].Names) != 1 {
		return ""
	}
	t := params[0].Names[0].Name
	found := false
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false // a subtest's body, or a function called later
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Parallel" {
				id, ok := ast.Unparen(sel.X).(*ast.Ident)
				found = ok && id.Name == t
			}
		}
		return !found
	})
	if !found {
		return ""
	}
	return t
}

// covered reports a Go hidden file whose folder no package pattern
// selects: its tests would never run.
func (c *taskCheck) covered(patterns []string, file string) {
	dir := path.Dir(file)
	for _, p := range patterns {
		if checkGoPattern(p) != "" {
			return // reported already; matching would mislead
		}
		rest := strings.TrimPrefix(p, "./")
		if rest == "..." || rest == dir {
			return
		}
		if base, ok := strings.CutSuffix(rest, "/..."); ok && (dir == base || strings.HasPrefix(dir, base+"/")) {
			return
		}
	}
	if len(patterns) > 0 {
		c.bad("packages", "no pattern selects %s, the folder of hidden file %q, so its tests would not run; add ./%s", dir, file, dir)
	}
}

// tests checks that every test name occurs in the hidden files.
func (c *taskCheck) tests(t *Task) {
	if !c.complete {
		return
	}
	for _, name := range t.Tests {
		switch t.Runner {
		case RunnerGo:
			top, _, _ := strings.Cut(name, "/")
			if checkGoTestName(name) == "" && !c.decls[top] {
				c.bad("tests", "%q is not declared in the hidden files; want a top-level func %s(", name, top)
			}
		case RunnerJS:
			if name != "" && !quotedIn(name, t.Hidden) {
				c.bad("tests", "%q does not appear in the hidden files as a quoted string, as in test('%s', ...)", name, name)
			}
		case RunnerJest:
			for _, part := range strings.Split(name, " > ") {
				if part == "" || !quotedIn(part, t.Hidden) {
					c.bad("tests", "%q: %q does not appear in the hidden files as a quoted string; name a jest test by its describe blocks and its own name joined by \" > \", as in describe('a', ...) and test('b', ...) for \"a > b\"", name, part)
					break
				}
			}
		case RunnerOPA:
			if checkRegoTestName(name) == "" && !regoRuleIn(name, t.Hidden) {
				pkg, rule := splitRegoTest(name)
				c.bad("tests", "%q is not declared in the hidden files; want a file with `package %s` and a rule %s", name, pkg, rule)
			}
		}
	}
}

// quotedIn reports whether name appears in quotes (', " or `) in a file.
func quotedIn(name string, files []HiddenFile) bool {
	for _, f := range files {
		for _, q := range []string{"'", `"`, "`"} {
			if bytes.Contains(f.Data, []byte(q+name+q)) {
				return true
			}
		}
	}
	return false
}

// reference reads reference.patch into t.
func (c *taskCheck) reference(t *Task) {
	rel := c.dir + "/" + referenceFile
	if !c.fl.exists(rel) {
		if !c.fl.refused[rel] && !c.fl.dirs[rel] {
			c.fl.probs.add(rel, "", "missing: every task needs its reference solution, a git diff against the base")
		}
		return
	}
	data, ok := c.fl.read(rel)
	if !ok {
		return
	}
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		c.fl.probs.add(rel, "", "is empty; it must hold the reference solution, a git diff against the base")
	case !bytes.HasPrefix(data, []byte("diff --git a/")) && !bytes.Contains(data, []byte("\ndiff --git a/")):
		c.fl.probs.add(rel, "", `is not a git diff: no line starts with "diff --git a/"; write it with git diff`)
	}
	t.Reference = data
}
