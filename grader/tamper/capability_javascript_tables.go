package tamper

// The names the JavaScript rules know.

func jsSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

var (
	jsProcStdio = jsSet("stdout", "stderr", "stdin", "openStdin")
	jsProcExit  = jsSet("exit", "exitCode", "abort", "kill", "reallyExit")
	// jsProcSafe are the members of process that reach neither its
	// streams, nor its exit, nor its events, nor the module system.
	jsProcSafe = jsSet("env", "argv", "argv0", "execArgv", "execPath", "cwd", "platform", "arch",
		"version", "versions", "release", "pid", "ppid", "hrtime", "uptime", "memoryUsage", "cpuUsage",
		"resourceUsage", "nextTick", "title", "features", "config", "umask", "getuid", "geteuid",
		"getgid", "getegid", "getgroups", "emitWarning", "availableMemory", "constrainedMemory",
		"allowedNodeEnvironmentFlags", "noDeprecation", "traceDeprecation", "sourceMapsEnabled",
		"loadEnvFile", "permission")
	jsModuleSafe  = jsSet("exports", "id", "filename", "loaded", "path", "paths", "parent", "children", "isPreloading")
	jsRequireSafe = jsSet("resolve", "main")

	jsExecModules = jsSet("child_process", "worker_threads", "cluster")
	// jsFrameworkModules reach the engine, the module loader, the test
	// runner or asynchronous context from inside the process.
	jsFrameworkModules = jsSet("v8", "vm", "inspector", "inspector/promises", "async_hooks", "module",
		"repl", "trace_events", "wasi", "diagnostics_channel", "domain", "sea", "test/reporters")
	// jsTestModules are expected in test files only.
	jsTestModules = jsSet("test", "assert", "assert/strict")
	// jsSafeModules reach the process's streams only through file
	// descriptors and paths, which are flagged where they are named.
	jsSafeModules = jsSet("buffer", "crypto", "dgram", "dns", "dns/promises", "events", "fs",
		"fs/promises", "http", "https", "http2", "net", "os", "path", "path/posix", "path/win32",
		"perf_hooks", "punycode", "querystring", "readline", "readline/promises", "stream",
		"stream/promises", "stream/web", "stream/consumers", "string_decoder", "timers",
		"timers/promises", "tls", "tty", "url", "util", "util/types", "zlib", "console", "constants",
		"sqlite")
	// jsPrefixOnly are builtins only with node:; without it they are
	// packages of the registry.
	jsPrefixOnly = jsSet("test", "test/reporters", "sea", "sqlite")

	jsObjectMutators  = jsSet("defineProperty", "defineProperties", "setPrototypeOf", "assign")
	jsReflectMutators = jsSet("defineProperty", "set", "setPrototypeOf", "deleteProperty")
	// jsFDFuncs take a file descriptor first.
	jsFDFuncs = jsSet("write", "writeSync", "writev", "writevSync", "writeFile", "writeFileSync",
		"appendFile", "appendFileSync", "close", "closeSync", "fsync", "fsyncSync", "fdatasync",
		"fdatasyncSync", "ftruncate", "ftruncateSync", "WriteStream", "SyncWriteStream")

	// jsGlobals are the builtin globals a test process shares with the
	// code it tests.
	jsGlobals = jsSet("Object", "Array", "Function", "Promise", "Error", "EvalError", "RangeError",
		"ReferenceError", "SyntaxError", "TypeError", "URIError", "AggregateError", "String", "Number",
		"Boolean", "Symbol", "BigInt", "RegExp", "Date", "Map", "Set", "WeakMap", "WeakSet", "WeakRef",
		"FinalizationRegistry", "JSON", "Math", "Reflect", "Proxy", "Atomics", "Intl", "ArrayBuffer",
		"SharedArrayBuffer", "DataView", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array",
		"Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array",
		"BigUint64Array", "Iterator", "globalThis", "global", "console", "process", "Buffer", "URL",
		"URLSearchParams", "TextEncoder", "TextDecoder", "AbortController", "AbortSignal", "Event",
		"EventTarget", "MessageChannel", "MessagePort", "BroadcastChannel", "Blob", "performance",
		"fetch", "Request", "Response", "Headers", "WebAssembly", "setTimeout", "setInterval",
		"setImmediate", "clearTimeout", "clearInterval", "clearImmediate", "queueMicrotask",
		"structuredClone", "eval", "isNaN", "isFinite", "parseInt", "parseFloat", "encodeURI",
		"encodeURIComponent", "decodeURI", "decodeURIComponent", "crypto", "navigator")
	// jsTestGlobals are the globals test frameworks (mocha, jest,
	// vitest) install.
	jsTestGlobals = jsSet("describe", "it", "test", "expect", "jest", "vi", "before", "after",
		"beforeEach", "afterEach", "beforeAll", "afterAll", "context", "specify", "suite", "setup",
		"teardown", "suiteSetup", "suiteTeardown", "xit", "xdescribe", "fit", "fdescribe", "mocha", "run")
)
