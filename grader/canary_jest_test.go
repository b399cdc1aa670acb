package grader

import (
	"slices"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/testout"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

func TestCanaryJest(t *testing.T) {
	for _, tc := range []struct {
		name, modules, want string
	}{
		{"the image's jest", "", `modules: ""`},
		{"the base's packages", "ui/node_modules", `modules: "` + sandbox.NodeModulesDir + `/ui/node_modules"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := &tasks.Task{ID: "t", Runner: tasks.RunnerJest, Packages: []string{"ui/a.test.cjs", `ui/b"s.test.js`}, NodeModules: tc.modules}
			c, err := newCanary(task)
			if err != nil {
				t.Fatal(err)
			}
			src := string(c.Private[c.Entry])
			for _, want := range []string{sandbox.JestDriverPath, `"ui/a.test.cjs"`, `"ui/b\"s.test.js"`, `"` + c.Token + `"`, `"` + c.Names[0] + `"`, tc.want} {
				if !strings.Contains(src, want) {
					t.Errorf("entry module lacks %s:\n%s", want, src)
				}
			}
			if len(c.Files) != 0 || len(c.Private) != 1 {
				t.Errorf("want only the private entry module, got %d workspace and %d private files", len(c.Files), len(c.Private))
			}
			cmd := Command(task, c)
			if !slices.Equal(cmd, []string{"node", "--input-type=module"}) {
				t.Errorf("command %q, want node reading the entry module from stdin", cmd)
			}
			if got := c.subtest(c.Names[0]); got != c.Names[0]+" > "+c.Token {
				t.Errorf("subtest %q", got)
			}
		})
	}
}

// TestCanaryJestCheck checks that jest's exit status must agree with
// every file's results: one process runs them all, and a test file that
// could not run is a failure.
func TestCanaryJestCheck(t *testing.T) {
	c, err := newCanary(&tasks.Task{ID: "t", Runner: tasks.RunnerJest, Packages: []string{"a.test.cjs"}})
	if err != nil {
		t.Fatal(err)
	}
	canary := []testout.Test{{Package: c.Names[0], Name: c.Names[0], Status: testout.Pass}, {Package: c.Names[0], Name: c.subtest(c.Names[0]), Status: testout.Pass}}
	pass := testout.Test{Package: "a.test.cjs", Name: "s > t", Status: testout.Pass}
	fail := testout.Test{Package: "a.test.cjs", Name: "s > u", Status: testout.Fail}
	for _, tc := range []struct {
		name  string
		res   *testout.Results
		code  int
		agree bool
	}{
		{"passes, exit 0", &testout.Results{Tests: append([]testout.Test{pass}, canary...)}, 0, true},
		{"passes, exit 1", &testout.Results{Tests: append([]testout.Test{pass}, canary...)}, 1, false},
		{"a failure in another file than the canary's, exit 1", &testout.Results{Tests: append([]testout.Test{pass, fail}, canary...)}, 1, true},
		{"a failure, exit 0", &testout.Results{Tests: append([]testout.Test{fail}, canary...)}, 0, false},
		{"a file that could not run, exit 1", &testout.Results{Tests: canary, BuildFailed: true}, 1, true},
		{"a file that could not run, exit 0", &testout.Results{Tests: canary, BuildFailed: true}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !c.attested(tc.res) {
				t.Fatal("not attested")
			}
			why := c.check(tc.res, []sandbox.Exit{{Dir: ".", Code: tc.code}})
			if (why == "") != tc.agree {
				t.Errorf("check = %q, want agreement %v", why, tc.agree)
			}
		})
	}
}
