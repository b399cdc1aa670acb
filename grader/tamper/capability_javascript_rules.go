package tamper

// The expression rules of the JavaScript walk, and their tables.

import (
	"errors"
	"strconv"
	"strings"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/tdewolff/parse/v2/js"
)

var errJSDepth = errors.New("parse: nesting too deep to analyse")

// expr walks e, used as u, and returns the offset where it starts (-1
// when unknown).
func (w *jsWalker) expr(e js.IExpr, u jsUse) int {
	if e == nil || !w.enter() {
		return -1
	}
	defer w.leave()
	switch n := e.(type) {
	case *js.Var:
		off := w.f.find(n.Data)
		if jsGlobal(n) {
			switch jsIdent(n.Data) {
			case "eval":
				if u != useQuiet {
					w.flag(report.CapFramework, off, "uses eval")
				}
			case "Function":
				if u == useValue || u == useCallee || u == useAlias {
					w.flag(report.CapFramework, off, "uses the Function constructor")
				}
			case "Object", "Reflect":
				if u == useValue || u == useAlias {
					w.flag(report.CapFramework, off, "uses "+jsIdent(n.Data)+" as a value")
				}
			}
		}
		if u == useValue {
			w.flagValue(w.refOf(n), off)
		}
		return off
	case *js.LiteralExpr:
		off := w.f.at(n.Data)
		if n.TokenType == js.StringToken && !w.quietStr {
			w.pathLiteral(jsStringLit(n.Data), off)
		}
		return off
	case *js.TemplateExpr:
		start := w.expr(n.Tag, useCallee)
		if n.Tag != nil && w.refOf(n.Tag) == refRequire {
			w.flag(report.CapFramework, start, "imports a module with a computed name")
		}
		for _, p := range n.List {
			off := w.f.at(p.Value)
			if start < 0 {
				start = off
			}
			if !w.quietStr {
				w.pathLiteral(jsTemplateChunk(p.Value, false), off)
			}
			w.expr(p.Expr, useValue)
		}
		off := w.f.at(n.Tail)
		if start < 0 {
			start = off
		}
		if !w.quietStr {
			w.pathLiteral(jsTemplateChunk(n.Tail, true), off)
		}
		return start
	case *js.GroupExpr:
		return w.expr(n.X, u)
	case *js.CommaExpr:
		start := -1
		for i, x := range n.List {
			xu := useValue
			if i == len(n.List)-1 {
				xu = u
			}
			if off := w.expr(x, xu); start < 0 {
				start = off
			}
		}
		return start
	case *js.ArrayExpr:
		start := -1
		for _, el := range n.List {
			if off := w.expr(el.Value, useValue); start < 0 {
				start = off
			}
		}
		return start
	case *js.ObjectExpr:
		return w.object(n)
	case *js.DotExpr:
		start := w.expr(n.X, useObject)
		off := w.f.at(jsLeaf(n.Y))
		if v, ok := n.Y.(*js.Var); ok {
			off = w.f.find(v.Data)
		}
		name, known := jsMemberName(n.Y)
		w.member(n, n.X, name, known, false, off, u)
		return w.after(n, start, u)
	case *js.IndexExpr:
		start := w.expr(n.X, useObject)
		off := w.expr(n.Y, useValue)
		name, known := jsConst(n.Y)
		w.member(n, n.X, name, known, !jsPlain(n.Y), off, u)
		return w.after(n, start, u)
	case *js.CallExpr:
		return w.after(n, w.call(n.X, n.Args.List, false), u)
	case *js.NewExpr:
		var args []js.Arg
		if n.Args != nil {
			args = n.Args.List
		}
		return w.call(n.X, args, true)
	case *js.UnaryExpr:
		switch n.Op {
		case js.TypeofToken:
			return w.expr(n.X, useQuiet)
		case js.DeleteToken:
			return w.target(n.X, "deletes")
		case js.PreIncrToken, js.PreDecrToken, js.PostIncrToken, js.PostDecrToken:
			return w.target(n.X, "assigns")
		}
		return w.expr(n.X, useValue)
	case *js.BinaryExpr:
		return w.binary(n)
	case *js.CondExpr:
		start := w.expr(n.Cond, useValue)
		w.expr(n.X, useValue)
		w.expr(n.Y, useValue)
		return start
	case *js.YieldExpr:
		return w.expr(n.X, useValue)
	case *js.ArrowFunc:
		w.params(&n.Params)
		w.stmts(n.Body.List)
	case *js.FuncDecl:
		w.function(n)
	case *js.ClassDecl:
		w.class(n)
	case *js.VarDecl:
		w.varDecl(n)
	}
	return -1
}

// after flags a member or call expression that stands for process, the
// global object or require and whose value escapes.
func (w *jsWalker) after(e js.IExpr, start int, u jsUse) int {
	if u == useValue {
		w.flagValue(w.refOf(e), start)
	}
	return start
}

func jsLeaf(e js.IExpr) []byte {
	switch l := e.(type) {
	case js.LiteralExpr:
		return l.Data
	case *js.LiteralExpr:
		return l.Data
	}
	return nil
}

func (w *jsWalker) object(n *js.ObjectExpr) int {
	start := -1
	for i := range n.List {
		p := &n.List[i]
		name, known, off := "", false, -1
		if p.Name != nil {
			name, known, _, off = w.propName(p.Name)
			if v, ok := p.Value.(*js.Var); ok && !p.Name.IsComputed() && off >= 0 && name == jsIdent(v.Data) {
				w.f.cursor = off // shorthand {a}: the value is the same token
			}
		}
		var voff int
		if m, ok := p.Value.(*js.MethodDecl); ok {
			w.method(m)
			voff = -1
		} else {
			voff = w.expr(p.Value, useValue)
		}
		w.expr(p.Init, useValue)
		if start < 0 {
			start = off
		}
		if start < 0 {
			start = voff
		}
		if known && name == "fd" {
			if fd, ok := jsFD(p.Value); ok {
				w.flag(report.CapStdio, off, "passes file descriptor "+fd+" as fd")
			}
		}
	}
	return start
}

func (w *jsWalker) binary(n *js.BinaryExpr) int {
	switch n.Op {
	case js.EqToken, js.AddEqToken, js.SubEqToken, js.MulEqToken, js.DivEqToken, js.ModEqToken,
		js.ExpEqToken, js.LtLtEqToken, js.GtGtEqToken, js.GtGtGtEqToken, js.BitAndEqToken,
		js.BitOrEqToken, js.BitXorEqToken, js.AndEqToken, js.OrEqToken, js.NullishEqToken:
		if o, ok := jsUnwrap(n.X).(*js.ObjectExpr); ok && n.Op == js.EqToken {
			if r := w.refOf(n.Y); r != refNone {
				// ({ stdout } = process): each key is a member read
				start := w.pattern(o, r)
				w.expr(n.Y, useObject)
				return start
			}
		}
		start := w.target(n.X, "assigns")
		w.expr(n.Y, useValue)
		return start
	case js.EqEqToken, js.NotEqToken, js.EqEqEqToken, js.NotEqEqToken:
		start := w.expr(n.X, useQuiet)
		w.expr(n.Y, useQuiet)
		return start
	case js.InstanceofToken, js.InToken:
		start := w.expr(n.X, useValue)
		w.expr(n.Y, useQuiet)
		return start
	case js.AddToken:
		// A sum of string constants is checked whole, once, at its top.
		quiet := w.quietStr
		s, folded := "", false
		if !quiet {
			s, folded = jsConst(n)
		}
		w.quietStr = quiet || folded
		start := w.sum(n)
		w.quietStr = quiet
		if folded {
			w.pathLiteral(s, start)
		}
		return start
	}
	start := w.expr(n.X, useValue)
	w.expr(n.Y, useValue)
	return start
}

// sum walks the operands of a chain of +.
func (w *jsWalker) sum(n *js.BinaryExpr) int {
	if !w.enter() {
		return -1
	}
	defer w.leave()
	var start int
	if x, ok := n.X.(*js.BinaryExpr); ok && x.Op == js.AddToken {
		start = w.sum(x)
	} else {
		start = w.expr(n.X, useValue)
	}
	if y, ok := n.Y.(*js.BinaryExpr); ok && y.Op == js.AddToken {
		w.sum(y)
	} else {
		w.expr(n.Y, useValue)
	}
	return start
}

// pattern walks an object pattern assigned from r.
func (w *jsWalker) pattern(o *js.ObjectExpr, r jsRef) int {
	start := -1
	for i := range o.List {
		p := &o.List[i]
		if p.Name == nil {
			off := w.target(p.Value, "assigns")
			w.flagValue(r, off) // ...rest
			continue
		}
		name, known, computed, off := w.propName(p.Name)
		if v, ok := p.Value.(*js.Var); ok && !computed && off >= 0 && name == jsIdent(v.Data) {
			w.f.cursor = off
		}
		if start < 0 {
			start = off
		}
		w.destructure(r, name, known, computed, off)
		w.target(p.Value, "assigns")
		w.expr(p.Init, useValue)
	}
	return start
}

// target walks what is assigned to or deleted.
func (w *jsWalker) target(e js.IExpr, verb string) int {
	if !w.enter() {
		return -1
	}
	defer w.leave()
	switch n := e.(type) {
	case *js.Var:
		off := w.f.find(n.Data)
		name := jsIdent(n.Data)
		if jsGlobal(n) && (jsGlobals[name] || jsTestGlobals[name]) {
			w.flag(report.CapFramework, off, verb+" global "+name)
		}
		return off
	case *js.DotExpr, *js.IndexExpr:
		start := w.expr(e, useTarget)
		w.patch(e, start, verb)
		return start
	case *js.GroupExpr:
		return w.target(n.X, verb)
	case *js.ObjectExpr:
		start := -1
		for i := range n.List {
			p := &n.List[i]
			off := -1
			if p.Name != nil {
				var name string
				var computed bool
				name, _, computed, off = w.propName(p.Name)
				if v, ok := p.Value.(*js.Var); ok && !computed && off >= 0 && name == jsIdent(v.Data) {
					w.f.cursor = off
				}
			}
			if voff := w.target(p.Value, verb); off < 0 {
				off = voff
			}
			w.expr(p.Init, useValue)
			if start < 0 {
				start = off
			}
		}
		return start
	case *js.ArrayExpr:
		start := -1
		for _, el := range n.List {
			if off := w.target(el.Value, verb); start < 0 {
				start = off
			}
		}
		return start
	case *js.BinaryExpr:
		if n.Op == js.EqToken { // a default in a pattern
			start := w.target(n.X, verb)
			w.expr(n.Y, useValue)
			return start
		}
	}
	return w.expr(e, useValue)
}

// patch flags an assignment to a member of a builtin, of the global
// object or of a prototype that is not this file's own.
func (w *jsWalker) patch(e js.IExpr, off int, verb string) {
	root, parts := jsChain(e)
	if len(parts) == 0 {
		return
	}
	switch w.refOf(root) {
	case refProcess:
		return // the process rules decide
	case refGlobal:
		if parts[0] == "process" && len(parts) > 1 {
			return // a member of process: the process rules decide
		}
		w.flag(report.CapFramework, off, verb+" "+jsJoin("globalThis", parts))
		return
	}
	if v, ok := root.(*js.Var); ok && jsGlobal(v) {
		if name := jsIdent(v.Data); jsGlobals[name] || jsTestGlobals[name] {
			w.flag(report.CapFramework, off, verb+" "+jsJoin(name, parts))
			return
		}
	}
	if w.isPrototypeOf(root) {
		w.flag(report.CapFramework, off, verb+" a member of a prototype")
		return
	}
	for i, p := range parts[:len(parts)-1] {
		if p == "__proto__" || p == "prototype" && (i > 0 || !w.ownCtor(root)) {
			w.flag(report.CapFramework, off, verb+" "+jsJoin(jsRootName(root), parts))
			return
		}
	}
}

// ownCtor says whether e is a function or class declared in this file.
func (w *jsWalker) ownCtor(e js.IExpr) bool {
	v, ok := e.(*js.Var)
	if !ok {
		return false
	}
	c := jsCanon(v)
	return c.Decl == js.FunctionDecl || w.ctors[c]
}

// isPrototypeOf says whether e calls Object.getPrototypeOf or
// Reflect.getPrototypeOf.
func (w *jsWalker) isPrototypeOf(e js.IExpr) bool {
	c, ok := jsUnwrap(e).(*js.CallExpr)
	if !ok {
		return false
	}
	d, ok := jsUnwrap(c.X).(*js.DotExpr)
	if !ok {
		return false
	}
	name, _ := jsMemberName(d.Y)
	return name == "getPrototypeOf" && (jsGlobalVar(d.X, "Object") || jsGlobalVar(d.X, "Reflect"))
}

// jsChain splits a member expression into its root and member names;
// a name computed at run time is [...].
func jsChain(e js.IExpr) (js.IExpr, []string) {
	var rev []string
	for range 64 {
		switch n := e.(type) {
		case *js.DotExpr:
			name, _ := jsMemberName(n.Y)
			rev = append(rev, name)
			e = n.X
			continue
		case *js.IndexExpr:
			name, ok := jsConst(n.Y)
			if !ok {
				name = "[...]"
			}
			rev = append(rev, name)
			e = n.X
			continue
		case *js.GroupExpr:
			e = n.X
			continue
		}
		break
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return e, rev
}

func jsRootName(e js.IExpr) string {
	if v, ok := e.(*js.Var); ok {
		return jsIdent(v.Data)
	}
	return "(...)"
}

// jsJoin names a member chain in a detail, cut to a few names.
func jsJoin(root string, parts []string) string {
	var sb strings.Builder
	sb.WriteString(jsShow(root))
	for i, p := range parts {
		if i == 4 {
			sb.WriteString("...")
			break
		}
		sb.WriteString("." + jsShow(p))
	}
	return sb.String()
}

// patchTarget names the first argument of Object.defineProperty and its
// kin when it is a builtin, the global object, process or a prototype
// not of this file, and returns "" otherwise.
func (w *jsWalker) patchTarget(e js.IExpr) string {
	e = jsUnwrap(e)
	switch w.refOf(e) {
	case refProcess:
		return "process"
	case refGlobal:
		return "globalThis"
	}
	if w.isPrototypeOf(e) {
		return "a prototype"
	}
	root, parts := jsChain(e)
	if v, ok := root.(*js.Var); ok && jsGlobal(v) {
		if name := jsIdent(v.Data); jsGlobals[name] || jsTestGlobals[name] {
			return jsJoin(name, parts)
		}
	}
	if w.isPrototypeOf(root) {
		return "a prototype"
	}
	switch w.refOf(root) {
	case refProcess:
		return jsJoin("process", parts)
	case refGlobal:
		return jsJoin("globalThis", parts)
	}
	for i, p := range parts {
		if p == "__proto__" || p == "prototype" && (i > 0 || !w.ownCtor(root)) {
			return jsJoin(jsRootName(root), parts)
		}
	}
	return ""
}

// member checks the member name of obj, read or written (u) at off by the
// expression e. computed is set for a name not written literally.
func (w *jsWalker) member(e, obj js.IExpr, name string, known, computed bool, off int, u jsUse) {
	if r := w.refOf(obj); r != refNone {
		w.memberOf(r, name, known, computed, off, u)
		return
	}
	switch {
	case jsGlobalVar(obj, "module"):
		if !known || !jsModuleSafe[name] {
			w.flag(report.CapFramework, off, "uses module."+jsShowKnown(name, known))
		}
	case (jsGlobalVar(obj, "Object") && jsObjectMutators[name] || jsGlobalVar(obj, "Reflect") && jsReflectMutators[name]) &&
		u != useCallee:
		w.flag(report.CapFramework, off, "uses "+jsRootName(jsUnwrap(obj))+"."+name+" as a value")
	case jsGlobalVar(obj, "console") && (name == "_stdout" || name == "_stderr"):
		w.flag(report.CapStdio, off, "uses console."+name)
	case name == "__defineGetter__" || name == "__defineSetter__":
		w.flag(report.CapFramework, off, "uses "+name)
	case name == "constructor" && jsIsMember(obj, "constructor"):
		w.flag(report.CapFramework, off, "reaches the Function constructor")
	}
}

// jsIsMember says whether e reads the member name (a.name or a['name']).
func jsIsMember(e js.IExpr, name string) bool {
	switch n := jsUnwrap(e).(type) {
	case *js.DotExpr:
		m, _ := jsMemberName(n.Y)
		return m == name
	case *js.IndexExpr:
		m, ok := jsConst(n.Y)
		return ok && m == name
	}
	return false
}

func jsShowKnown(name string, known bool) string {
	if !known {
		return "[...]"
	}
	return jsShow(name)
}

// memberOf checks the member name of what r stands for.
func (w *jsWalker) memberOf(r jsRef, name string, known, computed bool, off int, u jsUse) {
	switch r {
	case refProcess:
		if computed || !known {
			w.flag(report.CapFramework, off, "dynamic access to process")
		}
		if known {
			w.processMember(name, off, u == useTarget)
		}
	case refGlobal:
		if computed || !known {
			w.flag(report.CapFramework, off, "dynamic access to globalThis")
		}
		switch name {
		case "eval":
			w.flag(report.CapFramework, off, "uses eval")
		case "Function":
			w.flag(report.CapFramework, off, "uses the Function constructor")
		}
	case refRequire:
		if !known || !jsRequireSafe[name] {
			w.flag(report.CapFramework, off, "uses require."+jsShowKnown(name, known))
		}
	}
}

// destructure checks a member taken out of what r stands for by a
// pattern: the value goes to a variable, so process or require taken out
// of the global object escapes.
func (w *jsWalker) destructure(r jsRef, name string, known, computed bool, off int) {
	w.memberOf(r, name, known, computed, off, useValue)
	if r == refGlobal && known {
		switch name {
		case "process":
			w.flagValue(refProcess, off)
		case "globalThis", "global":
			w.flagValue(refGlobal, off)
		}
	}
}

// processMember checks a member of process.
func (w *jsWalker) processMember(name string, off int, assign bool) {
	switch {
	case jsProcStdio[name]:
		w.flag(report.CapStdio, off, "uses process."+name)
	case jsProcExit[name]:
		w.flag(report.CapExit, off, "uses process."+name)
	case jsProcSafe[name]:
		if assign {
			w.flag(report.CapFramework, off, "assigns process."+name)
		}
	default:
		w.flag(report.CapFramework, off, "uses process."+jsShow(name))
	}
}

// call walks a call (or a new expression) of callee with args.
func (w *jsWalker) call(callee js.IExpr, args []js.Arg, isNew bool) int {
	start := w.expr(callee, useCallee)
	if start < 0 && jsIsImportCall(callee) {
		start = w.f.find([]byte("import")) // the parser made this one up
	}
	var first js.IExpr
	if len(args) > 0 && !args[0].Rest {
		first = args[0].Value
	}
	c := jsUnwrap(callee)
	name := ""
	switch n := c.(type) {
	case *js.Var:
		name = jsIdent(n.Data)
		if fn, ok := w.fdFuncs[jsCanon(n)]; ok {
			name = fn
		} else if fn, ok := w.fdImports[name]; ok && jsGlobal(n) {
			name = fn
		}
	case *js.DotExpr:
		name, _ = jsMemberName(n.Y)
	}
	firstUse := useValue
	switch {
	case jsIsImportCall(c):
		w.importCall(first, start, true)
	case !isNew && w.refOf(c) == refRequire:
		w.importCall(first, start, false)
	case jsFDFuncs[name] && first != nil:
		if fd, ok := jsFD(first); ok {
			w.flag(report.CapStdio, start, "passes file descriptor "+fd+" to "+name)
		}
	}
	if d, ok := c.(*js.DotExpr); ok {
		switch {
		case jsGlobalVar(d.X, "Object") && jsObjectMutators[name] || jsGlobalVar(d.X, "Reflect") && jsReflectMutators[name]:
			if t := w.patchTarget(first); first != nil && t != "" {
				w.flag(report.CapFramework, start, "calls "+jsRootName(jsUnwrap(d.X))+"."+name+" on "+t)
				firstUse = useQuiet
			}
		case jsGlobalVar(d.X, "Symbol") && name == "for":
			if s, ok := jsConst(first); !ok {
				w.flag(report.CapFramework, start, "uses Symbol.for with a computed key")
			} else if strings.HasPrefix(s, "nodejs") {
				w.flag(report.CapFramework, start, "uses Symbol.for("+jsShow(s)+")")
			}
		case name == "constructor" && (!isNew || jsIsFunc(d.X)) && !jsIsMember(d.X, "constructor"):
			w.flag(report.CapFramework, start, "calls a constructor property (the Function constructor)")
		}
	}
	for i, a := range args {
		u := useValue
		if i == 0 {
			u = firstUse
		}
		if off := w.expr(a.Value, u); start < 0 {
			start = off
		}
	}
	return start
}

func jsIsImportCall(e js.IExpr) bool {
	l, ok := e.(*js.LiteralExpr)
	return ok && l.TokenType == js.ImportToken
}

// importCall checks require(arg) or import(arg).
func (w *jsWalker) importCall(arg js.IExpr, off int, dynamic bool) {
	if arg == nil {
		return
	}
	s, ok := jsConst(arg)
	if !ok || !jsPlain(arg) {
		w.flag(report.CapFramework, off, "imports a module with a computed name")
	}
	if ok {
		w.module(s, off, dynamic)
	}
}

func (w *jsWalker) addSpec(s string) {
	if !w.seen[s] {
		w.seen[s] = true
		w.specs = append(w.specs, s)
	}
}

// module checks an imported module named spec; dynamic is set for
// import(), whose result the walk does not follow.
func (w *jsWalker) module(spec string, off int, dynamic bool) {
	w.addSpec(spec)
	m, builtin := jsBuiltin(spec)
	switch {
	case !builtin:
	case m == "process":
		if dynamic {
			w.flagValue(refProcess, off)
		}
	case jsExecModules[m]:
		w.flag(report.CapExec, off, "imports "+m)
	case w.test && jsTestModules[m]:
	case jsFrameworkModules[m] || jsTestModules[m]:
		w.flag(report.CapFramework, off, "imports "+m)
	case jsSafeModules[m]:
	default:
		w.flag(report.CapFramework, off, "imports builtin "+jsShow(spec))
	}
}

// jsBuiltin returns the name of the Node builtin spec names, without
// node:, and whether it is one.
func jsBuiltin(spec string) (string, bool) {
	if m, ok := strings.CutPrefix(spec, "node:"); ok {
		return m, true
	}
	if jsPrefixOnly[spec] {
		return spec, false
	}
	ok := spec == "process" || jsExecModules[spec] || jsFrameworkModules[spec] || jsTestModules[spec] || jsSafeModules[spec]
	return spec, ok
}

// jsFD returns the file descriptor e names when it is 1 or 2 (standard
// output and error).
func jsFD(e js.IExpr) (string, bool) {
	l, ok := jsUnwrap(e).(*js.LiteralExpr)
	if !ok || l.TokenType&0xFF00 != js.NumericToken {
		return "", false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(string(l.Data), "_", ""), 64)
	if err != nil {
		i, ierr := strconv.ParseInt(string(l.Data), 0, 64)
		if ierr != nil {
			return "", false
		}
		v = float64(i)
	}
	if v == 1 || v == 2 {
		return strconv.Itoa(int(v)), true
	}
	return "", false
}

// pathLiteral flags a string that names the process's own descriptors
// through /proc or /dev.
func (w *jsWalker) pathLiteral(s string, off int) {
	switch {
	case s == "/proc" || strings.HasPrefix(s, "/proc/") || strings.Contains(s, "/proc/"):
		w.flag(report.CapStdio, off, "names /proc")
	case s == "/dev" || strings.HasPrefix(s, "/dev/fd") || strings.HasPrefix(s, "/dev/std") ||
		strings.Contains(s, "/dev/fd") || strings.Contains(s, "/dev/std"):
		w.flag(report.CapStdio, off, "names /dev/fd or /dev/std*")
	}
}
