package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cmcgrader/cmcgrader/internal/escape"
	"github.com/cmcgrader/cmcgrader/internal/jsonout"
	"github.com/cmcgrader/cmcgrader/sandbox"
)

// ReportVersion is the version of the JSON report shape. It changes when a
// field is removed or changes meaning; new fields may appear in any version.
// Version 2 removed receipt.signature: a report is signed by a file of its
// own (see SignReport).
const ReportVersion = 2

// Report is the full result of grading one submission. Its JSON form is
// documented in docs/report.md.
type Report struct {
	Version       int           `json:"version"`
	GraderVersion string        `json:"grader_version"`
	Repository    string        `json:"repository"`
	Branch        string        `json:"branch,omitempty"`
	Commit        string        `json:"commit"`
	Tree          string        `json:"tree,omitempty"`
	Base          BaseInfo      `json:"base"`
	Bank          BankInfo      `json:"bank"`
	Image         sandbox.Image `json:"image"`
	StartedAt     time.Time     `json:"started_at"`
	FinishedAt    time.Time     `json:"finished_at"`
	// Interrupted says the grading was stopped before every task was
	// graded: the report is partial, the tasks not finished are
	// NotGraded and the verdict is INCOMPLETE.
	Interrupted bool `json:"interrupted,omitempty"`
	// Form names the exam form graded (grade --form); nil when the whole
	// bank, or tasks chosen by id, were graded.
	Form *FormInfo `json:"form,omitempty"`
	Summary
	Tasks []TaskGrade `json:"tasks"`
	// Tampering lists what the proctor should look at: changes to tests,
	// build files and CI in the candidate's tree, and forged test results.
	// Only forged results (Kind ForgedResults) ever cost points, and only
	// those of the task they were found in.
	Tampering []TamperFlag `json:"tampering"`
	// Receipt records every input of the grading, so that it can be
	// re-run (cmcgrader regrade).
	Receipt *Receipt `json:"receipt"`
}

// TamperFlag is one finding for the proctor.
type TamperFlag struct {
	// Kind names the finding; see the Tamper* and Cap* constants.
	Kind TamperKind `json:"kind"`
	// Path is the file concerned, relative to the repository root.
	Path string `json:"path,omitempty"`
	// Task is the task concerned, when the finding belongs to one.
	Task string `json:"task,omitempty"`
	// Detail says what was found, in a sentence.
	Detail string `json:"detail"`
	// Line is the line of Path, for a capability (0: the whole file).
	Line int `json:"line,omitempty"`
	// Reached are the tasks whose tests reach the code flagged: each is
	// held for a proctor's review when it earned points (see Hold).
	Reached []string `json:"reached_by,omitempty"`
}

// TamperKind names the kind of a TamperFlag.
type TamperKind string

// Kinds of TamperFlag.
const (
	TamperTestFile      TamperKind = "test-file"      // a test file, test helper or testdata changed
	TamperBuildFile                = "build-file"     // Makefile, go.mod/go.sum replace, package.json scripts
	TamperCI                       = "ci-config"      // CI configuration changed
	TamperBuildTag                 = "build-tag"      // a build constraint added or changed
	TamperTestMain                 = "test-main"      // a new TestMain in a package under test
	TamperInit                     = "init-func"      // a new init function in a package under test
	TamperForgedResults            = "forged-results" // the test output was not the hidden tests' own
)

// Kinds of capability (TamperFlag.Kind). Capabilities are what a
// candidate's changed or added code can do to the test process's output,
// exit status or test framework: the in-process forgery the sandbox's
// supervisor cannot see (see SECURITY.md). A capability in code that a
// task's tests reach holds that task for a proctor's review (see Hold);
// one in code no task reaches is listed only.
const (
	// CapInit: code that runs before the tests, in a candidate package:
	// an init function, or a package-level variable initialised by a call.
	CapInit TamperKind = "init-code"
	// CapUnsafe: unsafe, syscall, golang.org/x/sys, cgo, go:linkname or
	// assembly.
	CapUnsafe TamperKind = "unsafe-code"
	// CapStdio: standard streams or file descriptors reassigned, reopened
	// or reached through /proc or /dev paths (Go: os.Stdout = ...,
	// os.NewFile; JS: process.stdout, process.stderr).
	CapStdio TamperKind = "stdio"
	// CapExit: the process's exit status set or the process ended
	// (os.Exit, runtime.Goexit; process.exit, process.exitCode).
	CapExit TamperKind = "exit"
	// CapExec: other processes started (os/exec, os.StartProcess;
	// child_process, worker_threads, cluster).
	CapExec TamperKind = "exec"
	// CapFramework: the test framework or its flags reached (reflection
	// on testing types, flag.Set, os.Args; patched globals, builtin
	// prototypes, node:test internals, process.binding, v8, vm).
	CapFramework TamperKind = "test-framework"
)

// FormInfo names the exam form a report grades: whose and which attempt.
type FormInfo struct {
	Candidate string `json:"candidate"`
	Attempt   int    `json:"attempt"`
}

// BaseInfo names the upstream commit the protected files came from.
type BaseInfo struct {
	Repository string `json:"repository"`
	Ref        string `json:"ref"`
	Commit     string `json:"commit"`
}

// BankInfo identifies the task bank.
type BankInfo struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	return jsonout.Write(w, r)
}

// WriteText writes the human-readable report: one block per exam with its
// tasks, then the overall score and the certification verdict. Strings
// that may come from the candidate (reasons quote their output and test
// names; tampering flags name their files) are escaped (see package
// escape), so they cannot move the cursor or rewrite a line.
func (r *Report) WriteText(w io.Writer) error {
	ew := bufio.NewWriter(w)
	fmt.Fprintf(ew, "Repository: %s\n", escape.Line(r.Repository))
	if r.Branch != "" {
		fmt.Fprintf(ew, "Branch:     %s\n", escape.Line(r.Branch))
	}
	fmt.Fprintf(ew, "Commit:     %s\n", escape.Line(r.Commit))
	fmt.Fprintf(ew, "Bank:       %s (%s)\n", escape.Line(r.Bank.Name), escape.Short(r.Bank.Digest))
	if r.Form != nil {
		fmt.Fprintf(ew, "Form:       candidate %s, attempt %d\n", escape.Line(r.Form.Candidate), r.Form.Attempt)
	}
	fmt.Fprintln(ew)
	for _, ex := range r.Exams {
		if ex.Tasks == 0 {
			fmt.Fprintf(ew, "%s  not in this bank\n\n", strings.ToUpper(ex.Name))
			continue
		}
		fmt.Fprintf(ew, "%s  %g/%g points  %.1f%%  %s (pass mark %g%%)\n",
			strings.ToUpper(ex.Name), ex.Points, ex.Possible, ex.Percent, ex.Verdict, ex.Threshold)
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		for _, t := range r.Tasks {
			if t.Exam != ex.Name {
				continue
			}
			status := string(t.Status)
			switch {
			case t.Hold.pending():
				status += ", held for review"
			case t.Hold != nil:
				status += ", " + string(t.Hold.Review.Decision) + "ed on review"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%g/%g\t%s\n", escape.Line(t.ID), status, t.Points, t.Possible, escape.OneLine(t.Reason, 100))
		}
		tw.Flush()
		fmt.Fprintln(ew)
	}
	var evs []examVerdict
	for _, ex := range r.Exams {
		evs = append(evs, examVerdict{ex.Name, ex.Verdict})
	}
	fmt.Fprintln(ew, overallLine(evs, r.Overall))
	fmt.Fprintln(ew, certificationLine(evs, r.Verdict))
	if r.Interrupted {
		n := 0
		for _, t := range r.Tasks {
			if t.Status == NotGraded {
				n++
			}
		}
		fmt.Fprintf(ew, "\nInterrupted: grading stopped with %d of %d tasks not graded; this report is partial, grade again for a verdict\n", n, len(r.Tasks))
	}
	r.writeHolds(ew)
	r.writeTampering(ew)
	return ew.Flush()
}

// writeHolds lists the tasks held for review and what holds them.
func (r *Report) writeHolds(w io.Writer) {
	var held []TaskGrade
	for _, t := range r.Tasks {
		if t.Hold.pending() {
			held = append(held, t)
		}
	}
	if len(held) == 0 {
		return
	}
	fmt.Fprintf(w, "\nHeld for review: %d task(s); their exams stay INCOMPLETE until a proctor decides\n", len(held))
	fmt.Fprintln(w, "(cmcgrader review accept|reject --report FILE --task ID --reason TEXT)")
	for _, t := range held {
		fmt.Fprintf(w, "  %s (%g points): its tests reach\n", escape.Line(t.ID), t.Points)
		for i, f := range t.Hold.Flags {
			if i == tamperListed {
				fmt.Fprintf(w, "    ... and %d more in the JSON report\n", len(t.Hold.Flags)-i)
				break
			}
			fmt.Fprintf(w, "    %s\n", escape.OneLine(f, 160))
		}
	}
}

// tamperListed bounds the tampering lines of the text report; the JSON
// report has them all.
const tamperListed = 20

// writeTampering writes the tampering flags, if any, for the proctor.
func (r *Report) writeTampering(w io.Writer) {
	if len(r.Tampering) == 0 {
		return
	}
	fmt.Fprintf(w, "\nTampering (for the proctor): %d finding(s); they do not change the score, except forged results; capabilities a task's tests reach hold it\n", len(r.Tampering))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, f := range r.Tampering {
		if i == tamperListed {
			break
		}
		where := f.Path
		if f.Line > 0 {
			where = fmt.Sprintf("%s:%d", where, f.Line)
		}
		if f.Task != "" {
			where = strings.TrimSpace(where + " [" + f.Task + "]")
		}
		if len(f.Reached) > 0 {
			where += " [reached by " + strings.Join(f.Reached, ", ") + "]"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", escape.Line(string(f.Kind)), escape.OneLine(where, 80), escape.OneLine(f.Detail, 120))
	}
	tw.Flush()
	if n := len(r.Tampering) - tamperListed; n > 0 {
		fmt.Fprintf(w, "  ... and %d more in the JSON report (--out)\n", n)
	}
}
