package testout

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cmcgrader/cmcgrader/internal/capture"
)

// Status is one test's outcome as its runner reported it.
type Status string

// The test statuses a runner reports.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Test is one test's reported outcome.
type Test struct {
	// Package is the Go import path, the JUnit classname (else suite
	// name), or the Rego package (data.models.policy_test).
	Package string `json:"package,omitempty"`
	// Name is the test as its runner names it: "TestX", "TestX/sub", the
	// JS test name ("describe > it"), or the Rego test rule by its full
	// path ("data.models.policy_test.test_allow").
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Elapsed is the test's own duration as reported.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Output is kept for failed tests only, capped at MaxTestOutput bytes
	// (the head and the tail, with a marker where the middle was cut).
	Output string `json:"output,omitempty"`
	// File is the file that declares the test, where the runner says
	// (OPA: the test rule's location); "" otherwise. It is not written
	// out.
	File string `json:"-"`
	// Rank is the rank of the event that gave the result, counting the
	// results of the stream from 1; 0 when the parser does not rank them
	// (JUnit) or no result came. It is not written out.
	Rank int `json:"-"`
}

// Results is what one runner invocation reported.
type Results struct {
	// Tests holds every reported test in the order it started.
	Tests []Test
	// BuildFailed says a package did not build or could not be set up
	// (go: build-fail events, "[build failed]", FailedBuild).
	BuildFailed bool
	// BuildOutput is the compiler's output, first error first, capped at
	// MaxBuildOutput bytes (a marker says when the end was cut).
	BuildOutput string
	// Incomplete says the stream ended without its closing events (a crash,
	// a kill, a truncated capture, or no output at all).
	Incomplete bool
	// StrayFraming says a line the test binary framed for the go command's
	// parser (test2json: it starts with ^V) came through as plain output.
	// test2json reads lines of at most 4096 bytes and passes the rest of a
	// longer one on as output, up to and including the line that ends it:
	// output written without a newline right before a result line hides
	// that result. A test never does that on its own.
	StrayFraming bool `json:",omitempty"`
}

// Caps on what Results keeps of untrusted output.
const (
	// MaxTestOutput caps Test.Output.
	MaxTestOutput = 4 << 10
	// MaxBuildOutput caps Results.BuildOutput.
	MaxBuildOutput = 8 << 10
	// maxFirstError caps what FirstError returns, in bytes.
	maxFirstError = 240
)

// compilerLine matches a compiler or vet diagnostic: "path/x.go:12:3: msg"
// (also go.mod and assembly files, with or without a column).
var compilerLine = regexp.MustCompile(`^\S+\.(?:go|mod|work|sum|s|c|h):\d+(?::\d+)?: `)

// FirstError returns a one-line summary of the first compiler error in
// BuildOutput (e.g. "server/handlers/x.go:12:3: undefined: foo"). Without
// a file:line diagnostic it falls back to the first "go: " message, then to
// the first line that is not a "# package" header. It returns "" when
// BuildOutput holds nothing useful.
func (r *Results) FirstError() string {
	if r == nil || r.BuildOutput == "" {
		return ""
	}
	var goLine, plain string
	for line := range strings.Lines(r.BuildOutput) {
		line = strings.TrimSpace(line)
		switch {
		case line == "", strings.HasPrefix(line, "#"), strings.HasPrefix(line, capture.Mark):
		case compilerLine.MatchString(line):
			return clipLine(line)
		case strings.HasPrefix(line, "go: "):
			if goLine == "" {
				goLine = line
			}
		case plain == "" && !strings.HasPrefix(line, "FAIL"):
			plain = line
		}
	}
	if goLine != "" {
		return clipLine(goLine)
	}
	return clipLine(plain)
}

// clipLine cuts s to maxFirstError bytes on a rune boundary.
func clipLine(s string) string {
	if len(s) <= maxFirstError {
		return s
	}
	return strings.ToValidUTF8(s[:runeStart(s, maxFirstError-3)], "") + "..."
}

// runeStart returns the largest i <= n at which s starts a rune.
func runeStart(s string, n int) int {
	if n <= 0 {
		return 0
	}
	if n >= len(s) {
		return len(s)
	}
	for i := n; i > n-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return i
		}
	}
	return n
}
