package tamper

// The rules over a JavaScript syntax tree. The walk visits the tree in
// source order (jsFile.find depends on it) and tells each expression how
// its value is used, so that process, the global object and require are
// flagged wherever they escape, not only where a name is read.

import (
	"maps"
	"strings"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/tdewolff/parse/v2/js"
)

// jsRef is what an expression stands for, as far as the rules care.
type jsRef int

const (
	refNone    jsRef = iota
	refProcess       // the process object
	refGlobal        // the global object: globalThis, global
	refRequire       // a require function
)

// jsUse is how the value of an expression is used.
type jsUse int

const (
	useValue  jsUse = iota // flows where the walk cannot follow
	useObject              // a member of it is read: the member decides
	useCallee              // it is called: the call decides
	useAlias               // bound to a variable the walk tracks
	useQuiet               // typeof, ===, instanceof, in: nothing leaks
	useTarget              // assigned to or deleted
)

// jsMaxDepth bounds the walk's recursion; the parser's own nesting limits
// keep real trees far below it.
const jsMaxDepth = 20000

type jsWalker struct {
	f    *jsFile
	test bool // a test file: node:test and node:assert are expected
	// known are the aliases earlier walks learned; aliases those of this
	// walk. last is set on the last walk allowed, where an alias learned
	// late is flagged where it is made, since earlier uses were missed.
	known, aliases map[*js.Var]jsRef
	last           bool
	// imported are import bindings, which the parser leaves undeclared,
	// by local name: process imported from node:process, and
	// createRequire.
	imported map[string]jsRef
	factory  map[string]bool
	// fdFuncs are variables bound to a function that takes a file
	// descriptor (const w = fs.writeSync), and fdImports import bindings
	// of one under another name, each with the function's name.
	fdFuncs   map[*js.Var]string
	fdImports map[string]string
	ctors     map[*js.Var]bool // functions and classes of this file
	quietStr  bool             // inside a folded string: checked whole
	caps      []Capability
	specs     []string
	seen      map[string]bool
	depth     int
	err       error
}

func newJSWalker(f *jsFile, name string, known map[*js.Var]jsRef, last bool) *jsWalker {
	f.cursor = 0
	w := &jsWalker{
		f: f, test: jsIsTestFile(name), known: known, aliases: maps.Clone(known), last: last,
		imported: map[string]jsRef{}, factory: map[string]bool{"createRequire": true},
		fdFuncs: map[*js.Var]string{}, fdImports: map[string]string{},
		ctors: map[*js.Var]bool{}, seen: map[string]bool{},
	}
	// Imports bind before any statement runs, wherever they are written.
	for _, s := range f.ast.List {
		is, ok := s.(*js.ImportStmt)
		if !ok {
			continue
		}
		for _, a := range is.List {
			if n := jsAliasName(a); jsFDFuncs[n] && a.Binding != nil {
				w.fdImports[jsIdent(a.Binding)] = n
			}
		}
		switch m, _ := jsBuiltin(jsStringLit(is.Module)); m {
		case "process":
			if is.Default != nil {
				w.imported[jsIdent(is.Default)] = refProcess
			}
			for _, a := range is.List {
				if n := jsAliasName(a); a.Binding != nil && (n == "*" || n == "default") {
					w.imported[jsIdent(a.Binding)] = refProcess
				}
			}
		case "module":
			for _, a := range is.List {
				if jsAliasName(a) == "createRequire" && a.Binding != nil {
					w.factory[jsIdent(a.Binding)] = true
				}
			}
		}
	}
	return w
}

// jsAliasName is the name an import or export alias takes from the
// module (a string literal for names that are not identifiers).
func jsAliasName(a js.Alias) string {
	n := a.Name
	if n == nil {
		n = a.Binding
	}
	if len(n) > 0 && (n[0] == '"' || n[0] == '\'') {
		return jsStringLit(n)
	}
	return jsIdent(n)
}

func (w *jsWalker) flag(kind report.TamperKind, off int, detail string) {
	w.caps = append(w.caps, Capability{Kind: kind, Line: w.f.line(off), Detail: detail})
}

func (w *jsWalker) enter() bool {
	w.depth++
	if w.depth > jsMaxDepth && w.err == nil {
		w.err = errJSDepth
	}
	return w.err == nil
}

func (w *jsWalker) leave() { w.depth-- }

func jsCanon(v *js.Var) *js.Var {
	for i := 0; v.Link != nil && i < 64; i++ {
		v = v.Link
	}
	return v
}

func jsGlobal(v *js.Var) bool { return jsCanon(v).Decl == js.NoDecl }

// jsGlobalVar says whether e is the global variable name.
func jsGlobalVar(e js.IExpr, name string) bool {
	v, ok := jsUnwrap(e).(*js.Var)
	return ok && jsGlobal(v) && jsIdent(v.Data) == name
}

// jsUnwrap strips parentheses and the leading operands of commas:
// (0, process) is process.
func jsUnwrap(e js.IExpr) js.IExpr {
	for range 64 {
		switch n := e.(type) {
		case *js.GroupExpr:
			e = n.X
		case *js.CommaExpr:
			if len(n.List) == 0 {
				return e
			}
			e = n.List[len(n.List)-1]
		default:
			return e
		}
	}
	return e
}

// refOf says what e stands for, without walking it.
func (w *jsWalker) refOf(e js.IExpr) jsRef {
	switch n := jsUnwrap(e).(type) {
	case *js.Var:
		c := jsCanon(n)
		if r, ok := w.aliases[c]; ok {
			return r
		}
		name := jsIdent(n.Data)
		if c.Decl != js.NoDecl {
			if name == "require" { // createRequire's result, as it is usually named
				return refRequire
			}
			return refNone
		}
		if r, ok := w.imported[name]; ok {
			return r
		}
		switch name {
		case "process":
			return refProcess
		case "globalThis", "global":
			return refGlobal
		case "require":
			return refRequire
		}
	case *js.DotExpr:
		name, ok := jsMemberName(n.Y)
		return w.memberRef(n.X, name, ok)
	case *js.IndexExpr:
		name, ok := jsConst(n.Y)
		return w.memberRef(n.X, name, ok)
	case *js.CallExpr:
		if w.isFactory(n.X) {
			return refRequire
		}
		if len(n.Args.List) > 0 && w.refOf(n.X) == refRequire {
			if s, ok := jsConst(n.Args.List[0].Value); ok {
				if m, _ := jsBuiltin(s); m == "process" {
					return refProcess
				}
			}
		}
	}
	return refNone
}

func (w *jsWalker) memberRef(x js.IExpr, name string, ok bool) jsRef {
	if !ok {
		return refNone
	}
	switch w.refOf(x) {
	case refGlobal:
		switch name {
		case "process":
			return refProcess
		case "globalThis", "global":
			return refGlobal
		}
	case refNone:
		// this is the global object in a sloppy function
		if l, isLit := jsUnwrap(x).(*js.LiteralExpr); isLit && l.TokenType == js.ThisToken && name == "process" {
			return refProcess
		}
		if name == "require" && jsGlobalVar(x, "module") {
			return refRequire
		}
	}
	return refNone
}

// isFactory says whether callee is createRequire.
func (w *jsWalker) isFactory(callee js.IExpr) bool {
	switch n := jsUnwrap(callee).(type) {
	case *js.Var:
		return w.factory[jsIdent(n.Data)]
	case *js.DotExpr:
		name, _ := jsMemberName(n.Y)
		return name == "createRequire"
	}
	return false
}

func (w *jsWalker) flagValue(r jsRef, off int) {
	switch r {
	case refProcess:
		w.flag(report.CapFramework, off, "uses process as a value")
	case refGlobal:
		w.flag(report.CapFramework, off, "uses globalThis as a value")
	case refRequire:
		w.flag(report.CapFramework, off, "uses require as a value")
	}
}

func (w *jsWalker) stmts(list []js.IStmt) {
	for _, s := range list {
		w.stmt(s)
	}
}

func (w *jsWalker) stmt(s js.IStmt) {
	if !w.enter() {
		return
	}
	defer w.leave()
	switch n := s.(type) {
	case *js.ExprStmt:
		w.expr(n.Value, useValue)
	case *js.VarDecl:
		w.varDecl(n)
	case *js.BlockStmt:
		w.stmts(n.List)
	case *js.IfStmt:
		w.expr(n.Cond, useValue)
		w.stmt(n.Body)
		if n.Else != nil {
			w.stmt(n.Else)
		}
	case *js.DoWhileStmt:
		w.stmt(n.Body)
		w.expr(n.Cond, useValue)
	case *js.WhileStmt:
		w.expr(n.Cond, useValue)
		w.stmt(n.Body)
	case *js.ForStmt:
		w.forInit(n.Init)
		w.expr(n.Cond, useValue)
		w.expr(n.Post, useValue)
		w.stmt(n.Body)
	case *js.ForInStmt:
		w.forInit(n.Init)
		w.expr(n.Value, useValue)
		w.stmt(n.Body)
	case *js.ForOfStmt:
		w.forInit(n.Init)
		w.expr(n.Value, useValue)
		w.stmt(n.Body)
	case *js.SwitchStmt:
		w.expr(n.Init, useValue)
		for i := range n.List {
			w.expr(n.List[i].Cond, useValue)
			w.stmts(n.List[i].List)
		}
	case *js.ReturnStmt:
		w.expr(n.Value, useValue)
	case *js.ThrowStmt:
		w.expr(n.Value, useValue)
	case *js.WithStmt:
		w.expr(n.Cond, useValue)
		w.stmt(n.Body)
	case *js.LabelledStmt:
		w.f.at(n.Label)
		w.stmt(n.Value)
	case *js.BranchStmt:
		w.f.at(n.Label)
	case *js.TryStmt:
		w.stmt(n.Body)
		if n.Binding != nil {
			w.bind(n.Binding, nil)
		}
		if n.Catch != nil {
			w.stmt(n.Catch)
		}
		if n.Finally != nil {
			w.stmt(n.Finally)
		}
	case *js.FuncDecl:
		w.function(n)
	case *js.ClassDecl:
		w.class(n)
	case *js.ImportStmt:
		w.importStmt(n)
	case *js.ExportStmt:
		w.exportStmt(n)
	case *js.DirectivePrologueStmt:
		w.f.at(n.Value)
	}
}

func (w *jsWalker) forInit(e js.IExpr) {
	if d, ok := e.(*js.VarDecl); ok {
		w.varDecl(d)
		return
	}
	if e != nil {
		w.target(e, "assigns")
	}
}

func (w *jsWalker) varDecl(d *js.VarDecl) {
	for i := range d.List {
		w.bind(d.List[i].Binding, d.List[i].Default)
	}
}

func (w *jsWalker) importStmt(n *js.ImportStmt) {
	w.f.at(n.Default)
	onlyFactory := n.Default == nil && len(n.List) > 0
	for _, a := range n.List {
		w.f.at(a.Name)
		w.f.at(a.Binding)
		if a.Binding != nil && jsAliasName(a) != "createRequire" {
			onlyFactory = false
		}
	}
	off := w.f.at(n.Module)
	spec := jsStringLit(n.Module)
	m, _ := jsBuiltin(spec)
	if m == "module" && onlyFactory {
		w.addSpec(spec)
		return
	}
	w.module(spec, off, false)
	if m == "process" {
		for _, a := range n.List {
			if name := jsAliasName(a); a.Binding != nil && name != "*" && name != "default" {
				w.processMember(name, off, false)
			}
		}
	}
}

func (w *jsWalker) exportStmt(n *js.ExportStmt) {
	for _, a := range n.List {
		w.f.at(a.Name)
		w.f.at(a.Binding)
	}
	if n.Module != nil {
		off := w.f.at(n.Module)
		spec := jsStringLit(n.Module)
		w.module(spec, off, false)
		if m, _ := jsBuiltin(spec); m == "process" {
			for _, a := range n.List {
				switch name := jsAliasName(a); {
				case a.Binding == nil:
				case name == "*" || name == "default":
					w.flagValue(refProcess, off)
				default:
					w.processMember(name, off, false)
				}
			}
		}
	}
	if n.Decl != nil {
		w.expr(n.Decl, useValue)
	}
}

// bind walks a declaration, a parameter or a catch binding, and the
// value it is given.
func (w *jsWalker) bind(b js.IBinding, init js.IExpr) {
	if !w.enter() {
		return
	}
	defer w.leave()
	var r jsRef
	if init != nil {
		r = w.refOf(init)
	}
	switch n := b.(type) {
	case *js.Var:
		off := w.f.find(n.Data)
		switch {
		case r != refNone:
			c := jsCanon(n)
			if _, ok := w.known[c]; w.last && !ok {
				w.flagValue(r, off)
			}
			w.aliases[c] = r
			w.expr(init, useAlias)
			return
		case jsIsFunc(init):
			w.ctors[jsCanon(n)] = true
		default:
			if d, ok := jsUnwrap(init).(*js.DotExpr); ok {
				if fn, _ := jsMemberName(d.Y); jsFDFuncs[fn] {
					w.fdFuncs[jsCanon(n)] = fn
				}
			}
		}
	case *js.BindingObject:
		for i := range n.List {
			item := &n.List[i]
			v, shorthand := item.Value.Binding.(*js.Var)
			var name string
			known, computed, off := false, false, -1
			switch {
			case item.Key == nil && shorthand:
				name, known, off = jsIdent(v.Data), true, w.f.find(v.Data)
				w.f.cursor = off // the binding is the same token
			case item.Key != nil:
				name, known, computed, off = w.propName(item.Key)
				if shorthand && !computed && name == jsIdent(v.Data) {
					if off < 0 { // the parser copies a shorthand's key
						off = w.f.find(v.Data)
					}
					w.f.cursor = off
				}
			}
			if r != refNone {
				w.destructure(r, name, known, computed, off)
			}
			if known && shorthand && jsFDFuncs[name] {
				w.fdFuncs[jsCanon(v)] = name // { writeSync: w } = fs
			}
			w.bind(item.Value.Binding, item.Value.Default)
		}
		if n.Rest != nil {
			off := w.f.find(n.Rest.Data)
			w.flagValue(r, off)
		}
		if r != refNone {
			w.expr(init, useObject)
			return
		}
	case *js.BindingArray:
		for i := range n.List {
			w.bind(n.List[i].Binding, n.List[i].Default)
		}
		if n.Rest != nil {
			w.bind(n.Rest, nil)
		}
	}
	w.expr(init, useValue)
}

func jsIsFunc(e js.IExpr) bool {
	switch jsUnwrap(e).(type) {
	case *js.FuncDecl, *js.ClassDecl, *js.ArrowFunc:
		return true
	}
	return false
}

func (w *jsWalker) params(p *js.Params) {
	for i := range p.List {
		w.bind(p.List[i].Binding, p.List[i].Default)
	}
	if p.Rest != nil {
		w.bind(p.Rest, nil)
	}
}

func (w *jsWalker) function(n *js.FuncDecl) {
	if n.Name != nil {
		w.f.find(n.Name.Data)
	}
	w.params(&n.Params)
	w.stmts(n.Body.List)
}

func (w *jsWalker) class(n *js.ClassDecl) {
	if n.Name != nil {
		w.f.find(n.Name.Data)
		w.ctors[jsCanon(n.Name)] = true
	}
	w.expr(n.Extends, useValue)
	for _, el := range n.List {
		switch {
		case el.StaticBlock != nil:
			w.stmts(el.StaticBlock.List)
		case el.Method != nil:
			w.method(el.Method)
		default:
			w.elementName(&el.Field.Name)
			w.expr(el.Field.Init, useValue)
		}
	}
}

func (w *jsWalker) method(m *js.MethodDecl) {
	w.elementName(&m.Name)
	w.params(&m.Params)
	w.stmts(m.Body.List)
}

func (w *jsWalker) elementName(n *js.ClassElementName) {
	if n.Private != nil {
		w.f.find(n.Private.Data)
		return
	}
	w.propName(&n.PropertyName)
}

// propName walks a property name and returns it, whether it is known,
// whether it was computed, and its offset.
func (w *jsWalker) propName(p *js.PropertyName) (name string, known, computed bool, off int) {
	if p.IsComputed() {
		off = w.expr(p.Computed, useValue)
		name, known = jsConst(p.Computed)
		return name, known, !jsPlain(p.Computed), off
	}
	off = w.f.at(p.Literal.Data)
	// A name written as a string is kept without its quotes: step over
	// the closing one, which would otherwise open a string for find.
	if end := off + len(p.Literal.Data); off > 0 && end < len(w.f.src) {
		if q := w.f.src[off-1]; (q == '"' || q == '\'') && w.f.src[end] == q {
			w.f.cursor = end + 1
		}
	}
	name, known = jsMemberName(&p.Literal)
	return name, known, false, off
}

// jsMemberName returns the name a property token spells.
func jsMemberName(e js.IExpr) (string, bool) {
	if l, ok := e.(js.LiteralExpr); ok { // how the parser stores a.b's b
		e = &l
	}
	switch n := e.(type) {
	case *js.LiteralExpr:
		switch {
		case n.TokenType == js.StringToken:
			return jsStringLit(n.Data), true
		case n.TokenType&0xFF00 == js.NumericToken:
			return string(n.Data), true
		}
		return jsIdent(n.Data), true
	case *js.Var:
		return jsIdent(n.Data), true
	}
	return "", false
}

// jsPlain says whether e is a literal name rather than one computed.
func jsPlain(e js.IExpr) bool {
	switch n := jsUnwrap(e).(type) {
	case *js.LiteralExpr:
		return n.TokenType == js.StringToken || n.TokenType&0xFF00 == js.NumericToken
	case *js.TemplateExpr:
		return n.Tag == nil && len(n.List) == 0
	}
	return false
}

// jsConst returns the value of e if it is a constant string: a literal,
// a template without substitutions, or a sum of them ('std' + 'out').
// Numbers are names too (a[0]), but are not summed.
func jsConst(e js.IExpr) (string, bool) {
	if l, ok := jsUnwrap(e).(*js.LiteralExpr); ok && l.TokenType&0xFF00 == js.NumericToken {
		return string(l.Data), true
	}
	var sb strings.Builder
	if !jsFold(&sb, e, 0) {
		return "", false
	}
	return sb.String(), true
}

// jsFoldMax bounds a folded string, and the work of folding it.
const jsFoldMax = 1 << 16

func jsFold(sb *strings.Builder, e js.IExpr, depth int) bool {
	if depth > jsMaxDepth || sb.Len() > jsFoldMax {
		return false
	}
	switch n := e.(type) {
	case *js.LiteralExpr:
		if n.TokenType == js.StringToken {
			sb.WriteString(jsStringLit(n.Data))
			return true
		}
	case *js.TemplateExpr:
		if n.Tag == nil && len(n.List) == 0 {
			sb.WriteString(jsTemplateChunk(n.Tail, true))
			return true
		}
	case *js.GroupExpr:
		return jsFold(sb, n.X, depth+1)
	case *js.BinaryExpr:
		return n.Op == js.AddToken && jsFold(sb, n.X, depth+1) && jsFold(sb, n.Y, depth+1)
	}
	return false
}
