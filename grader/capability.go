package grader

// Capabilities are what a candidate's changed or added code can do to the
// test process's output, exit status or test framework: the in-process
// forgery the sandbox's supervisor cannot see (see SECURITY.md). They are
// found with real parsers (go/parser and go/types for Go; a JavaScript
// parser for JS), never with regular expressions. A capability in code
// that a task's tests reach holds that task for a proctor's review; one in
// code no task reaches is listed only.

// Kinds of capability (TamperFlag.Kind).
const (
	// CapInit: code that runs before the tests, in a candidate package:
	// an init function, or a package-level variable initialised by a call.
	CapInit = "init-code"
	// CapUnsafe: unsafe, syscall, golang.org/x/sys, cgo, go:linkname or
	// assembly.
	CapUnsafe = "unsafe-code"
	// CapStdio: standard streams or file descriptors reassigned, reopened
	// or reached through /proc or /dev paths (Go: os.Stdout = ...,
	// os.NewFile; JS: process.stdout, process.stderr).
	CapStdio = "stdio"
	// CapExit: the process's exit status set or the process ended
	// (os.Exit, runtime.Goexit; process.exit, process.exitCode).
	CapExit = "exit"
	// CapExec: other processes started (os/exec, os.StartProcess;
	// child_process, worker_threads, cluster).
	CapExec = "exec"
	// CapFramework: the test framework or its flags reached (reflection
	// on testing types, flag.Set, os.Args; patched globals, builtin
	// prototypes, node:test internals, process.binding, v8, vm).
	CapFramework = "test-framework"
)

// Capability is one capability found in one file.
type Capability struct {
	// Kind is one of the Cap* kinds.
	Kind string
	// Line is the 1-based line of the file where it is.
	Line int
	// Detail says what was found, in a short phrase naming the construct
	// ("assigns os.Stdout", "calls process.exit").
	Detail string
}
