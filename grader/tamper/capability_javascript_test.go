package tamper

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

type jsCapCase struct {
	name string
	file string // default lib/mod.js
	base string // "" is a new file
	src  string
	want []string // "line kind detail"
}

var jsCapCases = []jsCapCase{
	// standard streams
	{name: "stdout write", src: "process.stdout.write('x')", want: []string{"1 stdio uses process.stdout"}},
	{name: "stdout wrapped", src: "const w = process.stdout.write;\nprocess.stdout.write = (c) => w(String(c).replace('not ok', 'ok'));",
		want: []string{"1 stdio uses process.stdout", "2 stdio uses process.stdout"}},
	{name: "stderr and stdin", src: "x();\nprocess.stderr.write('');\nprocess.stdin.on('data', f)",
		want: []string{"2 stdio uses process.stderr", "3 stdio uses process.stdin"}},
	{name: "destructured", src: "const { stdout, env } = process", want: []string{"1 stdio uses process.stdout"}},
	{name: "destructured renamed over lines", src: "const {\n  argv,\n  stderr: e,\n} = process", want: []string{"3 stdio uses process.stderr"}},
	{name: "assignment pattern", src: "let out;\n({ stdout: out } = process)", want: []string{"2 stdio uses process.stdout"}},
	{name: "computed sum key", src: "process['std' + 'out'].write('')",
		want: []string{"1 test-framework dynamic access to process", "1 stdio uses process.stdout"}},
	{name: "computed variable key", src: "const k = 'stdout';\nprocess[k]", want: []string{"2 test-framework dynamic access to process"}},
	{name: "literal key", src: "process['stdout']", want: []string{"1 stdio uses process.stdout"}},
	{name: "escaped identifier", src: "\\u0070rocess.stdout", want: []string{"1 stdio uses process.stdout"}},
	{name: "escaped member", src: "process.\\u0073tdout", want: []string{"1 stdio uses process.stdout"}},
	{name: "required process", src: "const p = require('node:process');\np.stdout.write('')", want: []string{"2 stdio uses process.stdout"}},
	{name: "imported process", src: "import proc from 'node:process';\nproc.exit(1)", want: []string{"2 exit uses process.exit"}},
	{name: "imported namespace", src: "import * as proc from 'process';\nproc.stderr", want: []string{"2 stdio uses process.stderr"}},
	{name: "imported members", src: "import { stdout, env } from 'process'", want: []string{"1 stdio uses process.stdout"}},
	{name: "re-exported members", src: "export { exit } from 'node:process'", want: []string{"1 exit uses process.exit"}},
	{name: "globalThis.process", src: "globalThis.process.stdout", want: []string{"1 stdio uses process.stdout"}},
	{name: "global index process", src: "global['process'].exit()", want: []string{"1 exit uses process.exit"}},
	{name: "this.process", src: "(function () {\n  this.process.exit()\n})()", want: []string{"2 exit uses process.exit"}},
	{name: "comma", src: "(0, process).stdout", want: []string{"1 stdio uses process.stdout"}},
	{name: "process as value", src: "hook(\n  process)", want: []string{"2 test-framework uses process as a value"}},
	{name: "process conditional", src: "(a ? process : b).stdout", want: []string{"1 test-framework uses process as a value"}},
	{name: "alias", src: "const p = process;\np.kill(1)", want: []string{"2 exit uses process.kill"}},
	{name: "alias declared later", src: "function f() {\n  b.stdout\n}\nconst b = a;\nconst a = process;",
		want: []string{"2 stdio uses process.stdout"}},
	{name: "alias reassigned", src: "let p;\np = process", want: []string{"2 test-framework uses process as a value"}},
	{name: "rest of process", src: "const { env, ...rest } = process", want: []string{"1 test-framework uses process as a value"}},
	{name: "process from globalThis", src: "const { process: p } = globalThis", want: []string{"1 test-framework uses process as a value"}},
	{name: "globalThis as value", src: "const g = globalThis;\ng.process.exit()", want: []string{"2 exit uses process.exit"}},
	{name: "globalThis passed", src: "f(globalThis)", want: []string{"1 test-framework uses globalThis as a value"}},
	{name: "dynamic globalThis", src: "globalThis[name]", want: []string{"1 test-framework dynamic access to globalThis"}},
	{name: "with process", src: "with (process) { stdout.write('') }", want: []string{"1 test-framework uses process as a value"}},
	{name: "lookalikes", src: "myprocess.stdout.write();\nobj.process.stdout;\nconst o = { process: 1, stdout: 2 };\nprocessStdout()"},
	{name: "shadowing parameter", src: "function f(process) {\n  process.stdout.write('x')\n}"},
	{name: "shadowing const", src: "const process = { stdout: 1 };\nprocess.stdout"},
	{name: "typeof guard", src: "if (typeof process !== 'undefined' && process.env.CI) {}\nif (process === undefined) {}"},
	{name: "harmless members", src: "process.argv.slice(2); process.cwd(); process.nextTick(f);\nprocess.env.X = '1'; process.platform; process.emitWarning('w')"},

	// exit
	{name: "exit", src: "process.exit(1)", want: []string{"1 exit uses process.exit"}},
	{name: "exitCode read and written", src: "process.exitCode = 1;\nif (process.exitCode) {}",
		want: []string{"1 exit uses process.exitCode", "2 exit uses process.exitCode"}},
	{name: "abort kill reallyExit", src: "process.abort();\nprocess.kill(process.pid);\nprocess.reallyExit(0)",
		want: []string{"1 exit uses process.abort", "2 exit uses process.kill", "3 exit uses process.reallyExit"}},

	// process internals and events
	{name: "bindings", src: "process.binding('fs');\nprocess._linkedBinding('x');\nprocess.dlopen(m, f);\nprocess._rawDebug('x')",
		want: []string{"1 test-framework uses process.binding", "2 test-framework uses process._linkedBinding",
			"3 test-framework uses process.dlopen", "4 test-framework uses process._rawDebug"}},
	{name: "listeners", src: "process.on('exit', f);\nprocess.once('beforeExit', f);\nprocess.prependListener('uncaughtException', f)",
		want: []string{"1 test-framework uses process.on", "2 test-framework uses process.once", "3 test-framework uses process.prependListener"}},
	{name: "unknown member", src: "process.getBuiltinModule('child_process')", want: []string{"1 test-framework uses process.getBuiltinModule"}},
	{name: "harmless member assigned", src: "process.argv = []", want: []string{"1 test-framework assigns process.argv"}},

	// modules
	{name: "import child_process", src: "import { spawn } from 'child_process'", want: []string{"1 exec imports child_process"}},
	{name: "import over lines", src: "import {\n  exec,\n} from 'node:child_process'", want: []string{"3 exec imports child_process"}},
	{name: "require worker_threads", src: "const { Worker } = require('worker_threads')", want: []string{"1 exec imports worker_threads"}},
	{name: "export from cluster", src: "export { fork } from 'node:cluster'", want: []string{"1 exec imports cluster"}},
	{name: "dynamic import", src: "async function f() {\n  await import('node:child_process')\n}", want: []string{"2 exec imports child_process"}},
	{name: "required sum", src: "require('child_' + 'process')",
		want: []string{"1 test-framework imports a module with a computed name", "1 exec imports child_process"}},
	{name: "require computed", src: "require(name)", want: []string{"1 test-framework imports a module with a computed name"}},
	{name: "import computed", src: "import(`./locale/${l}.js`)", want: []string{"1 test-framework imports a module with a computed name"}},
	{name: "require template", src: "require(`fs`); require('./local'); require('lodash')"},
	{name: "engine modules", src: "import v8 from 'v8';\nimport vm from 'node:vm';\nrequire('inspector');\nrequire('node:async_hooks')",
		want: []string{"1 test-framework imports v8", "2 test-framework imports vm", "3 test-framework imports inspector", "4 test-framework imports async_hooks"}},
	{name: "module", src: "import Module from 'module'", want: []string{"1 test-framework imports module"}},
	{name: "createRequire", src: "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\nrequire('child_process')",
		want: []string{"3 exec imports child_process"}},
	{name: "createRequire renamed", src: "import { createRequire as cr } from 'module';\nconst load = cr(import.meta.url);\nload('node:child_process')",
		want: []string{"3 exec imports child_process"}},
	{name: "node:test in code", src: "import test from 'node:test'", want: []string{"1 test-framework imports test"}},
	{name: "node:test in a test", file: "test/mod.test.js", src: "import test from 'node:test';\nimport assert from 'node:assert/strict'"},
	{name: "assert in code", src: "const assert = require('assert')", want: []string{"1 test-framework imports assert"}},
	{name: "assert in a spec", file: "src/mod.spec.js", src: "const assert = require('assert')"},
	{name: "registry package named test", src: "require('test')"},
	{name: "unknown builtin", src: "import x from 'node:fancy'", want: []string{"1 test-framework imports builtin node:fancy"}},
	{name: "harmless builtins", src: "import path from 'node:path';\nimport fs from 'fs';\nimport { EventEmitter } from 'node:events';\nrequire('node:util')"},
	{name: "require aliased", src: "const r = require;\nr('child_process')", want: []string{"2 exec imports child_process"}},
	{name: "require as value", src: "load(require)", want: []string{"1 test-framework uses require as a value"}},
	{name: "require members", src: "require.cache;\nrequire.resolve('x');\nif (require.main === module) {}", want: []string{"1 test-framework uses require.cache"}},
	{name: "module members", src: "module.exports = {};\nmodule.constructor._load('x')", want: []string{"2 test-framework uses module.constructor"}},

	// descriptors and paths
	{name: "fd 1", src: "fs.writeSync(1, 'x')", want: []string{"1 stdio passes file descriptor 1 to writeSync"}},
	{name: "fd option", src: "fs.createWriteStream(null, {\n  fd: 2,\n})", want: []string{"2 stdio passes file descriptor 2 as fd"}},
	{name: "fd imported function", src: "import { writeSync } from 'fs';\nwriteSync(0x2, 'x')", want: []string{"2 stdio passes file descriptor 2 to writeSync"}},
	{name: "fd renamed", src: "const { writeSync: w } = require('fs');\nw(1, 'x');\nconst c = fs.closeSync;\nc(2)",
		want: []string{"2 stdio passes file descriptor 1 to writeSync", "4 stdio passes file descriptor 2 to closeSync"}},
	{name: "fd import renamed", src: "import { writeSync as w } from 'node:fs';\nw(1, 'x')", want: []string{"2 stdio passes file descriptor 1 to writeSync"}},
	{name: "console streams", src: "console._stdout.write('x')", want: []string{"1 stdio uses console._stdout"}},
	{name: "other fds", src: "fs.writeSync(fd, 'x');\nfs.writeSync(3, 'x');\nconst o = { fd: 3 }"},
	{name: "dev stdout", src: "fs.openSync('/dev/stdout', 'w')", want: []string{"1 stdio names /dev/fd or /dev/std*"}},
	{name: "proc", src: "fs.readFileSync(\"/proc/self/status\")", want: []string{"1 stdio names /proc"}},
	{name: "proc joined", src: "path.join('/proc', 'self', 'fd', '1')", want: []string{"1 stdio names /proc"}},
	{name: "proc folded", src: "const p = '/pr' +\n  'oc/self/fd/1'", want: []string{"1 stdio names /proc"}},
	{name: "dev fd template", src: "x;\nconst p = `/dev/fd/${n}`", want: []string{"2 stdio names /dev/fd or /dev/std*"}},
	{name: "path lookalikes", src: "'/process/x'; '/dev-notes'; 'proc'; `/devices/${x}`"},

	// globals and prototypes
	{name: "globalThis assigned", src: "globalThis.fetch = mock", want: []string{"1 test-framework assigns globalThis.fetch"}},
	{name: "globalThis.process replaced", src: "globalThis.process = fake", want: []string{"1 test-framework assigns globalThis.process"}},
	{name: "import() inside", src: "x;\nfunction f() {\n  return import('node:vm')\n}", want: []string{"3 test-framework imports vm"}},
	{name: "global describe", src: "global.describe = () => {}", want: []string{"1 test-framework assigns globalThis.describe"}},
	{name: "window", src: "window.app = {}"},
	{name: "builtin prototype", src: "Array.prototype.flatMap = f;\nPromise.prototype.then = g",
		want: []string{"1 test-framework assigns Array.prototype.flatMap", "2 test-framework assigns Promise.prototype.then"}},
	{name: "own prototypes", src: "function Foo() {}\nFoo.prototype.bar = 1;\nclass A {}\nA.prototype.x = 1;\nconst B = function () {};\nB.prototype.y = 2"},
	{name: "imported prototype", src: "const { Writable } = require('stream');\nWritable.prototype.write = f",
		want: []string{"2 test-framework assigns Writable.prototype.write"}},
	{name: "module prototype", src: "stream.Writable.prototype.write = f", want: []string{"1 test-framework assigns stream.Writable.prototype.write"}},
	{name: "prototype of stdout", src: "Object.getPrototypeOf(process.stdout).write = f",
		want: []string{"1 stdio uses process.stdout", "1 test-framework assigns a member of a prototype"}},
	{name: "__proto__", src: "s.__proto__.write = f", want: []string{"1 test-framework assigns s.__proto__.write"}},
	{name: "defineProperty globalThis", src: "Object.defineProperty(globalThis, 'x', {})", want: []string{"1 test-framework calls Object.defineProperty on globalThis"}},
	{name: "defineProperty stdout", src: "Object.defineProperty(process.stdout, 'write', { value: f })",
		want: []string{"1 test-framework calls Object.defineProperty on process.stdout", "1 stdio uses process.stdout"}},
	{name: "defineProperty own", src: "Object.defineProperty(obj, 'x', {});\nObject.assign(module.exports, { a });\nObject.assign({}, b)"},
	{name: "reflect prototype", src: "Reflect.defineProperty(Array.prototype, 'x', {})", want: []string{"1 test-framework calls Reflect.defineProperty on Array.prototype"}},
	{name: "setPrototypeOf process", src: "Object.setPrototypeOf(process, {})", want: []string{"1 test-framework calls Object.setPrototypeOf on process"}},
	{name: "assign Error prototype", src: "Object.assign(Error.prototype, {})", want: []string{"1 test-framework calls Object.assign on Error.prototype"}},
	{name: "stack trace hooks", src: "Error.prepareStackTrace = f;\nError.captureStackTrace = g;\nError.captureStackTrace(this, Foo)",
		want: []string{"1 test-framework assigns Error.prepareStackTrace", "2 test-framework assigns Error.captureStackTrace"}},
	{name: "Symbol.for", src: "Symbol.for('nodejs.rejection');\nSymbol.for('app.key');\nSymbol.for(k)",
		want: []string{"1 test-framework uses Symbol.for(nodejs.rejection)", "3 test-framework uses Symbol.for with a computed key"}},
	{name: "console patched", src: "console.log = () => {}", want: []string{"1 test-framework assigns console.log"}},
	{name: "global assigned", src: "setTimeout = f;\ncount = 0;\nit = g",
		want: []string{"1 test-framework assigns global setTimeout", "3 test-framework assigns global it"}},
	{name: "delete", src: "delete Array.prototype.at", want: []string{"1 test-framework deletes Array.prototype.at"}},
	{name: "mutator as value", src: "const dp = Object.defineProperty", want: []string{"1 test-framework uses Object.defineProperty as a value"}},
	{name: "eval", src: "eval('x');\n(0, eval)('y')", want: []string{"1 test-framework uses eval", "2 test-framework uses eval"}},
	{name: "Function constructor", src: "new Function('x');\nFunction('y')();\nx instanceof Function;\nFunction.prototype.call.call(f)",
		want: []string{"1 test-framework uses the Function constructor", "2 test-framework uses the Function constructor"}},
	{name: "constructor chain", src: "({}).constructor.constructor('return process')()", want: []string{"1 test-framework reaches the Function constructor"}},
	{name: "constructor of arrow", src: "(() => {}).constructor('x')", want: []string{"1 test-framework calls a constructor property (the Function constructor)"}},
	{name: "new this.constructor", src: "class A { clone() { return new this.constructor(this.v) } }"},
	{name: "top-level calls", src: "const x = compute();\nconsole.log(x);\nexport default x"},

	// the base
	{name: "already in the base", base: "process.exit(1)\n", src: "// why\nprocess.exit(1)\n"},
	{name: "second use", base: "process.exit(1)\n", src: "process.exit(1)\nfoo()\nprocess.exit(2)\n", want: []string{"3 exit uses process.exit"}},
	{name: "new line preferred", base: "a()\nprocess.exit(1)\n", src: "process.exit(0)\na()\nprocess.exit(1)\n", want: []string{"1 exit uses process.exit"}},
	{name: "base does not parse", base: "const a = <div/>", src: "process.exit()", want: []string{"1 exit uses process.exit"}},
	{name: "import in the base", base: "import cp from 'child_process'", src: "import cp from 'node:child_process'"},

	// file forms
	{name: "top-level return", file: "lib/mod.cjs", src: "if (x) return;\nprocess.exit(1)", want: []string{"2 exit uses process.exit"}},
	{name: "shebang", file: "bin/cli.mjs", src: "#!/usr/bin/env node\nprocess.exit(0)", want: []string{"2 exit uses process.exit"}},
	{name: "comments and regexps", src: "/* process.exit() */ // process.exit()\nconst r = /process.exit/g;\n\n`process.exit`;\nprocess.exit()",
		want: []string{"5 exit uses process.exit"}},
}

func TestJSCapabilities(t *testing.T) {
	run := func(t *testing.T, c jsCapCase) {
		file := c.file
		if file == "" {
			file = "lib/mod.js"
		}
		var base []byte
		if c.base != "" {
			base = []byte(c.base)
		}
		caps, err := jsCapabilities(file, []byte(c.src), base)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, cp := range caps {
			got = append(got, fmt.Sprintf("%d %s %s", cp.Line, cp.Kind, cp.Detail))
		}
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
	}
	for _, c := range jsCapCases {
		t.Run(c.name, func(t *testing.T) { run(t, c) })
	}
}

func TestJSCapabilitiesErrors(t *testing.T) {
	for _, c := range []struct {
		name, file, src string
		fileType        bool
	}{
		{name: "syntax", file: "a.js", src: "const = ;"},
		{name: "typescript", file: "a.ts", src: "let a: number = 1", fileType: true},
		{name: "jsx", file: "a.jsx", src: "<div/>", fileType: true},
		{name: "jsx in js", file: "a.js", src: "const a = <div/>"},
		{name: "too deep", file: "a.js", src: strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000)},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := jsCapabilities(c.file, []byte(c.src), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, errJSFileType) != c.fileType {
				t.Errorf("error %q, file type %v", err, c.fileType)
			}
			if _, ierr := jsImports(c.file, []byte(c.src)); ierr == nil {
				t.Error("jsImports: no error")
			}
		})
	}
}

func TestJSImports(t *testing.T) {
	run := func(t *testing.T, src string, want []string) {
		got, err := jsImports("lib/mod.js", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"static", "import a from './a.js';\nimport './side.js';\nimport * as n from \"../n.mjs\";", []string{"./a.js", "./side.js", "../n.mjs"}},
		{"export from", "export { b } from '../b.js';\nexport * from 'pkg';\nexport const x = 1;", []string{"../b.js", "pkg"}},
		{"require", "const c = require('./c');\nfunction f() { return require(`./e`) }\nrequire(x);", []string{"./c", "./e"}},
		{"dynamic", "import('./d.js');\nimport(y);\nimport(`./t/${z}`);", []string{"./d.js"}},
		{"repeated", "require('./c'); import('./c'); require('./c')", []string{"./c"}},
		{"createRequire", "import { createRequire } from 'module';\nconst require = createRequire(import.meta.url);\nrequire('./cjs.cjs')", []string{"module", "./cjs.cjs"}},
		{"commonjs return", "if (!x) return;\nmodule.exports = require('./impl')", []string{"./impl"}},
		{"none", "const a = 1;\n// require('./x')\n'import(\"./y\")'", nil},
	} {
		t.Run(c.name, func(t *testing.T) { run(t, c.src, c.want) })
	}
}

// TestJSCapabilitiesHostile checks the bounds on inputs built to be slow
// or deep.
func TestJSCapabilitiesHostile(t *testing.T) {
	for _, src := range []string{
		strings.Repeat("!", 1<<20) + "x",
		strings.Repeat("a+", 1<<19) + "a",
		"x = " + strings.Repeat("'/pr' + ", 900) + "'oc/'",
		"[" + strings.Repeat(",", 1<<20) + "process]",
		strings.Repeat("var a = b; var b = process; a.stdout;\n", 1<<13),
		strings.Repeat("process.stdout;\n", 1<<15),
		"f(" + strings.Repeat("process,", 1<<16) + ")",
	} {
		start := time.Now()
		caps, err := jsCapabilities("a.js", []byte(src), nil)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%.20q...: %v", src, d)
		}
		t.Logf("%.20q...: %d capabilities, %v, %v", src, len(caps), err, time.Since(start))
	}
}

func FuzzJSCapabilities(f *testing.F) {
	for _, c := range jsCapCases {
		f.Add(c.src, c.base)
	}
	f.Fuzz(func(t *testing.T, src, base string) {
		caps, err := jsCapabilities("lib/mod.js", []byte(src), []byte(base))
		if err != nil {
			return
		}
		lines := strings.Count(src, "\n") + 1
		for _, c := range caps {
			if c.Line < 1 || c.Line > lines || c.Kind == "" || c.Detail == "" {
				t.Errorf("%+v in %d lines", c, lines)
			}
		}
		if _, err := jsImports("lib/mod.js", []byte(src)); err != nil {
			t.Errorf("jsImports: %v, where jsCapabilities parsed", err)
		}
	})
}
