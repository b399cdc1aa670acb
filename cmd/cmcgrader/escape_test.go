package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/report"
)

// hostile is what a candidate can make the grader quote (a server's error,
// a task's output): an escape sequence that erases a line and draws a fake
// score, and a bidi override and C1 CSI.
const hostile = "\x1b[2K\r\x1b[1A  server 4/4 points 100.0% PASS\x07 \u202e\u009b"

// checkNoRaw fails if out holds a raw ESC, BEL, CR, C1 control or bidi
// override, or lacks each of want.
func checkNoRaw(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, bad := range []string{"\x1b", "\x07", "\r", "\u009b", "\u202e"} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds a raw %q:\n%q", bad, out)
		}
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %s:\n%s", w, out)
		}
	}
}

func TestLoggerEscapes(t *testing.T) {
	tests := []struct {
		format string
		want   []string
	}{
		{"text", []string{`msg="\x1b[2K\r\x1b[1A  server`, `reason="\x1b[2K\r\x1b[1A`, `error="\x1b[2K`, `\u202e\u009b"`}},
		{"json", []string{`"msg":"\u001b[2K\r\u001b[1A  server`, `\u0007 \u202e\u009b"`}},
	}
	run := func(t *testing.T, format string, want []string) {
		var buf bytes.Buffer
		log, err := newLogger(&buf, format, false)
		if err != nil {
			t.Fatal(err)
		}
		log.WithField("reason", hostile).WithError(errors.New(hostile)).Warn(hostile)
		out := buf.String()
		checkNoRaw(t, out, want...)
		if format != "json" {
			return
		}
		var entry map[string]any
		if err := json.Unmarshal(buf.Bytes(), &entry); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		for _, k := range []string{"msg", "reason", "error"} {
			if entry[k] != hostile {
				t.Errorf("%s decodes as %q, want the exact %q", k, entry[k], hostile)
			}
		}
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) { run(t, tc.format, tc.want) })
	}
}

// TestErrorEscapes checks the error line: errors quote file names and
// what a git server said, and every one is printed through escape.Block.
func TestErrorEscapes(t *testing.T) {
	bank := filepath.Join(t.TempDir(), "no"+hostile)
	var stdout, stderr bytes.Buffer
	code := run([]string{"grade", "--bank", bank, "--repo", "https://example.com/x.git", "--branch", "cmc"}, strings.NewReader(""), &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit status %d, want 1; stderr:\n%s", code, stderr.String())
	}
	checkNoRaw(t, stderr.String(), `cmcgrader: load bank:`, `no\x1b[2K\r\x1b[1A  server`, `\u202e\u009b`)
}

// TestReceiptVerifyEscapes checks what receipt verify echoes of a report:
// a report signed with the key it embeds can say anything.
func TestReceiptVerifyEscapes(t *testing.T) {
	priv, _, err := report.NewSignKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := report.ParseSignKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	rep := &report.Report{
		Version: report.ReportVersion, Repository: hostile, Commit: hostile,
		Tasks: []report.TaskGrade{}, Tampering: []report.TamperFlag{}, Receipt: &report.Receipt{Repository: hostile},
	}
	rep.Verdict = hostile
	rep.Form = &report.FormInfo{Candidate: hostile, Attempt: 1}
	name := filepath.Join(t.TempDir(), "report.json")
	if err := report.WriteFile(name, rep, key); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"receipt", "verify", name}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	checkNoRaw(t, stdout.String(), `signature OK`, `repository \x1b[2K\r\x1b[1A`, `candidate \x1b[2K\r\x1b[1A`, `commit \x1b[2K\r\x1b[1A`, `verdict \x1b[2K\r\x1b[1A`)
}
