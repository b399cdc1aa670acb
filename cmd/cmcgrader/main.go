// Command cmcgrader grades Certified Meshery Contributor performance exams:
// it fetches a candidate's fork, runs each task's hidden tests in Docker
// sandboxes and reports weighted scores per exam.
package main

import (
	"os"
	"runtime/debug"
)

// softMemoryLimit is the grader's own soft memory limit (see
// runtime/debug.SetMemoryLimit) unless GOMEMLIMIT sets another: the
// collector runs harder as the heap nears it, which keeps the grader's
// resident set near what it holds live (a fork's objects, mostly)
// rather than twice that.
const softMemoryLimit = 150 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit)
	}
	os.Exit(Main())
}

// Main runs the command line and returns the process exit status: 0 when
// the command did its job (whatever a candidate scored), 1 when it could
// not (an interrupted grading too, after writing its partial report), 2
// for a usage error, and 3 when bank verify ran and found the bank unfit
// for an exam. A second interrupt ends the process at once with 128 plus
// the signal's number (130 for Ctrl-C).
func Main() int {
	return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}
