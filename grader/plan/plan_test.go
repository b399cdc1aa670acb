package plan

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/testout"
	"github.com/cmcgrader/cmcgrader/tasks"
)

func hidden(p, d string) []tasks.HiddenFile { return []tasks.HiddenFile{{Path: p, Data: []byte(d)}} }

func TestUnits(t *testing.T) {
	goTask := func(id, pkg, test, file, data string, restore ...string) *tasks.Task {
		return &tasks.Task{ID: id, Runner: tasks.RunnerGo, Packages: []string{pkg}, Tests: []string{test}, Hidden: hidden(file, data), Restore: restore}
	}
	tests := []struct {
		name string
		ts   []*tasks.Task
		want string
	}{
		{"one package", []*tasks.Task{
			goTask("a", "./x", "TestA", "x/a_test.go", "a"),
			goTask("b", "./x", "TestB", "x/b_test.go", "b"),
		}, "[[0 1]]"},
		{"two packages share a run", []*tasks.Task{
			goTask("a", "./x", "TestA", "x/a_test.go", "a"),
			goTask("b", "./y", "TestB", "y/b_test.go", "b"),
		}, "[[0 1]]"},
		{"one hidden path, two contents", []*tasks.Task{
			goTask("a", "./x", "TestA", "x/a_test.go", "a"),
			goTask("c", "./x", "TestC", "x/a_test.go", "other"),
		}, "[[0] [1]]"},
		{"one test name in one folder", []*tasks.Task{
			goTask("a", "./x", "TestA", "x/a_test.go", "a"),
			goTask("f", "./x", "TestA", "x/f_test.go", "f"),
		}, "[[0] [1]]"},
		{"one test name in two folders", []*tasks.Task{
			goTask("a", "./x", "TestA", "x/a_test.go", "a"),
			goTask("f", "./y", "TestA", "y/f_test.go", "f"),
		}, "[[0 1]]"},
		{"different restored files", []*tasks.Task{
			goTask("a", "./x", "TestA", "x/a_test.go", "a", "go.mod", "go.sum"),
			goTask("b", "./y", "TestB", "y/b_test.go", "b", "go.sum", "go.mod"),
			goTask("c", "./z", "TestC", "z/c_test.go", "c", "go.mod"),
		}, "[[0 1] [2]]"},
		{"JavaScript and OPA alone, after the Go run", []*tasks.Task{
			{ID: "d", Runner: tasks.RunnerJS, Packages: []string{"ui/d.test.mjs"}},
			goTask("a", "./x", "TestA", "x/a_test.go", "a"),
			{ID: "e", Runner: tasks.RunnerOPA, Packages: []string{"policies"}},
			goTask("b", "./y", "TestB", "y/b_test.go", "b"),
		}, "[[1 3] [0] [2]]"},
		{"a clash starts a second run, the next task joins the first that fits", []*tasks.Task{
			goTask("a", "./x", "TestA", "x/a_test.go", "a"),
			goTask("c", "./x", "TestC", "x/a_test.go", "other"),
			goTask("g", "./z", "TestG", "z/g_test.go", "g"),
		}, "[[0 2] [1]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(Units(tt.ts)); got != tt.want {
				t.Errorf("Units = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	a := &tasks.Task{ID: "a", Runner: tasks.RunnerGo, Packages: []string{"./x"}, Tests: []string{"TestA"}, Hidden: hidden("x/a_test.go", "a"), Restore: []string{"go.mod"}, Timeout: time.Minute}
	b := &tasks.Task{ID: "b", Runner: tasks.RunnerGo, Packages: []string{"./y", "./x"}, Tests: []string{"TestB"}, Hidden: hidden("y/b_test.go", "b"), Restore: []string{"go.mod"}, Timeout: 2 * time.Minute}
	m := Merge([]*tasks.Task{a, b})
	got := fmt.Sprintln(m.ID, m.Packages, m.Tests, len(m.Hidden), m.Restore, m.Timeout)
	if want := "a+b [./x ./y] [TestA TestB] 2 [go.mod] 3m0s\n"; got != want {
		t.Errorf("Merge = %s, want %s", got, want)
	}
}

func TestSplit(t *testing.T) {
	a := &tasks.Task{ID: "a", Tests: []string{"TestA"}, Hidden: hidden("x/a_test.go", "a")}
	b := &tasks.Task{ID: "b", Tests: []string{"TestB"}, Hidden: append(hidden("y/b_test.go", "b"), hidden("y/testdata/in.json", "{}")...)}
	c := &tasks.Task{ID: "c", Tests: []string{"TestC"}, Hidden: hidden("z/c_test.go", "c")}
	res := &testout.Results{Tests: []testout.Test{
		{Package: "m/x", Name: "TestA", Status: testout.Pass},
		{Package: "m/x", Name: "TestA/sub", Status: testout.Pass},
		{Package: "m/x", Name: "TestOther", Status: testout.Pass}, // not a hidden test
		{Package: "m/x", Name: "TestB", Status: testout.Pass},     // x's binary claims y's test
		{Package: "m/y", Name: "TestB", Status: testout.Fail},
		{Package: "m/z", Name: "TestC", Status: testout.Pass},
	}}
	got := Split([]*tasks.Task{a, b, c}, res, map[string]string{"x": "m/x", "y": "m/y"})
	for i, want := range []string{"[{m/x TestA pass} {m/x TestA/sub pass}]", "[{m/y TestB fail}]", "[]"} {
		var s []string
		for _, r := range got[i].Tests {
			s = append(s, fmt.Sprintf("{%s %s %s}", r.Package, r.Name, r.Status))
		}
		if "["+strings.Join(s, " ")+"]" != want {
			t.Errorf("task %d: %v, want %s", i, s, want)
		}
	}
}
