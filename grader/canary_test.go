package grader

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/testout"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

func TestCanaryGo(t *testing.T) {
	task := &tasks.Task{
		ID: "t", Runner: tasks.RunnerGo, Packages: []string{"./a", "./b/c"},
		Tests: []string{"TestA", "TestC"},
		Hidden: []tasks.HiddenFile{
			{Path: "a/x_test.go", Data: []byte("// doc\npackage a_test\n")},
			{Path: "a/y_test.go", Data: []byte("package a_test\n")},
			{Path: "b/c/z_test.go", Data: []byte("package c\n")},
			{Path: "b/c/testdata/in.json", Data: []byte("{}")},
		},
	}
	c1, err := newCanary(task)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := newCanary(task)
	if c1.Token == c2.Token || c1.Names[0] == c2.Names[0] {
		t.Errorf("two runs drew the same canary: %v %v", c1.Names, c2.Names)
	}
	if len(c1.Names) != 2 || len(c1.Files) != 0 || len(c1.Private) != 3 || c1.Entry != "" {
		t.Fatalf("canary = %+v, want one private test per package folder and an overlay, no workspace file", c1)
	}
	// The overlay puts each private canary into its package folder.
	var overlay struct{ Replace map[string]string }
	if err := json.Unmarshal(c1.Private[overlayFile], &overlay); err != nil {
		t.Fatal(err)
	}
	pkgOf := map[string]string{"/work/a/": "package a_test\n", "/work/b/c/": "package c\n"}
	if len(overlay.Replace) != 2 {
		t.Errorf("overlay %s, want two files", c1.Private[overlayFile])
	}
	for p, priv := range overlay.Replace {
		dir := p[:strings.LastIndex(p, "/")+1]
		src := c1.Private[strings.TrimPrefix(priv, sandbox.PrivateDir+"/")]
		if !strings.HasPrefix(priv, sandbox.PrivateDir+"/") || !strings.Contains(string(src), pkgOf[dir]) || !strings.HasPrefix(p[len(dir):], "zz_") || !strings.HasSuffix(p, "_test.go") {
			t.Errorf("canary %s from %s:\n%s", p, priv, src)
		}
		if !strings.Contains(string(src), c1.Token) || !strings.Contains(string(src), RunPattern(append(append([]string{}, task.Tests...), c1.Names...))) {
			t.Errorf("canary %s lacks the token or the -run pattern:\n%s", p, src)
		}
	}
	cmd := strings.Join(Command(task, c1), " ")
	for _, n := range append(task.Tests, c1.Names...) {
		if !strings.Contains(cmd, n) {
			t.Errorf("command %q does not run %s", cmd, n)
		}
	}
	if !strings.Contains(cmd, "-shuffle=off") || !strings.Contains(cmd, "-count=1") {
		t.Errorf("command %q is not deterministic", cmd)
	}
	if !strings.Contains(cmd, "-exec="+sandbox.ExecHelper) || !strings.Contains(cmd, "-overlay="+sandbox.PrivateDir+"/"+overlayFile) {
		t.Errorf("command %q does not run the tests through the supervisor with the private overlay", cmd)
	}
}

func TestCanaryJS(t *testing.T) {
	task := &tasks.Task{ID: "t", Runner: tasks.RunnerJS, Packages: []string{"ui/a.test.mjs", "ui/b's.test.js"}}
	c, err := newCanary(task)
	if err != nil {
		t.Fatal(err)
	}
	src := string(c.Private[c.Entry])
	for _, want := range []string{`import "./ui/a.test.mjs";`, `import "./ui/b's.test.js";`, c.Token, c.Names[0], "intact()"} {
		if !strings.Contains(src, want) {
			t.Errorf("entry file lacks %q:\n%s", want, src)
		}
	}
	if strings.Index(src, "ui/b's") > strings.Index(src, "test(") || strings.Index(src, "-guard.mjs") > strings.Index(src, "ui/a.test") {
		t.Errorf("the guard must be imported first and the canary declared after the hidden files:\n%s", src)
	}
	if len(c.Files) != 1 || len(c.Private) != 1 {
		t.Errorf("want a private entry module and a guard in the workspace, got %d and %d files", len(c.Private), len(c.Files))
	}
	cmd := Command(task, c)
	if cmd[len(cmd)-1] != "--input-type=module" || slices.Contains(cmd, c.Entry) {
		t.Errorf("command %q must read the entry module from stdin, not name it", cmd)
	}
}

func TestCanaryAttested(t *testing.T) {
	c := &canary{Names: []string{"TestZz1", "TestZz2"}, Dirs: []string{"a", "b"}, Token: "secret"}
	good := func(n string) []testout.Test {
		return []testout.Test{{Name: n, Status: testout.Pass}, {Name: n + "/secret", Status: testout.Pass}}
	}
	both := append(good("TestZz1"), good("TestZz2")...)
	for _, tc := range []struct {
		name  string
		tests []testout.Test
		want  bool
	}{
		{"both passed with the token's subtest", append([]testout.Test{{Name: "TestA", Status: testout.Pass}}, both...), true},
		{"one missing", append([]testout.Test{{Name: "TestA", Status: testout.Pass}}, good("TestZz1")...), false},
		{"none", []testout.Test{{Name: "TestA", Status: testout.Pass}}, false},
		{"no subtest", append(good("TestZz1"), testout.Test{Name: "TestZz2", Status: testout.Pass}), false},
		{"failed", append(good("TestZz1"), testout.Test{Name: "TestZz2", Status: testout.Fail}, testout.Test{Name: "TestZz2/secret", Status: testout.Pass}), false},
		{"wrong token", append(good("TestZz1"), testout.Test{Name: "TestZz2", Status: testout.Pass}, testout.Test{Name: "TestZz2/guess", Status: testout.Pass}), false},
		{"reported twice", append(both, good("TestZz2")...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &testout.Results{Tests: tc.tests}
			if got := c.attested(res); got != tc.want {
				t.Errorf("attested = %v, want %v", got, tc.want)
			}
			c.strip(res)
			for _, r := range res.Tests {
				if c.is(r.Name) {
					t.Errorf("strip kept %s", r.Name)
				}
			}
		})
	}
}

func TestScoreUnfinishedAndForged(t *testing.T) {
	task := &tasks.Task{ID: "t", Points: 4, Scoring: tasks.Partial, Tests: []string{"TestA", "TestB"}}
	res := &testout.Results{Tests: []testout.Test{{Name: "TestA", Status: testout.Pass}, {Name: "TestB", Status: testout.Pass}}}

	tr := report.Score(task, report.Outcome{Results: res})
	if tr.Status != report.Passed || tr.Points != 4 {
		t.Fatalf("attested run: %s %g", tr.Status, tr.Points)
	}
	tr = report.Score(task, report.Outcome{Results: res, Unfinished: true})
	if tr.Status != report.Failed || tr.Points != 0 || tr.Forged || !strings.Contains(tr.Reason, "did not confirm the run") {
		t.Errorf("unfinished run: %s %g forged=%v %q", tr.Status, tr.Points, tr.Forged, tr.Reason)
	}
	tr = report.Score(task, report.Outcome{Results: res, Unfinished: true, Forged: true})
	if tr.Status != report.Failed || tr.Points != 0 || !tr.Forged || !strings.Contains(tr.Reason, "forged") {
		t.Errorf("forged run: %s %g forged=%v %q", tr.Status, tr.Points, tr.Forged, tr.Reason)
	}
	if res.Tests[0].Status != testout.Pass {
		t.Errorf("Score changed its input")
	}
}

func TestOnlyPasses(t *testing.T) {
	task := &tasks.Task{Tests: []string{"TestA", "TestB"}}
	for _, tc := range []struct {
		tests []testout.Test
		want  bool
	}{
		{[]testout.Test{{Name: "TestA", Status: testout.Pass}}, true},
		{[]testout.Test{{Name: "TestA", Status: testout.Pass}, {Name: "TestB", Status: testout.Fail}}, false},
		{[]testout.Test{{Name: "TestOther", Status: testout.Pass}}, false},
		{nil, false},
	} {
		if got := onlyPasses(task, &testout.Results{Tests: tc.tests}); got != tc.want {
			t.Errorf("onlyPasses(%v) = %v, want %v", tc.tests, got, tc.want)
		}
	}
}

func TestCanaryWhole(t *testing.T) {
	c := &canary{Names: []string{"TestZz0"}, Dirs: []string{"a"}, Token: "secret"}
	task := &tasks.Task{Runner: tasks.RunnerGo, Tests: []string{"TestA", "TestB/sub"}}
	r := func(name string, s testout.Status) testout.Test {
		return testout.Test{Package: "p", Name: name, Status: s}
	}
	intact := []testout.Test{
		r("TestA", testout.Fail), r("TestA/x", testout.Fail), r("TestB", testout.Pass), r("TestB/sub", testout.Pass),
		r("TestZz0", testout.Pass), r("TestZz0/secret", testout.Pass),
	}
	for _, tc := range []struct {
		name      string
		tests     []testout.Test
		stray     bool
		truncated bool
		runner    tasks.Runner
		want      string // in the reason; "" for none
	}{
		{name: "intact", tests: intact},
		{name: "output cut", tests: intact, truncated: true, want: "more output than the grader keeps"},
		{name: "output cut in JavaScript", tests: intact, truncated: true, runner: tasks.RunnerJS, want: "more output than the grader keeps"},
		{name: "result line as output", tests: intact, stray: true, want: "as plain output"},
		{name: "result line as output in JavaScript", tests: intact, stray: true, runner: tasks.RunnerJS},
		{name: "a test not asked for", tests: append(slices.Clone(intact), r("TestJunk", testout.Fail)), want: "test TestJunk, which the run did not ask for"},
		{name: "a subtest not asked for", tests: append(slices.Clone(intact), r("TestJunk/x", testout.Fail)), want: "test TestJunk, which"},
		{name: "failed subtest of a passed test", tests: append(slices.Clone(intact), r("TestB/junk", testout.Fail)), want: "TestB/junk failed under TestB, which passed"},
		{name: "failed subtest of the check test", tests: append(slices.Clone(intact), r("TestZz0/junk", testout.Fail)), want: "failed under TestZz0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := *task
			if tc.runner != "" {
				task.Runner = tc.runner
			}
			got := c.whole(&task, &testout.Results{Tests: tc.tests, StrayFraming: tc.stray}, tc.truncated)
			if (got == "") != (tc.want == "") || !strings.Contains(got, tc.want) {
				t.Errorf("whole = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCanaryLate(t *testing.T) {
	c := &canary{Names: []string{"TestZz0"}, Dirs: []string{"a"}, Token: "secret"}
	r := func(pkg, name string, n int) testout.Test {
		return testout.Test{Package: pkg, Name: name, Status: testout.Pass, Rank: n}
	}
	intact := []testout.Test{r("p", "TestA", 1), r("p", "TestZz0/secret", 2), r("p", "TestZz0", 3)}
	for _, tc := range []struct {
		name  string
		tests []testout.Test
		want  string
	}{
		{"check test last", intact, ""},
		{"a result after the check test", append(slices.Clone(intact), r("p", "TestB", 4)), "TestB reported its result after"},
		{"a test that never reported", append(slices.Clone(intact), r("p", "TestB", 0)), ""},
		{"another package after the check test", append(slices.Clone(intact), r("q", "TestB", 4)), ""},
		{"not ranked (JUnit)", []testout.Test{r("p", "TestZz0", 0), r("p", "TestB", 0)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := c.late(&testout.Results{Tests: tc.tests})
			if (got == "") != (tc.want == "") || !strings.Contains(got, tc.want) {
				t.Errorf("late = %q, want %q", got, tc.want)
			}
		})
	}
}
