package testout

import (
	"strings"
	"testing"
	"time"
)

func TestParseOPARecorded(t *testing.T) {
	const input = "opa_pass_fail_error.json"
	res, err := ParseOPA(readInput(t, input))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, input, res)
	want := []struct {
		name   string
		status Status
		output string
	}{
		{"data.models.relationships_test.test_edge_allowed", Pass, ""},
		{"data.models.relationships_test.test_node_denied", Pass, ""},
		{"data.models.relationships_test.test_hierarchical_allowed", Fail, `checking {"kind": "hierarchical"}`},
		{"data.models.relationships_test.test_conflict_errors", Fail, "eval_conflict_error: rule data.models.relationships.conflict produced conflicting values"},
		{"data.models.relationships_test.todo_test_binding", Skip, ""},
		{"data.models.relationships_test.test_repeated", Pass, ""},
		{"data.models.relationships_test.test_repeated#01", Fail, ""},
	}
	if len(res.Tests) != len(want) || res.Incomplete || res.BuildFailed {
		t.Fatalf("%d tests (Incomplete %v, BuildFailed %v), want %d: %+v", len(res.Tests), res.Incomplete, res.BuildFailed, len(want), res.Tests)
	}
	for i, w := range want {
		got := res.Tests[i]
		if got.Name != w.name || got.Status != w.status || !strings.Contains(got.Output, w.output) {
			t.Errorf("test %d: %q %s output %q; want %q %s output containing %q", i, got.Name, got.Status, got.Output, w.name, w.status, w.output)
		}
		if got.Package != "data.models.relationships_test" || got.File != "policies/tests/relationships_test.rego" {
			t.Errorf("test %d: package %q file %q", i, got.Package, got.File)
		}
	}
	if res.Tests[0].Elapsed != 663910*time.Nanosecond {
		t.Errorf("elapsed %v, want the duration in nanoseconds", res.Tests[0].Elapsed)
	}
}

func TestParseOPA(t *testing.T) {
	run := func(t *testing.T, in string, wantErr bool, want *Results) {
		t.Helper()
		got, err := ParseOPA([]byte(in))
		if (err != nil) != wantErr {
			t.Fatalf("error %v, want error %v", err, wantErr)
		}
		if wantErr {
			return
		}
		if got.Incomplete != want.Incomplete || len(got.Tests) != len(want.Tests) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		for i := range want.Tests {
			if got.Tests[i] != want.Tests[i] {
				t.Errorf("test %d: %+v, want %+v", i, got.Tests[i], want.Tests[i])
			}
		}
	}
	for _, tc := range []struct {
		name    string
		in      string
		wantErr bool
		want    *Results
	}{
		{name: "empty: opa failed before the tests", in: "", want: &Results{Incomplete: true}},
		{name: "blank", in: " \n", want: &Results{Incomplete: true}},
		{name: "no tests", in: "[]\n", want: &Results{}},
		{name: "pass", in: `[{"location":{"file":"p/a_test.rego","row":3,"col":1},"package":"data.p","name":"test_a","duration":5}]`,
			want: &Results{Tests: []Test{{Package: "data.p", Name: "data.p.test_a", Status: Pass, Elapsed: 5, File: "p/a_test.rego"}}}},
		{name: "error without message", in: `[{"package":"data.p","name":"test_a","error":{"code":"x"}}]`,
			want: &Results{Tests: []Test{{Package: "data.p", Name: "data.p.test_a", Status: Fail, Output: `{"code":"x"}` + "\n"}}}},
		{name: "null error passes", in: `[{"package":"data.p","name":"test_a","error":null}]`,
			want: &Results{Tests: []Test{{Package: "data.p", Name: "data.p.test_a", Status: Pass}}}},
		{name: "pretty output is not JSON", in: "PASS: 1/1\n", wantErr: true},
		{name: "cut short", in: `[{"package":"data.p","name":"test_a"`, wantErr: true},
		{name: "two documents", in: "[]\n[]\n", wantErr: true},
		{name: "an object", in: `{"package":"data.p"}`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc.in, tc.wantErr, tc.want) })
	}
}
