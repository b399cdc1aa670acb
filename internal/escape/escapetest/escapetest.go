// Package escapetest holds what tests of terminal output need: a hostile
// string a candidate can make the grader quote, and a check that output
// shows it escaped.
package escapetest

import (
	"bytes"
	"strings"
	"testing"
)

// Hostile is what a candidate can make the grader quote: a bidi override,
// an isolate and a C1 CSI, then a compiler error holding a literal that
// erases the report's line and draws a fake exam score.
const Hostile = "\u202e\u2066\u009b x.go:3:7: \x1b[2K\r\x1b[1A  server 4/4 points 100.0% PASS\x07"

// HostileShown is the start of Hostile's escaped form, which must be
// visible even where a column is cut short.
const HostileShown = `\u202e\u2066\u009b x.go:3:7: \x1b[2K\r\x1b[1A`

// CheckNoRawControls fails if out holds a raw ESC, BEL, CR, C1 control or
// bidi character once the sequences in own (the writer's own drawing) are
// taken out, or lacks the escaped pieces of Hostile.
func CheckNoRawControls(t testing.TB, out string, own ...string) {
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
	if !strings.Contains(out, HostileShown) {
		t.Errorf("output lacks the escaped %s:\n%s", HostileShown, out)
	}
}

// Case is one human-readable output to check: Write draws it, and Own are
// the escape sequences it draws itself (a status line's "\r\033[K").
type Case struct {
	Name  string
	Write func(w *bytes.Buffer) error
	Own   []string
}

// Run checks every case with CheckNoRawControls, each as a subtest.
func Run(t *testing.T, cases []Case) {
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.Write(&buf); err != nil {
				t.Fatal(err)
			}
			CheckNoRawControls(t, buf.String(), tc.Own...)
		})
	}
}
