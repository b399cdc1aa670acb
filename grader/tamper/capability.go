package tamper

import "github.com/cmcgrader/cmcgrader/grader/report"

// Capabilities are what a candidate's changed or added code can do to the
// test process's output, exit status or test framework: the in-process
// forgery the sandbox's supervisor cannot see (see SECURITY.md). They are
// found with real parsers (go/parser and go/types for Go; a JavaScript
// parser for JS), never with regular expressions. A capability in code
// that a task's tests reach holds that task for a proctor's review; one in
// code no task reaches is listed only.

// Capability is one capability found in one file.
type Capability struct {
	// Kind is one of report's Cap* kinds.
	Kind report.TamperKind
	// Line is the 1-based line of the file where it is.
	Line int
	// Detail says what was found, in a short phrase naming the construct
	// ("assigns os.Stdout", "calls process.exit").
	Detail string
}
