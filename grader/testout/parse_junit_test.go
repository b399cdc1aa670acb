package testout

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"
)

// nodeCases are the test cases the reporter writes for testdata/results/js,
// on every supported Node version: files in name order (Node runs files
// concurrently, so their order in the document varies), tests in
// declaration order within a file.
var nodeCases = []struct {
	name   string
	status Status
}{
	{"broken.test.mjs", Fail},
	{"exits.test.mjs", Fail},
	{"renders the empty state", Pass},
	{"counts widgets", Fail},
	{"needs a browser", Skip},
	{"dark mode", Skip},
	{"WidgetList > sorts by name", Pass},
	{`WidgetList > filtering > keeps <Mesh> & "Kuma" 'quoted'`, Fail},
	{"WidgetList > filtering > skipped inside", Skip},
	{"designs", Fail},
	{"designs > create", Pass},
	{"designs > delete", Fail},
	{"with a failing hook", Fail},
	{"with a failing hook > never runs", Fail},
	{"emoji ✓ and ünïcode", Pass},
}

// checkNodeCases checks what the reporter wrote for testdata/results/js.
func checkNodeCases(t *testing.T, res *Results) {
	t.Helper()
	if res.Incomplete || res.BuildFailed {
		t.Errorf("Incomplete %v, BuildFailed %v", res.Incomplete, res.BuildFailed)
	}
	if len(res.Tests) != len(nodeCases) {
		t.Fatalf("%d test cases, want %d: %+v", len(res.Tests), len(nodeCases), res.Tests)
	}
	tests := slices.Clone(res.Tests)
	slices.SortStableFunc(tests, func(a, b Test) int { return strings.Compare(a.Package, b.Package) })
	for i, want := range nodeCases {
		got := tests[i]
		if got.Name != want.name || got.Status != want.status {
			t.Errorf("case %d: %q %s, want %q %s", i, got.Name, got.Status, want.name, want.status)
		}
		if !strings.HasSuffix(got.Package, ".test.mjs") {
			t.Errorf("case %q: classname %q, want its file", got.Name, got.Package)
		}
		if got.Status == Fail && got.Output == "" {
			t.Errorf("case %q failed without output", got.Name)
		}
	}
	special := tests[7].Output
	for _, want := range []string{`<b>tag</b> & "quotes"`, "second line \uFFFD lone", "bad \uFFFD byte, red,"} {
		if !strings.Contains(special, want) {
			t.Errorf("special characters: output lacks %q: %q", want, special)
		}
	}
	if !strings.Contains(tests[0].Output, "SyntaxError") {
		t.Errorf("broken file: output lacks the SyntaxError: %q", tests[0].Output)
	}
	if !strings.Contains(tests[1].Output, "exit code 3") {
		t.Errorf("exiting file: output lacks the exit code: %q", tests[1].Output)
	}
}

func TestParseJUnitGolden(t *testing.T) {
	tests := []struct {
		input string
		check func(t *testing.T, res *Results)
	}{
		{"node18.xml", checkNodeCases},
		{"node20.xml", checkNodeCases},
		{"node_killed.xml", func(t *testing.T, res *Results) {
			wantStatus(t, res, "first", Pass)
			wantStatus(t, res, "second", Pass)
			if len(res.Tests) != 2 || !res.Incomplete {
				t.Errorf("%d tests, Incomplete %v; want the 2 that finished before the kill, Incomplete", len(res.Tests), res.Incomplete)
			}
		}},
		{"vitest.xml", func(t *testing.T, res *Results) {
			wantStatus(t, res, "MeshMap > renders one node per service", Pass)
			z := wantStatus(t, res, "MeshMap > zoom > clamps to the minimum", Fail)
			if z.Package != "ui/components/MeshMap.test.tsx" || z.Elapsed != 12500*time.Microsecond {
				t.Errorf("package %q, elapsed %v", z.Package, z.Elapsed)
			}
			if strings.Count(z.Output, "expected 0.1 to be 0.25") != 1 {
				t.Errorf("message not shown exactly once: %q", z.Output)
			}
			wantStatus(t, res, "MeshMap > exports a PNG", Skip)
			if l := wantStatus(t, res, "MeshMap > logs its layout", Pass); l.Output != "" {
				t.Errorf("passing test kept output %q", l.Output)
			}
			wantStatus(t, res, `MeshMap > handles <Kuma> & "Istio"`, Pass)
			wantStatus(t, res, "ui/utils/broken.test.ts", Fail)
			wantStatus(t, res, "formatBytes", Pass)
		}},
		{"jest.xml", func(t *testing.T, res *Results) {
			wantStatus(t, res, "ConnectionWizard validates the URL", Pass)
			f := wantStatus(t, res, "ConnectionWizard rejects an empty token", Fail)
			if !strings.Contains(f.Output, "Expected: false") {
				t.Errorf("output %q", f.Output)
			}
			wantStatus(t, res, "ConnectionWizard is pending", Skip)
			if c := wantStatus(t, res, "ConnectionWizard prints a coloured diff", Pass); c.Elapsed != 1003500*time.Millisecond {
				t.Errorf("elapsed %v, want 1003.5s", c.Elapsed)
			}
			s := wantStatus(t, res, "Settings saves the theme", Fail)
			if !strings.HasPrefix(s.Output, "Error: expect(received).toEqual(expected)\n") {
				t.Errorf("colour sequences not dropped: %q", s.Output)
			}
			b := wantStatus(t, res, "ui/components/Broken.test.js", Fail)
			if b.Package != "Test suite failed to run" || !strings.Contains(b.Output, "Cannot find module") {
				t.Errorf("package %q, output %q", b.Package, b.Output)
			}
		}},
	}
	run := func(t *testing.T, input string, check func(*testing.T, *Results)) {
		res, err := ParseJUnit(bytes.NewReader(readInput(t, input)))
		if err != nil {
			t.Fatal(err)
		}
		check(t, res)
		checkGolden(t, input, res)
	}
	for _, tc := range tests {
		t.Run(strings.SplitN(tc.input, ".", 2)[0], func(t *testing.T) { run(t, tc.input, tc.check) })
	}
}

func TestParseJUnitDocuments(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		wantErr string // a substring of the error; "" means no error
		check   func(t *testing.T, res *Results)
	}{
		{
			name:  "root testsuite, nested suites, no classname",
			input: `<testsuite name="outer"><testsuite name="inner"><testcase name="a"/></testsuite><testcase name="b" time="x"/></testsuite>`,
			check: func(t *testing.T, res *Results) {
				if a := wantStatus(t, res, "a", Pass); a.Package != "inner" {
					t.Errorf("a: package %q, want inner", a.Package)
				}
				if b := wantStatus(t, res, "b", Pass); b.Package != "outer" || b.Elapsed != 0 {
					t.Errorf("b: package %q, elapsed %v", b.Package, b.Elapsed)
				}
			},
		},
		{
			name: "error, CDATA and system-err",
			input: `<testsuites><testsuite name="s"><testcase name="e"><error message="boom" type="TypeError"><![CDATA[TypeError: boom <raw>]]></error>` +
				`<system-err>stderr line</system-err></testcase><testcase name="f"><skipped/><failure message="late"/></testcase></testsuite></testsuites>`,
			check: func(t *testing.T, res *Results) {
				e := wantStatus(t, res, "e", Fail)
				if e.Output != "TypeError: boom <raw>\nstderr line" {
					t.Errorf("output %q", e.Output)
				}
				if f := wantStatus(t, res, "f", Fail); f.Output != "late" {
					t.Errorf("message-only failure: output %q", f.Output)
				}
			},
		},
		{
			name:  "control characters, raw and as references, and invalid UTF-8",
			input: "<testsuites><testsuite name=\"s\"><testcase name=\"c\x01\"><failure>a\x00b&#1;c&#x1b;d&#xFFFE;e&#65;\xff\x1b[1;31mred\x1b[0m</failure></testcase></testsuite></testsuites>",
			check: func(t *testing.T, res *Results) {
				c := wantStatus(t, res, "c\uFFFD", Fail)
				if c.Output != "a\uFFFDb\uFFFDc\uFFFDd\uFFFDeA\uFFFDred" {
					t.Errorf("output %q", c.Output)
				}
			},
		},
		{
			name:  "truncated document keeps what came before",
			input: `<?xml version="1.0"?><testsuites><testsuite name="s"><testcase name="done"/><testcase name="cut"><failure message="m">partial te`,
			check: func(t *testing.T, res *Results) {
				wantStatus(t, res, "done", Pass)
				if c := wantStatus(t, res, "cut", Fail); !strings.Contains(c.Output, "output ended") {
					t.Errorf("output %q", c.Output)
				}
				if !res.Incomplete {
					t.Error("Incomplete not set")
				}
			},
		},
		{
			name:  "whitespace only",
			input: " \n\t",
			check: func(t *testing.T, res *Results) {
				if !res.Incomplete || len(res.Tests) != 0 {
					t.Errorf("%+v", res)
				}
			},
		},
		{
			name:  "text after the root is ignored",
			input: "<testsuites><testsuite name=\"s\"><testcase name=\"a\"/></testsuite></testsuites>\n<<<not xml",
			check: func(t *testing.T, res *Results) {
				wantStatus(t, res, "a", Pass)
				if res.Incomplete {
					t.Error("Incomplete set")
				}
			},
		},
		{
			name:  "HTML entities and a declared charset",
			input: `<?xml version="1.0" encoding="ISO-8859-1"?><testsuite name="s"><testcase name="a&nbsp;b"/></testsuite>`,
			check: func(t *testing.T, res *Results) {
				wantStatus(t, res, "a\u00a0b", Pass)
			},
		},
		{
			name:    "mismatched tags",
			input:   "<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"a\"></testsuite>\n</testsuites>",
			wantErr: "junit xml: line 3",
		},
		{
			name:    "not JUnit",
			input:   "<html><body>oops</body></html>",
			wantErr: "root element <html>",
		},
	}
	run := func(t *testing.T, input, wantErr string, check func(*testing.T, *Results)) {
		res, err := ParseJUnit(strings.NewReader(input))
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		check(t, res)
		for _, r := range res.Tests {
			if len(r.Output) > MaxTestOutput || !utf8.ValidString(r.Output) {
				t.Errorf("%s: output of %d bytes, valid UTF-8 %v", r.Name, len(r.Output), utf8.ValidString(r.Output))
			}
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc.input, tc.wantErr, tc.check) })
	}
}

func TestParseJUnitBounds(t *testing.T) {
	t.Run("huge failure text is capped", func(t *testing.T) {
		doc := `<testsuite name="s"><testcase name="big"><failure message="m">` +
			strings.Repeat("<&amp;>", 0) + strings.Repeat("0123456789", 1<<20) + `</failure></testcase></testsuite>`
		res, err := ParseJUnit(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		b := wantStatus(t, res, "big", Fail)
		if len(b.Output) > MaxTestOutput || !strings.Contains(b.Output, "bytes cut]") {
			t.Errorf("output of %d bytes: %.80q", len(b.Output), b.Output)
		}
	})
	t.Run("read error", func(t *testing.T) {
		_, err := ParseJUnit(iotest.ErrReader(io.ErrClosedPipe))
		if !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("err = %v, want it to wrap io.ErrClosedPipe", err)
		}
	})
}

// TestParseJUnitNodeReporter runs the sandbox image's reporter with the
// node on PATH over testdata/results/js and parses what it writes. The
// recorded node18.xml and node20.xml come from this command.
func TestParseJUnitNodeReporter(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	reporter, err := filepath.Abs("../../sandbox/docker/image/junit-reporter.mjs")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter="+reporter, "--test-reporter-destination=stdout",
		"widgets.test.mjs", "broken.test.mjs", "exits.test.mjs")
	cmd.Dir = filepath.Join(resultsDir, "js")
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	if exit == nil || exit.ExitCode() != 1 {
		t.Errorf("node exited with %v, want exit status 1 (stderr %q)", err, stderr.String())
	}
	res, err := ParseJUnit(&stdout)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	checkNodeCases(t, res)
	if dir, _ := filepath.Abs(cmd.Dir); strings.Contains(stdout.String(), dir) {
		t.Error("the report names the working directory; paths under it should be relative")
	}
}
