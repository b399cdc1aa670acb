package tamper

// The capabilities of Go code: parsed with go/parser, type-checked with
// go/types, package by package, from the objects in memory (no file of the
// candidate's is written, and nothing of it is compiled on the host). The
// standard library's packages come from their export data, which the host's
// go command lists (and builds, from GOROOT, into its own cache); every
// other import is an empty stand-in, so a selector on it is unresolved but
// its package is still known by path. Type errors are expected and
// ignored: what matters is which standard objects an identifier refers to,
// which go/types resolves through scopes, renamed and dot imports.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/report"
)

// goFile is one Go file of a package being analysed.
type goFile struct {
	name string // slash path from the repository root
	src  []byte
}

// goCapabilities returns, for each of the files named in changed (a
// folder's changed files, by path), the capabilities the candidate's
// folder has beyond the base's. cand and base are all the Go files of the
// folder at each side (the base's may be empty). Capabilities are counted
// over the whole folder, so code moved from one file to another is not
// new; the excess of a kind and detail is flagged where the changed files
// hold it. A file that does not parse gets one capability saying so: what
// could not be read is held.
func goCapabilities(imp types.Importer, changed []string, cand, base []goFile) map[string][]Capability {
	cc := analyseGoDir(imp, cand)
	bc := analyseGoDir(imp, base)
	excess := map[string]int{}
	for _, caps := range cc {
		for _, c := range caps {
			excess[string(c.Kind)+"\x00"+c.Detail]++
		}
	}
	for _, caps := range bc {
		for _, c := range caps {
			excess[string(c.Kind)+"\x00"+c.Detail]--
		}
	}
	out := map[string][]Capability{}
	for _, name := range changed {
		for _, c := range cc[name] {
			k := string(c.Kind) + "\x00" + c.Detail
			if excess[k] > 0 {
				excess[k]--
				out[name] = append(out[name], c)
			}
		}
	}
	return out
}

// analyseGoDir type-checks the files of one folder, grouped by package
// clause, and returns the capabilities of each file.
func analyseGoDir(imp types.Importer, files []goFile) map[string][]Capability {
	out := map[string][]Capability{}
	fset := token.NewFileSet()
	groups := map[string][]*ast.File{}
	names := map[*ast.File]string{}
	for _, f := range files {
		af, err := parser.ParseFile(fset, f.name, f.src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			line := 0
			var el scanner.ErrorList
			if errors.As(err, &el) && len(el) > 0 {
				line = el[0].Pos.Line
			}
			out[f.name] = []Capability{{Kind: report.CapUnsafe, Line: line, Detail: "file does not parse, so it was not analysed"}}
			continue
		}
		groups[af.Name.Name] = append(groups[af.Name.Name], af)
		names[af] = f.name
	}
	for _, pkgName := range slices.Sorted(maps.Keys(groups)) {
		afs := groups[pkgName]
		info := &types.Info{
			Types: map[ast.Expr]types.TypeAndValue{},
			Uses:  map[*ast.Ident]types.Object{},
			Defs:  map[*ast.Ident]types.Object{},
		}
		conf := types.Config{Importer: imp, Error: func(error) {}, FakeImportC: true}
		pkg, _ := conf.Check(pkgName, fset, afs, info) // errors are expected: see the file comment
		for _, af := range afs {
			a := &goAnalysis{fset: fset, info: info, pkg: pkg, file: af, test: strings.HasSuffix(names[af], "_test.go"), sels: map[*ast.Ident]bool{}}
			a.run()
			out[names[af]] = a.caps
		}
	}
	return out
}

// goAnalysis walks one type-checked file.
type goAnalysis struct {
	fset *token.FileSet
	info *types.Info
	pkg  *types.Package // the package the file belongs to
	file *ast.File
	// sels are the selected names of the selector expressions seen (the
	// Exit of os.Exit), which are not names of their own.
	sels map[*ast.Ident]bool
	test bool // a _test.go file
	caps []Capability
	// testingImported says the file imports "testing".
	testingImported bool
}

func (a *goAnalysis) add(kind report.TamperKind, pos token.Pos, detail string) {
	a.caps = append(a.caps, Capability{Kind: kind, Line: a.fset.Position(pos).Line, Detail: detail})
}

// The standard library's objects that are capabilities wherever they are
// used, by "package path.name".
var goCapabilityUses = map[string]struct {
	kind   report.TamperKind
	detail string
}{
	"os.NewFile":                   {report.CapStdio, "calls os.NewFile"},
	"os.Exit":                      {report.CapExit, "calls os.Exit"},
	"runtime.Goexit":               {report.CapExit, "calls runtime.Goexit"},
	"os.StartProcess":              {report.CapExec, "calls os.StartProcess"},
	"runtime/debug.SetCrashOutput": {report.CapStdio, "calls debug.SetCrashOutput"},
	"flag.Set":                     {report.CapFramework, "calls flag.Set"},
	"flag.CommandLine":             {report.CapFramework, "uses flag.CommandLine"},
	"flag.Lookup":                  {report.CapFramework, "calls flag.Lookup"},
	"flag.Parse":                   {report.CapFramework, "calls flag.Parse"},
	"flag.Visit":                   {report.CapFramework, "calls flag.Visit"},
	"flag.VisitAll":                {report.CapFramework, "calls flag.VisitAll"},
	"testing.MainStart":            {report.CapFramework, "calls testing.MainStart"},
	"testing.Init":                 {report.CapFramework, "calls testing.Init"},
	"testing.RunTests":             {report.CapFramework, "calls testing.RunTests"},
	"testing.Main":                 {report.CapFramework, "calls testing.Main"},
	"testing.RunBenchmarks":        {report.CapFramework, "calls testing.RunBenchmarks"},
	"testing.RunExamples":          {report.CapFramework, "calls testing.RunExamples"},
	"testing.RegisterCover":        {report.CapFramework, "calls testing.RegisterCover"},
}

// Imports that are capabilities on their own.
var goCapabilityImports = map[string]struct {
	kind   report.TamperKind
	detail string
}{
	"unsafe":  {report.CapUnsafe, "imports unsafe"},
	"syscall": {report.CapUnsafe, "imports syscall"},
	"C":       {report.CapUnsafe, "uses cgo (import \"C\")"},
	"plugin":  {report.CapUnsafe, "imports plugin"},
	"os/exec": {report.CapExec, "imports os/exec"},
	// Its Handler runs a program for each request it serves.
	"net/http/cgi": {report.CapExec, "imports net/http/cgi (runs programs)"},
}

// stdStreams are the standard streams' variables.
var stdStreams = map[string]bool{"os.Stdout": true, "os.Stderr": true, "os.Stdin": true}

// streamMethods are the methods of a standard stream that change or
// reach past it (writing to it is printing, and allowed).
var streamMethods = map[string]bool{
	"Close": true, "Fd": true, "SyscallConn": true, "SetDeadline": true, "SetWriteDeadline": true,
	"SetReadDeadline": true, "Chmod": true, "Chown": true, "Truncate": true,
}

// pureInit are the standard functions a package-level variable may be
// initialised with without running code worth a proctor's look: they only
// build values.
var pureInit = map[string]bool{
	"errors.New": true, "fmt.Errorf": true, "fmt.Sprintf": true, "fmt.Sprint": true,
	"regexp.MustCompile": true, "regexp.MustCompilePOSIX": true, "regexp.Compile": true,
	"strings.NewReplacer": true, "strings.Repeat": true, "strings.Join": true,
	"time.Date": true, "path.Join": true, "path/filepath.Join": true,
	"math/big.NewInt": true, "net/http.NewServeMux": true,
}

func (a *goAnalysis) run() {
	for _, imp := range a.file.Imports {
		p := strings.Trim(imp.Path.Value, "\"`")
		if c, ok := goCapabilityImports[p]; ok {
			a.add(c.kind, imp.Pos(), c.detail)
		}
		if strings.HasPrefix(p, "golang.org/x/sys/") {
			a.add(report.CapUnsafe, imp.Pos(), "imports "+p)
		}
		if p == "testing" {
			a.testingImported = true
			if !a.test {
				a.add(report.CapFramework, imp.Pos(), "imports testing outside a test file")
			}
		}
	}
	for _, g := range a.file.Comments {
		for _, c := range g.List {
			if strings.HasPrefix(c.Text, "//go:linkname") {
				a.add(report.CapUnsafe, c.Pos(), "go:linkname directive")
			}
		}
	}
	for _, d := range a.file.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.Name == "init" {
				a.add(report.CapInit, d.Pos(), "init function")
			}
			if d.Recv == nil && d.Name.Name == "TestMain" && a.test {
				a.add(report.CapFramework, d.Pos(), "TestMain function")
			}
		case *ast.GenDecl:
			if d.Tok == token.VAR {
				a.packageVars(d)
			}
		}
	}
	ast.Inspect(a.file, a.visit)
}

// packageVars flags package-level variables initialised by calls: that
// code runs before any test.
func (a *goAnalysis) packageVars(d *ast.GenDecl) {
	for _, s := range d.Specs {
		vs := s.(*ast.ValueSpec)
		for _, v := range vs.Values {
			ast.Inspect(v, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.FuncLit:
					return false // its body runs only when called
				case *ast.CallExpr:
					if a.isConversionOrBuiltin(n) {
						return true
					}
					fn := a.calleeName(n.Fun)
					if pureInit[fn] {
						return true
					}
					if fn == "" {
						fn = "a function value"
					}
					a.add(report.CapInit, n.Pos(), fmt.Sprintf("package-level variable %s initialised by a call to %s", vs.Names[0].Name, fn))
					return false
				}
				return true
			})
		}
	}
}

func (a *goAnalysis) isConversionOrBuiltin(call *ast.CallExpr) bool {
	tv, ok := a.info.Types[call.Fun]
	if ok && (tv.IsType() || tv.IsBuiltin()) {
		return true
	}
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.InterfaceType, *ast.StructType, *ast.StarExpr:
		return true
	case *ast.Ident:
		// An unresolved name in a package whose types did not all
		// check: a builtin or a type of the package is the common case.
		obj := a.info.Uses[f]
		_, isType := obj.(*types.TypeName)
		_, isBuiltin := obj.(*types.Builtin)
		return isType || isBuiltin
	}
	return false
}

// calleeName names a called function: "pkgpath.Name" for a package's
// function, "Name" for a local one, "" for anything else.
func (a *goAnalysis) calleeName(fun ast.Expr) string {
	switch f := ast.Unparen(fun).(type) {
	case *ast.Ident:
		if q := a.dotted(f); q != "" {
			return q
		}
		return f.Name
	case *ast.SelectorExpr:
		if q := a.qualified(f); q != "" {
			return q
		}
		return types.ExprString(f)
	}
	return ""
}

// qualified returns "pkgpath.Name" when sel is a package-qualified
// identifier (resolved through the file's imports and scopes), else "".
func (a *goAnalysis) qualified(sel *ast.SelectorExpr) string {
	id, ok := ast.Unparen(sel.X).(*ast.Ident)
	if !ok {
		return ""
	}
	pn, ok := a.info.Uses[id].(*types.PkgName)
	if !ok {
		return ""
	}
	return pn.Imported().Path() + "." + sel.Sel.Name
}

// dotted returns "pkgpath.Name" when id names another package's
// package-level object without a package name, as a dot import allows,
// else "". The selected name of a selector expression is not one.
func (a *goAnalysis) dotted(id *ast.Ident) string {
	obj := a.info.Uses[id]
	if obj == nil || a.sels[id] || obj.Pkg() == nil || obj.Pkg() == a.pkg || obj.Parent() != obj.Pkg().Scope() {
		return ""
	}
	return obj.Pkg().Path() + "." + obj.Name()
}

// named returns "pkgpath.Name" when e names another package's
// package-level object, with the package's name or through a dot import,
// else "".
func (a *goAnalysis) named(e ast.Expr) string {
	switch e := ast.Unparen(e).(type) {
	case *ast.SelectorExpr:
		return a.qualified(e)
	case *ast.Ident:
		return a.dotted(e)
	}
	return ""
}

// visit flags uses of capabilities anywhere in the file.
func (a *goAnalysis) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.SelectorExpr:
		a.sels[n.Sel] = true
		a.use(n, a.qualified(n))
		// os.Stdout.Close() and the like.
		if inner := a.named(n.X); stdStreams[inner] && streamMethods[n.Sel.Name] {
			a.add(report.CapStdio, n.Pos(), "calls "+inner+"."+n.Sel.Name)
		}
	case *ast.Ident:
		a.use(n, a.dotted(n)) // Exit(0) after import . "os"
	case *ast.AssignStmt:
		for _, lhs := range n.Lhs {
			a.assigned(lhs)
		}
	case *ast.UnaryExpr:
		if n.Op == token.AND {
			a.assigned(n.X) // a pointer to it can be written through
		}
	case *ast.CallExpr:
		// append(os.Args, ...) and copy(os.Args, ...) write os.Args.
		if id, ok := ast.Unparen(n.Fun).(*ast.Ident); ok && (id.Name == "copy") && len(n.Args) > 0 {
			a.assigned(n.Args[0])
		}
	case *ast.BasicLit:
		a.pathConstant(n)
	case *ast.BinaryExpr:
		// A constant joined from parts is checked whole, once.
		if tv, ok := a.info.Types[n]; ok && tv.Value != nil {
			a.pathConstant(n)
			return false
		}
	}
	return true
}

// use flags the use of the standard object named q ("pkgpath.Name") at n.
func (a *goAnalysis) use(n ast.Node, q string) {
	if c, ok := goCapabilityUses[q]; ok {
		a.add(c.kind, n.Pos(), c.detail)
	}
	if strings.HasPrefix(q, "reflect.") && a.testingImported {
		a.add(report.CapFramework, n.Pos(), "uses reflect in a file that uses the testing package")
	}
}

// assigned flags writes to the standard streams and to os.Args.
func (a *goAnalysis) assigned(e ast.Expr) {
	for {
		switch x := ast.Unparen(e).(type) {
		case *ast.StarExpr:
			e = x.X
			continue
		case *ast.IndexExpr:
			e = x.X
			continue
		case *ast.SliceExpr:
			e = x.X
			continue
		case *ast.SelectorExpr, *ast.Ident:
			q := a.named(x)
			switch {
			case stdStreams[q]:
				a.add(report.CapStdio, x.Pos(), "writes "+q+" itself")
			case q == "os.Args":
				a.add(report.CapFramework, x.Pos(), "writes os.Args")
			}
		}
		return
	}
}

// procPaths are what a string naming a process's own files or streams
// holds.
var procPaths = []string{"/proc/", "/dev/fd", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty"}

// pathConstant flags a constant string (a literal, or constants joined)
// that names /proc or a standard stream's device.
func (a *goAnalysis) pathConstant(e ast.Expr) {
	var s string
	if tv, ok := a.info.Types[e]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
		s = constant.StringVal(tv.Value)
	} else if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
		s = lit.Value // a literal the checker did not record
	} else {
		return
	}
	for _, p := range procPaths {
		if strings.Contains(s, p) || s == "/proc" {
			a.add(report.CapStdio, e.Pos(), "names "+strings.TrimSuffix(p, "/")+" in a string")
			return
		}
	}
}

// stdImporter gives the standard library's packages from export data
// listed by the host's go command, and an empty stand-in for any other
// path. It is for one analysis (one goroutine).
type stdImporter struct {
	gc      types.Importer
	exports map[string]string // import path -> export data file
	fake    map[string]*types.Package
	goCmd   string
}

// newStdImporter returns an importer listing the export data of std with
// the go command goCmd ("" means "go").
func newStdImporter(goCmd string) *stdImporter {
	if goCmd == "" {
		goCmd = "go"
	}
	s := &stdImporter{exports: map[string]string{}, fake: map[string]*types.Package{}, goCmd: goCmd}
	s.gc = importer.ForCompiler(token.NewFileSet(), "gc", s.lookup)
	return s
}

// prepare lists the export data of the standard packages named in paths,
// with one go command (which builds them into its cache if need be). It
// runs outside any module, with the local toolchain and no network.
func (s *stdImporter) prepare(ctx context.Context, paths []string) {
	var std []string
	for _, p := range paths {
		if isStdPath(p) && p != "unsafe" && p != "C" {
			if _, ok := s.exports[p]; !ok {
				std = append(std, p)
			}
		}
	}
	if len(std) == 0 {
		return
	}
	sort.Strings(std)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.goCmd, append([]string{"list", "-e", "-export", "-json=ImportPath,Export"}, std...)...)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GO111MODULE=off", "GOFLAGS=", "GOWORK=off", "GOPROXY=off")
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		return // no go command: stand-ins for all
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct{ ImportPath, Export string }
		if dec.Decode(&p) != nil {
			break
		}
		if p.Export != "" {
			s.exports[p.ImportPath] = p.Export
		}
	}
}

func (s *stdImporter) lookup(p string) (io.ReadCloser, error) {
	f, ok := s.exports[p]
	if !ok {
		return nil, fmt.Errorf("no export data for %s", p)
	}
	return os.Open(f)
}

// Import implements types.Importer.
func (s *stdImporter) Import(p string) (*types.Package, error) {
	if p == "unsafe" {
		return types.Unsafe, nil
	}
	if _, ok := s.exports[p]; ok {
		if pkg, err := s.gc.Import(p); err == nil {
			return pkg, nil
		}
	}
	if pkg, ok := s.fake[p]; ok {
		return pkg, nil
	}
	name := path.Base(p)
	if i := strings.IndexAny(name, ".-"); i > 0 {
		name = name[:i]
	}
	pkg := types.NewPackage(p, name)
	pkg.MarkComplete()
	s.fake[p] = pkg
	return pkg, nil
}

// isStdPath says an import path is the standard library's: its first
// element has no dot.
func isStdPath(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

// goImports returns the import paths of a Go file, or nil when it does not
// parse.
func goImports(name string, src []byte) []string {
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly|parser.SkipObjectResolution)
	if err != nil && f == nil {
		return nil
	}
	var out []string
	for _, imp := range f.Imports {
		out = append(out, strings.Trim(imp.Path.Value, "\"`"))
	}
	return out
}
