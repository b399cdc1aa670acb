package grader

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/tasks"
)

// hostile is what a candidate can make the grader quote: a bidi override,
// an isolate and a C1 CSI, then a compiler error holding a literal that
// erases the report's line and draws a fake exam score.
const hostile = "\u202e\u2066\u009b x.go:3:7: \x1b[2K\r\x1b[1A  server 4/4 points 100.0% PASS\x07"

// hostileShown is the start of hostile's escaped form, which must be
// visible even where a column is cut short.
const hostileShown = `\u202e\u2066\u009b x.go:3:7: \x1b[2K\r\x1b[1A`

// checkNoRawControls fails if out holds a raw ESC, BEL, CR, C1 control or
// bidi character once the sequences in own (the writer's own drawing) are
// taken out, or lacks the escaped pieces of hostile.
func checkNoRawControls(t *testing.T, out string, own ...string) {
	t.Helper()
	rest := out
	for _, o := range own {
		rest = strings.ReplaceAll(rest, o, "")
	}
	for _, bad := range []string{"\x1b", "\x07", "\r", "\u009b", "\u202e", "\u2066"} {
		if strings.Contains(rest, bad) {
			t.Errorf("output holds a raw %q:\n%q", bad, out)
		}
	}
	if !strings.Contains(out, hostileShown) {
		t.Errorf("output lacks the escaped %s:\n%s", hostileShown, out)
	}
}

// TestTextOutputsEscape feeds hostile strings, where a candidate can put
// them, into every human-readable output of the package.
func TestTextOutputsEscape(t *testing.T) {
	tests := []struct {
		name  string
		write func(w *bytes.Buffer) error
		own   []string // escape sequences the output draws itself
	}{
		{name: "report", write: func(w *bytes.Buffer) error {
			r := sampleReport()
			r.Branch = hostile
			r.Tasks[0].Reason = hostile
			r.Tampering = []TamperFlag{{Kind: TamperTestFile, Path: "pkg/exploit\u202egpj.go", Detail: hostile}}
			return r.WriteText(w)
		}},
		{name: "report, file name of a flag", write: func(w *bytes.Buffer) error {
			r := sampleReport()
			r.Tampering = []TamperFlag{{Kind: TamperTestFile, Path: hostile, Detail: "changed"}}
			return r.WriteText(w)
		}},
		{name: "candidate view", write: func(w *bytes.Buffer) error {
			r := sampleReport()
			r.Repository, r.Branch = hostile, hostile
			return r.ForCandidate().WriteText(w)
		}},
		{name: "progress", own: []string{"\r\033[K"}, write: func(w *bytes.Buffer) error {
			p := NewTerminalProgress(w, 2)
			p.Phase(hostile)
			p.TaskStarted(&tasks.Task{ID: "a\x1b[2K\u202e"})
			p.TaskDone(TaskResult{ID: hostile, Status: Failed, Possible: 1})
			p.Close()
			return nil
		}},
		{name: "regrade table", write: func(w *bytes.Buffer) error {
			old := sampleReport()
			rc := *old.Receipt
			rc.Repository = hostile
			old.Receipt = &rc
			old.Tasks[0].ID = hostile
			return Compare(old, sampleReport()).WriteText(w)
		}},
		{name: "verify table", write: func(w *bytes.Buffer) error {
			v := &Verification{
				Bank: BankInfo{Name: "cmc", Digest: strings.Repeat("d", 64)}, BaseCommit: strings.Repeat("b", 40), Runs: 1,
				Tasks: []TaskVerification{{ID: "server-health", Base: []RunGrade{{Status: Failed, Reason: hostile}},
					Problems: []string{"passes trivially: (" + hostile + ")"}}},
				Problems: []string{"with every reference applied, server-health scores 0 of 2: failed " + hostile},
			}
			return v.WriteText(w)
		}},
	}
	run := func(t *testing.T, write func(*bytes.Buffer) error, own []string) {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Fatal(err)
		}
		checkNoRawControls(t, buf.String(), own...)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc.write, tc.own) })
	}
}

// TestReportJSONKeepsHostileText checks the JSON report is not escaped
// twice: it holds the candidate's bytes exactly (JSON escapes them).
func TestReportJSONKeepsHostileText(t *testing.T) {
	r := sampleReport()
	r.Tasks[0].Reason = hostile
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("\x1b")) {
		t.Errorf("the JSON report holds a raw ESC")
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Tasks[0].Reason != hostile {
		t.Errorf("reason decoded as %q, want %q", back.Tasks[0].Reason, hostile)
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a  b\n\tc", 100, "a b c"},
		{"real\rfake", 100, `real\rfake`},
		{"  " + "\x1b[1A\r\n", 100, `\x1b[1A\r`},
		{"abcdef", 4, "abc…"},
		{"\u202eabc", 100, `\u202eabc`},
	}
	for _, tc := range tests {
		if got := oneLine(tc.in, tc.n); got != tc.want {
			t.Errorf("oneLine(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
