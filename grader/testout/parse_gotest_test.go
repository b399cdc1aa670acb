package testout

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/cmcgrader/cmcgrader/internal/capture"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// resultsDir holds recorded runner outputs and their parsed goldens.
const resultsDir = "../../testdata/results"

// readInput reads a recorded input, gunzipping *.gz files.
func readInput(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(resultsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

// checkGolden compares res, as indented JSON, with the input's golden
// file (the input's name up to its first dot, plus .golden).
func checkGolden(t *testing.T, input string, res *Results) {
	t.Helper()
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join(resultsDir, strings.SplitN(input, ".", 2)[0]+".golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("parsed %s differs from %s (run with -update to accept):\n%s", input, golden, got)
	}
}

// find returns the reports of the named test.
func find(res *Results, name string) []Test {
	var out []Test
	for _, r := range res.Tests {
		if r.Name == name {
			out = append(out, r)
		}
	}
	return out
}

// wantStatus checks that name was reported exactly once with status.
func wantStatus(t *testing.T, res *Results, name string, status Status) Test {
	t.Helper()
	got := find(res, name)
	if len(got) != 1 {
		t.Fatalf("%s reported %d times, want once", name, len(got))
	}
	if got[0].Status != status {
		t.Errorf("%s: status %s, want %s (output %q)", name, got[0].Status, status, got[0].Output)
	}
	return got[0]
}

func TestParseGoGolden(t *testing.T) {
	tests := []struct {
		input string
		check func(t *testing.T, res *Results)
	}{
		{"gotest_pass_fail_skip.json", func(t *testing.T, res *Results) {
			wantStatus(t, res, "TestAddPasses", Pass)
			fail := wantStatus(t, res, "TestAddFails", Fail)
			if !strings.Contains(fail.Output, "Add(2, 2) = 4, want 5") || !strings.Contains(fail.Output, "computing 2+2") {
				t.Errorf("TestAddFails output lacks its log: %q", fail.Output)
			}
			if strings.Contains(fail.Output, "=== RUN") {
				t.Errorf("framing kept in output: %q", fail.Output)
			}
			wantStatus(t, res, "TestSkipped", Skip)
			wantStatus(t, res, "TestTable/zero", Pass)
			wantStatus(t, res, "TestTable/with_space", Pass)
			wantStatus(t, res, "TestTable/negative", Fail)
			parent := wantStatus(t, res, "TestTable", Fail)
			if !strings.Contains(parent.Output, "got -2, want -3") {
				t.Errorf("parent output lacks the failed subtest's: %q", parent.Output)
			}
			wantStatus(t, res, "TestParallel/group/a", Pass)
			wantStatus(t, res, "TestParallel/group/b", Skip)
			wantStatus(t, res, "TestPrintsForgedFraming", Pass)
			if len(find(res, "TestHidden")) != 0 {
				t.Error("framing printed by a test became a test")
			}
			if tt := wantStatus(t, res, "TestTakesTime", Pass); tt.Elapsed != 50*time.Millisecond {
				t.Errorf("elapsed %v, want 50ms", tt.Elapsed)
			}
			if res.BuildFailed || res.Incomplete {
				t.Errorf("BuildFailed %v, Incomplete %v", res.BuildFailed, res.Incomplete)
			}
		}},
		{"gotest_build_fail.json", func(t *testing.T, res *Results) {
			if !res.BuildFailed || len(res.Tests) != 0 || res.Incomplete {
				t.Errorf("BuildFailed %v, %d tests, Incomplete %v", res.BuildFailed, len(res.Tests), res.Incomplete)
			}
			if got, want := res.FirstError(), "buildfail/buildfail.go:5:9: undefined: undefinedThing"; got != want {
				t.Errorf("FirstError = %q, want %q", got, want)
			}
		}},
		{"gotest_vet_fail.json", func(t *testing.T, res *Results) {
			if !res.BuildFailed {
				t.Error("vet failure not reported as a build failure")
			}
			if got, want := res.FirstError(), "vetfail/vetfail.go:7:22: fmt.Sprintf format %s has arg n of wrong type int"; got != want {
				t.Errorf("FirstError = %q, want %q", got, want)
			}
		}},
		{"gotest_setup_fail.json", func(t *testing.T, res *Results) {
			if !res.BuildFailed {
				t.Error("setup failure not reported as a build failure")
			}
			if got := res.FirstError(); !strings.HasPrefix(got, "badimport/x_test.go:6:2: no required module provides package") {
				t.Errorf("FirstError = %q", got)
			}
		}},
		{"gotest_panic.json", func(t *testing.T, res *Results) {
			wantStatus(t, res, "TestBefore", Pass)
			wantStatus(t, res, "TestPanics/ok", Pass)
			wantStatus(t, res, "TestPanics/boom", Fail)
			p := wantStatus(t, res, "TestPanics", Fail)
			if !strings.Contains(p.Output, "index out of range") {
				t.Errorf("panic missing from output: %q", p.Output)
			}
			if len(find(res, "TestAfter")) != 0 {
				t.Error("TestAfter reported though the binary died before it")
			}
			if res.Incomplete {
				t.Error("Incomplete set though the package ended")
			}
		}},
		{"gotest_goroutine_panic.json", func(t *testing.T, res *Results) {
			wantStatus(t, res, "TestFine", Pass)
			sub := wantStatus(t, res, "TestBackground/sub", Fail)
			if !strings.Contains(sub.Output, "nil pointer dereference") || !strings.Contains(sub.Output, "test binary exited") {
				t.Errorf("unfinished subtest output: %q", sub.Output)
			}
			parent := wantStatus(t, res, "TestBackground", Fail)
			if !strings.Contains(parent.Output, "nil pointer dereference") {
				t.Errorf("parent lacks its subtest's output: %q", parent.Output)
			}
			if res.Incomplete {
				t.Error("Incomplete set though the package ended")
			}
		}},
		{"gotest_exit0.json", func(t *testing.T, res *Results) {
			wantStatus(t, res, "TestFirst", Pass)
			e := wantStatus(t, res, "TestExits", Fail)
			if !strings.Contains(e.Output, "unexpected call to os.Exit(0)") {
				t.Errorf("output: %q", e.Output)
			}
			if len(find(res, "TestNeverRuns")) != 0 {
				t.Error("TestNeverRuns reported")
			}
		}},
		{"gotest_killed.json", func(t *testing.T, res *Results) {
			wantStatus(t, res, "TestQuick", Pass)
			s := wantStatus(t, res, "TestSlow", Fail)
			if !strings.Contains(s.Output, "waiting") || !strings.Contains(s.Output, "output ended") {
				t.Errorf("output: %q", s.Output)
			}
			if !res.Incomplete {
				t.Error("Incomplete not set for a killed run")
			}
		}},
		{"gotest_multi.json", func(t *testing.T, res *Results) {
			if !res.BuildFailed || res.Incomplete {
				t.Errorf("BuildFailed %v, Incomplete %v", res.BuildFailed, res.Incomplete)
			}
			wantStatus(t, res, "TestAddPasses", Pass)
			wantStatus(t, res, "TestPanics", Fail)
			pkgs := map[string]bool{}
			for _, r := range res.Tests {
				pkgs[r.Package] = true
			}
			if len(pkgs) != 2 {
				t.Errorf("packages %v, want handlers and crash", pkgs)
			}
		}},
		{"gotest_long_lines.json.gz", func(t *testing.T, res *Results) {
			f := wantStatus(t, res, "TestLongLogFails", Fail)
			if len(f.Output) > MaxTestOutput || !utf8.ValidString(f.Output) {
				t.Errorf("output is %d bytes (cap %d), valid UTF-8 %v", len(f.Output), MaxTestOutput, utf8.ValidString(f.Output))
			}
			if !strings.Contains(f.Output, "head xxx") || !strings.Contains(f.Output, "failed after a long line") || !strings.Contains(f.Output, "bytes cut]") {
				t.Errorf("output lost its head, tail or cut marker: %q", f.Output)
			}
			wantStatus(t, res, "TestMiBLinePasses", Pass)
			wantStatus(t, res, "TestAfterLong", Pass)
		}},
		{"gotest_gomod_stderr.json", func(t *testing.T, res *Results) {
			if !res.BuildFailed || !res.Incomplete {
				t.Errorf("BuildFailed %v, Incomplete %v", res.BuildFailed, res.Incomplete)
			}
			if got := res.FirstError(); !strings.HasPrefix(got, "go.mod:5: syntax error") {
				t.Errorf("FirstError = %q", got)
			}
		}},
	}
	run := func(t *testing.T, input string, check func(*testing.T, *Results)) {
		res, err := ParseGo(bytes.NewReader(readInput(t, input)))
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

// ev builds one JSON event line.
func ev(action, test, output string) string {
	b, _ := json.Marshal(map[string]any{"Action": action, "Package": "p", "Test": test, "Output": output})
	return string(b) + "\n"
}

func TestParseGoStreams(t *testing.T) {
	huge := strings.Repeat("z", 10<<20)
	tests := []struct {
		name  string
		input string
		check func(t *testing.T, res *Results)
	}{
		{
			name: "line over 64 KiB is parsed",
			input: ev("start", "", "") + ev("run", "TestA", "") +
				ev("output", "TestA", "start "+strings.Repeat("a", 70<<10)+" end\n") +
				ev("fail", "TestA", "") + ev("fail", "", ""),
			check: func(t *testing.T, res *Results) {
				a := wantStatus(t, res, "TestA", Fail)
				if !strings.HasPrefix(a.Output, "start aaa") || !strings.HasSuffix(a.Output, "aaa end\n") || len(a.Output) > MaxTestOutput {
					t.Errorf("output of %d bytes: %.80q...", len(a.Output), a.Output)
				}
			},
		},
		{
			name: "10 MiB JSON line is skipped, later events parsed",
			input: ev("start", "", "") + ev("run", "TestA", "") + ev("output", "TestA", huge) +
				ev("fail", "TestA", "") + ev("run", "TestB", "") + ev("pass", "TestB", "") + ev("fail", "", ""),
			check: func(t *testing.T, res *Results) {
				wantStatus(t, res, "TestA", Fail)
				wantStatus(t, res, "TestB", Pass)
				if res.Incomplete {
					t.Error("Incomplete")
				}
			},
		},
		{
			name:  "10 MiB text line without newline at the end",
			input: ev("start", "", "") + ev("run", "TestA", "") + ev("pass", "TestA", "") + ev("pass", "", "") + huge,
			check: func(t *testing.T, res *Results) {
				wantStatus(t, res, "TestA", Pass)
				if res.BuildOutput != "" {
					t.Errorf("BuildOutput %.80q", res.BuildOutput)
				}
			},
		},
		{
			name:  "CRLF line endings",
			input: strings.ReplaceAll(ev("start", "", "")+ev("run", "TestA", "")+ev("pass", "TestA", "")+ev("pass", "", ""), "\n", "\r\n"),
			check: func(t *testing.T, res *Results) {
				wantStatus(t, res, "TestA", Pass)
				if res.Incomplete {
					t.Error("Incomplete")
				}
			},
		},
		{
			name: "a second report of one test is kept apart",
			input: ev("start", "", "") + ev("run", "TestHidden", "") + ev("pass", "TestHidden", "") +
				ev("run", "TestHidden", "") + ev("fail", "TestHidden", "") + ev("fail", "", ""),
			check: func(t *testing.T, res *Results) {
				got := find(res, "TestHidden")
				if len(got) != 2 || got[0].Status != Pass || got[1].Status != Fail {
					t.Errorf("reports %+v, want a pass then a fail", got)
				}
			},
		},
		{
			name: "a result line passed on as output is noted",
			input: ev("start", "", "") + ev("run", "TestA", "") + ev("output", "TestA", strings.Repeat("-", 4096)) +
				ev("output", "TestA", "\x16--- FAIL: TestA (0.00s)\n") + ev("fail", "", ""),
			check: func(t *testing.T, res *Results) {
				if !res.StrayFraming {
					t.Error("StrayFraming not set")
				}
			},
		},
		{
			name: "results are ranked in the order they came",
			input: ev("start", "", "") + ev("run", "TestA", "") + ev("run", "TestB", "") + ev("pass", "TestB", "") +
				ev("output", "TestA", "plain output\n") + ev("fail", "TestA", "") + ev("run", "TestC", "") + ev("fail", "", ""),
			check: func(t *testing.T, res *Results) {
				a, b, c := find(res, "TestA"), find(res, "TestB"), find(res, "TestC")
				if a[0].Rank != 2 || b[0].Rank != 1 || c[0].Rank != 0 || res.StrayFraming {
					t.Errorf("ranks %d %d %d (want 2 1 0), StrayFraming %v", a[0].Rank, b[0].Rank, c[0].Rank, res.StrayFraming)
				}
			},
		},
		{
			name: "compiler output outside JSON",
			input: "# example.com/p\n" +
				"p/x.go:3:9: cannot use s (variable of type string) as int value in return statement\n" +
				"\thave (string)\n\twant (int)\n" +
				"some unrelated noise\n\tindented noise\n" +
				"FAIL\texample.com/p [build failed]\n",
			check: func(t *testing.T, res *Results) {
				want := "# example.com/p\np/x.go:3:9: cannot use s (variable of type string) as int value in return statement\n\thave (string)\n\twant (int)\n"
				if res.BuildOutput != want || !res.BuildFailed || !res.Incomplete {
					t.Errorf("BuildOutput %q, BuildFailed %v, Incomplete %v", res.BuildOutput, res.BuildFailed, res.Incomplete)
				}
			},
		},
		{
			name:  "go chatter is not a failure",
			input: "go: downloading example.com/m v1.0.0\n" + ev("start", "", "") + ev("pass", "", ""),
			check: func(t *testing.T, res *Results) {
				if res.BuildFailed || res.Incomplete {
					t.Errorf("BuildFailed %v, Incomplete %v", res.BuildFailed, res.Incomplete)
				}
			},
		},
		{
			name:  "empty stream",
			input: "",
			check: func(t *testing.T, res *Results) {
				if !res.Incomplete || res.BuildFailed || len(res.Tests) != 0 {
					t.Errorf("%+v", res)
				}
			},
		},
		{
			name:  "package with no tests",
			input: ev("start", "", "") + ev("output", "", "?   \tp\t[no test files]\n") + ev("skip", "", ""),
			check: func(t *testing.T, res *Results) {
				if res.Incomplete || len(res.Tests) != 0 {
					t.Errorf("%+v", res)
				}
			},
		},
		{
			name: "nonsense elapsed values",
			input: `{"Action":"run","Package":"p","Test":"TestNeg"}` + "\n" +
				`{"Action":"pass","Package":"p","Test":"TestNeg","Elapsed":-3}` + "\n" +
				`{"Action":"run","Package":"p","Test":"TestHuge"}` + "\n" +
				`{"Action":"pass","Package":"p","Test":"TestHuge","Elapsed":1e300}` + "\n" +
				`{"Action":"pass","Package":"p","Elapsed":0.5}` + "\n",
			check: func(t *testing.T, res *Results) {
				if e := wantStatus(t, res, "TestNeg", Pass).Elapsed; e != 0 {
					t.Errorf("negative elapsed became %v", e)
				}
				if e := wantStatus(t, res, "TestHuge", Pass).Elapsed; e <= 0 || e > 300*time.Hour {
					t.Errorf("huge elapsed became %v", e)
				}
			},
		},
	}
	run := func(t *testing.T, input string, check func(*testing.T, *Results)) {
		res, err := ParseGo(strings.NewReader(input))
		if err != nil {
			t.Fatal(err)
		}
		check(t, res)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc.input, tc.check) })
	}
}

func TestParseGoReadError(t *testing.T) {
	_, err := ParseGo(io.MultiReader(strings.NewReader(ev("start", "", "")), iotest.ErrReader(io.ErrClosedPipe)))
	if err == nil || !strings.Contains(err.Error(), "read go test output") {
		t.Fatalf("err = %v, want a wrapped read error", err)
	}
}

func TestParseGoFirstError(t *testing.T) {
	tests := []struct {
		name, output, want string
	}{
		{"empty", "", ""},
		{"compiler", "# example.com/p\n./x.go:12:3: undefined: foo\n./x.go:13:3: undefined: bar\n", "./x.go:12:3: undefined: foo"},
		{"no column", "# p\nasm.s:7: bad instruction\n", "asm.s:7: bad instruction"},
		{"go message", "go: inconsistent vendoring in /src:\n", "go: inconsistent vendoring in /src:"},
		{"compiler wins over go", "go: warning: x\npkg/a.go:1:1: expected 'package', found 'EOF'\n", "pkg/a.go:1:1: expected 'package', found 'EOF'"},
		{"plain", "# ./nodir\nstat /src/nodir: directory not found\n", "stat /src/nodir: directory not found"},
		{"long", "a.go:1:1: " + strings.Repeat("é", 400) + "\n", "a.go:1:1: " + strings.Repeat("é", 113) + "..."},
		{"cut before the error", "# p\n" + capture.Marker(5000) + "x.go:1:1: bad\n", "x.go:1:1: bad"},
		{"cut before a plain line", capture.Marker(12) + "stat /src/p: no such file\n", "stat /src/p: no such file"},
		{"a note is no error", capture.Mark + "no result reported]\nsignal: killed\n", "signal: killed"},
		{"only a marker", "# p" + capture.Marker(10), ""},
	}
	run := func(t *testing.T, output, want string) {
		r := &Results{BuildOutput: output}
		got := r.FirstError()
		if got != want {
			t.Errorf("FirstError = %q, want %q", got, want)
		}
		if len(got) > maxFirstError || !utf8.ValidString(got) {
			t.Errorf("FirstError is %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc.output, tc.want) })
	}
	if (*Results)(nil).FirstError() != "" {
		t.Error("nil Results has a first error")
	}
}

// TestParseGoOutputCaps checks that what ParseGo keeps of a failed test's
// output and of the compiler's is bounded, valid UTF-8, and says where it
// was cut: the head and the tail of a test's output, the head of the
// compiler's.
func TestParseGoOutputCaps(t *testing.T) {
	tests := []struct {
		name   string
		output string
	}{
		{"fits", "hello\nworld\n"},
		{"one long line", strings.Repeat("b", 10000) + "\n"},
		{"many lines", strings.Repeat("line of output\n", 2000)},
		{"multibyte at the edges", strings.Repeat("ü€😀", 3000) + "\n"},
	}
	check := func(t *testing.T, what, got, full string, max int, tail bool) {
		t.Helper()
		if len(got) > max || !utf8.ValidString(got) {
			t.Errorf("%s: kept %d bytes (cap %d), valid UTF-8 %v", what, len(got), max, utf8.ValidString(got))
		}
		cut := len(full) > max
		if !cut {
			if got != full {
				t.Errorf("%s: kept %q, want all of %q", what, got, full)
			}
			return
		}
		head, rest, ok := strings.Cut(got, "\n"+capture.Mark)
		_, end, _ := strings.Cut(rest, " bytes cut]\n")
		switch {
		case !ok:
			t.Errorf("%s: no cut marker in %.80q", what, got)
		case !strings.HasPrefix(full, head) || !strings.HasSuffix(full, end) || head == "" || (end != "") != tail:
			t.Errorf("%s: kept %.80q, not the head and the tail of the output", what, got)
		}
	}
	run := func(t *testing.T, output string) {
		var in strings.Builder
		in.WriteString(ev("run", "TestX", ""))
		for line := range strings.Lines(output) {
			in.WriteString(ev("output", "TestX", line))
		}
		in.WriteString(ev("fail", "TestX", ""))
		for line := range strings.Lines(output) {
			b, _ := json.Marshal(map[string]any{"Action": "build-output", "ImportPath": "p", "Output": line})
			in.Write(append(b, '\n'))
		}
		res, err := ParseGo(strings.NewReader(in.String()))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "test output", wantStatus(t, res, "TestX", Fail).Output, output, MaxTestOutput, true)
		check(t, "build output", res.BuildOutput, output, MaxBuildOutput, false)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc.output) })
	}
}
