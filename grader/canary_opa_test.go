package grader

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/testout"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

func opaTask() *tasks.Task {
	return &tasks.Task{
		ID: "m", Runner: tasks.RunnerOPA, Packages: []string{"policies"}, Timeout: time.Minute,
		Tests: []string{"data.p_test.test_a", "data.p_test.test_b"},
		Hidden: []tasks.HiddenFile{
			{Path: "policies/tests/p_test.rego", Data: []byte("package p_test\n")},
			{Path: "hidden/q_test.rego", Data: []byte("package p_test\n")},
		},
	}
}

func TestCanaryOPA(t *testing.T) {
	task := opaTask()
	c, err := newCanary(task)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Names) != 1 || !strings.HasSuffix(c.Names[0], ".test_"+c.Token) || len(c.Files) != 0 || c.Entry == "" {
		t.Fatalf("canary %+v: want one test rule named by the token, read from a private file on stdin", c)
	}
	src := string(c.Private[c.Entry])
	pkg := strings.TrimSuffix(strings.TrimPrefix(c.Names[0], "data."), ".test_"+c.Token)
	if !strings.Contains(src, "package "+pkg+"\n") || !strings.Contains(src, "test_"+c.Token+" if true") {
		t.Errorf("canary source:\n%s", src)
	}
	cmd := Command(task, c)
	want := []string{"sh", "-c", "cat | " + sandbox.OPAPath + ` "$@"`, "opa", "test", "--format=json", "--exit-zero-on-skipped", "--timeout=1m0s",
		`--run=^(data\.p_test\.test_a|data\.p_test\["test_a#[0-9]+"\]|data\.p_test\.test_b|data\.p_test\["test_b#[0-9]+"\]|data\.` + pkg + `\.test_` + c.Token + `|data\.` + pkg + `\["test_` + c.Token + `#[0-9]+"\]` + `)$`,
		"--", "policies", "hidden/q_test.rego", "/dev/stdin"}
	if !slices.Equal(cmd, want) {
		t.Errorf("command\n%q\nwant\n%q", cmd, want)
	}

	pass := func(name, file string) testout.Test {
		return testout.Test{Name: name, Status: testout.Pass, File: file}
	}
	fail := func(name, file string) testout.Test {
		return testout.Test{Name: name, Status: testout.Fail, File: file}
	}
	canaryPass := pass(c.Names[0], "/dev/stdin")
	for _, tc := range []struct {
		name         string
		in           []testout.Test
		attested     bool
		why          string
		shadowPassed bool
		kept         []testout.Test
	}{
		{name: "intact", in: []testout.Test{pass("data.p_test.test_a", "policies/tests/p_test.rego"), fail("data.p_test.test_b", "hidden/q_test.rego"), canaryPass},
			attested: true, kept: []testout.Test{pass("data.p_test.test_a", "policies/tests/p_test.rego"), fail("data.p_test.test_b", "hidden/q_test.rego"), canaryPass}},
		{name: "repeated in the hidden files: one result, failed when one failed",
			in:       []testout.Test{pass("data.p_test.test_a", "hidden/q_test.rego"), fail("data.p_test.test_a#01", "hidden/q_test.rego"), canaryPass},
			attested: true, kept: []testout.Test{fail("data.p_test.test_a", "hidden/q_test.rego"), canaryPass}},
		{name: "declared again by the submission",
			in:  []testout.Test{pass("data.p_test.test_a", "policies/forge.rego"), fail("data.p_test.test_a#01", "policies/tests/p_test.rego"), canaryPass},
			why: "a file of the submission, policies/forge.rego, declares the hidden test rule data.p_test.test_a again", shadowPassed: true, attested: true,
			kept: []testout.Test{fail("data.p_test.test_a", "policies/tests/p_test.rego"), canaryPass}},
		{name: "declared again through a rule head in a parent package",
			in:  []testout.Test{pass(`data.p.p_test["test_a#01"]`, "policies/refhead.rego"), fail("data.p_test.test_a", "hidden/q_test.rego"), canaryPass},
			why: `the output reports test data.p.p_test["test_a#01"], which the run did not ask for`, shadowPassed: true, attested: true,
			kept: []testout.Test{fail("data.p_test.test_a", "hidden/q_test.rego"), canaryPass}},
		{name: "a test not asked for", in: []testout.Test{pass("data.p_test.test_z", "policies/tests/p_test.rego"), canaryPass},
			why: "the output reports test data.p_test.test_z, which the run did not ask for", shadowPassed: true, attested: true, kept: []testout.Test{canaryPass}},
		{name: "canary from another file", in: []testout.Test{pass(c.Names[0], "policies/x.rego")}, kept: []testout.Test{pass(c.Names[0], "policies/x.rego")}},
		{name: "canary twice", in: []testout.Test{canaryPass, canaryPass}, kept: []testout.Test{canaryPass, canaryPass}},
		{name: "no canary", in: []testout.Test{pass("data.p_test.test_a", "hidden/q_test.rego")}, kept: []testout.Test{pass("data.p_test.test_a", "hidden/q_test.rego")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &testout.Results{Tests: slices.Clone(tc.in)}
			why, passed := c.opaOwn(task, res)
			if why != tc.why || passed != tc.shadowPassed {
				t.Errorf("opaOwn = %q, %v; want %q, %v", why, passed, tc.why, tc.shadowPassed)
			}
			if !slices.Equal(res.Tests, tc.kept) {
				t.Errorf("kept %+v\nwant %+v", res.Tests, tc.kept)
			}
			if got := c.attested(res); got != tc.attested {
				t.Errorf("attested = %v, want %v", got, tc.attested)
			}
		})
	}
}

func TestCanaryOPACheck(t *testing.T) {
	c, _ := newCanary(opaTask())
	canaryPass := testout.Test{Package: "data.zz", Name: c.Names[0], Status: testout.Pass, File: "/dev/stdin"}
	failed := &testout.Results{Tests: []testout.Test{{Package: "data.p_test", Name: "data.p_test.test_a", Status: testout.Fail}, canaryPass}}
	passed := &testout.Results{Tests: []testout.Test{{Package: "data.p_test", Name: "data.p_test.test_a", Status: testout.Pass}, canaryPass}}
	for _, tc := range []struct {
		name string
		res  *testout.Results
		code int
		ok   bool
	}{
		{"a failure, opa exited 2", failed, 2, true},
		{"a failure, opa exited 0", failed, 0, false},
		{"all passed, opa exited 0", passed, 0, true},
		{"all passed, opa exited 2", passed, 2, false},
	} {
		why := c.check(tc.res, []sandbox.Exit{{Dir: ".", Code: tc.code}})
		if (why == "") != tc.ok {
			t.Errorf("%s: check = %q", tc.name, why)
		}
	}
}
