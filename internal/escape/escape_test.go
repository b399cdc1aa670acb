package escape

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// attack is the reason string of the report that started this package: a
// compiler error quoting the candidate's literal, which erased the real
// exam line on a terminal and drew a fake one.
const attack = "\x1b[2K\r\x1b[1A  server 4/4 points 100.0% PASS\x07"

func TestLineAndBlock(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		line, block string // "" for block: same as line
	}{
		{name: "plain", in: "undefined: foo (x.go:12:3)", line: "undefined: foo (x.go:12:3)"},
		{name: "letters and symbols", in: "Zoë 日本 ✓ → € \ufffd 😀", line: "Zoë 日本 ✓ → € \ufffd 😀"},
		{name: "empty", in: "", line: ""},
		{name: "the attack", in: "x.go:3:7: " + attack, line: `x.go:3:7: \x1b[2K\r\x1b[1A  server 4/4 points 100.0% PASS\x07`},
		{name: "OSC hyperlink", in: "\x1b]8;;https://evil/\x1b\\click\x1b]8;;\x07", line: `\x1b]8;;https://evil/\x1b\click\x1b]8;;\x07`},
		{name: "title change", in: "\x1b]0;owned\x07", line: `\x1b]0;owned\x07`},
		{name: "NUL, backspace, DEL", in: "a\x00b\bc\x7f", line: `a\x00b\x08c\x7f`},
		{name: "C1 CSI as UTF-8", in: "\u009b2K", line: `\u009b2K`},
		{name: "next line", in: "a\u0085b", line: `a\u0085b`},
		{name: "raw 8-bit CSI", in: "\x9b2K", line: `\x9b2K`},
		{name: "invalid UTF-8", in: "a\xff\xc3(b", line: `a\xff\xc3(b`},
		{name: "bidi overrides", in: "\u202a\u202b\u202c\u202d\u202e", line: `\u202a\u202b\u202c\u202d\u202e`},
		{name: "bidi isolates", in: "\u2066\u2067\u2068\u2069", line: `\u2066\u2067\u2068\u2069`},
		{name: "bidi marks", in: "\u200e\u200f\u061c", line: `\u200e\u200f\u061c`},
		{name: "reversed file name", in: "exploit\u202egpj.go", line: `exploit\u202egpj.go`},
		{name: "zero width and BOM", in: "Test\u200bA\ufeff", line: `Test\u200bA\ufeff`},
		{name: "separators", in: "a\u2028b\u2029c", line: `a\u2028b\u2029c`},
		{name: "tag characters", in: "ok\U000e0041", line: `ok\U000e0041`},
		{name: "lines and tabs", in: "a\tb\nc", line: `a\tb\nc`, block: "a\tb\nc"},
		{name: "carriage return", in: "real\rfake\r\n", line: `real\rfake\r\n`, block: "real\\rfake\\r\n"},
		{name: "vertical tab, form feed", in: "a\vb\fc\n", line: `a\x0bb\x0cc\n`, block: "a\\x0bb\\x0cc\n"},
		{name: "backslash stays", in: `C:\temp\x1b`, line: `C:\temp\x1b`},
	}
	run := func(t *testing.T, in, want string, escape func(string) string, keepLines bool) {
		got := escape(in)
		if got != want {
			t.Errorf("got  %q\nwant %q", got, want)
		}
		checkSafe(t, got, keepLines)
		if again := escape(got); again != got {
			t.Errorf("escaping twice changed it: %q", again)
		}
	}
	for _, tc := range tests {
		block := tc.block
		if block == "" {
			block = tc.line
		}
		t.Run("line/"+tc.name, func(t *testing.T) { run(t, tc.in, tc.line, Line, false) })
		t.Run("block/"+tc.name, func(t *testing.T) { run(t, tc.in, block, Block, true) })
	}
}

// checkSafe fails unless s is valid UTF-8 without a byte or character a
// terminal acts on (but newlines and tabs when keepLines).
func checkSafe(t *testing.T, s string, keepLines bool) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("not valid UTF-8: %q", s)
	}
	for _, r := range s {
		if keepLines && (r == '\n' || r == '\t') {
			continue
		}
		if hidden(r) {
			t.Errorf("raw %U in %q", r, s)
		}
	}
}

func TestUnchangedTextIsNotCopied(t *testing.T) {
	s := strings.Repeat("plain text ✓ ", 100)
	if n := testing.AllocsPerRun(10, func() { _ = Line(s) }); n != 0 {
		t.Errorf("Line allocated %v times for text it does not change", n)
	}
}

func TestJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the encoded string, as JSON writes it
	}{
		{name: "plain", in: "ok ✓", want: `"ok ✓"`},
		{name: "the attack", in: attack, want: `"\u001b[2K\r\u001b[1A  server 4/4 points 100.0% PASS\u0007"`},
		{name: "DEL and C1", in: "a\x7fb\u009bc", want: `"a\u007fb\u009bc"`},
		{name: "bidi", in: "x\u202ey\u2066z\u200f", want: `"x\u202ey\u2066z\u200f"`},
		{name: "outside the BMP", in: "ok\U000e0041", want: `"ok\udb40\udc41"`},
		{name: "invalid UTF-8", in: "a\xffb", want: `"a\ufffdb"`},
	}
	run := func(t *testing.T, in, want string) {
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(map[string]string{"msg": in}); err != nil {
			t.Fatal(err)
		}
		got := JSON(buf.Bytes())
		if w := `{"msg":` + want + "}\n"; string(got) != w {
			t.Errorf("got  %s\nwant %s", got, w)
		}
		checkSafe(t, string(got), true)
		var before, after map[string]string
		if err := json.Unmarshal(buf.Bytes(), &before); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &after); err != nil {
			t.Fatalf("not JSON any more: %v", err)
		}
		if before["msg"] != after["msg"] {
			t.Errorf("decoded value changed: %q, was %q", after["msg"], before["msg"])
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc.in, tc.want) })
	}
}

func FuzzLine(f *testing.F) {
	for _, s := range []string{attack, "a\u202eb", "\xff\xfe", "ok\n\tok\r", "\U000e0041"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSafe(t, Line(s), false)
		checkSafe(t, Block(s), true)
		if strings.ContainsAny(Line(s), "\n\t") {
			t.Errorf("Line(%q) spans lines", s)
		}
	})
}
