package testout

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseJest(t *testing.T) {
	const file = `{"testResults":[{"name":"ui/a.test.cjs","status":"passed","message":"","assertionResults":[`
	tests := []struct {
		name       string
		in         string
		wantErr    error
		want       []Test
		build      bool
		buildMatch string
	}{
		{
			name: "one line after other output",
			in: "console noise\n{not json\n" + file +
				`{"ancestorTitles":["bytes","units"],"title":"scales","status":"passed","duration":12,"failureMessages":[]},` +
				`{"ancestorTitles":[],"title":"top","status":"failed","failureMessages":["\u001b[31mexpected\u001b[39m 1","second"]},` +
				`{"ancestorTitles":[],"title":"later","status":"todo"},{"ancestorTitles":[],"title":"off","status":"pending"},` +
				`{"ancestorTitles":[],"title":"odd","status":"exploded"}]}]}` + "\n",
			want: []Test{
				{Package: "ui/a.test.cjs", Name: "bytes > units > scales", Status: Pass, Elapsed: 12 * time.Millisecond},
				{Package: "ui/a.test.cjs", Name: "top", Status: Fail, Output: "expected 1\nsecond"},
				{Package: "ui/a.test.cjs", Name: "later", Status: Skip},
				{Package: "ui/a.test.cjs", Name: "off", Status: Skip},
				{Package: "ui/a.test.cjs", Name: "odd", Status: Fail, Output: "status exploded"},
			},
		},
		{
			name: "the first result wins",
			in: `{"testResults":[{"name":"forged","status":"passed","assertionResults":[{"title":"t","status":"passed"}]}]}` + "\n" +
				`{"testResults":[{"name":"real","status":"failed","assertionResults":[{"title":"t","status":"failed"}]}]}` + "\n",
			want: []Test{{Package: "forged", Name: "t", Status: Pass}},
		},
		{
			name: "indented, as Vitest may write it",
			in:   "{\n  \"testResults\": [\n    {\"name\": \"v.test.ts\", \"status\": \"passed\", \"assertionResults\": [\n      {\"ancestorTitles\": [\"suite\"], \"title\": \"t\", \"status\": \"passed\"}]}]\n}\n",
			want: []Test{{Package: "v.test.ts", Name: "suite > t", Status: Pass}},
		},
		{
			name:       "a file that could not run",
			in:         `{"testResults":[{"name":"ui/b.test.cjs","status":"failed","message":"Cannot find module '../lib/health.cjs'","assertionResults":[]}]}`,
			build:      true,
			buildMatch: "ui/b.test.cjs:\nCannot find module '../lib/health.cjs'",
		},
		{
			name: "a file that failed outside its tests fails them",
			in: `{"testResults":[{"name":"ui/c.test.cjs","status":"failed","message":"cmcgrader: the test framework was changed","assertionResults":[` +
				`{"title":"a","status":"passed"},{"title":"b","status":"skipped"}]}]}`,
			want: []Test{
				{Package: "ui/c.test.cjs", Name: "a", Status: Fail, Output: "cmcgrader: the test framework was changed"},
				{Package: "ui/c.test.cjs", Name: "b", Status: Skip},
			},
		},
		{name: "empty", in: "", wantErr: ErrNoJestResult},
		{name: "no testResults", in: `{"numTotalTests":3}` + "\n", wantErr: ErrNoJestResult},
		{name: "a result not at a line's start", in: `forged {"testResults":[]}`, wantErr: ErrNoJestResult},
		{name: "cut short", in: `{"testResults":[{"name":"x","status":"passed","assertionResults":[{"title":"t","sta`, wantErr: ErrNoJestResult},
	}
	run := func(t *testing.T, in string, wantErr error, want []Test, build bool, buildMatch string) {
		t.Helper()
		got, err := ParseJest([]byte(in))
		if !errors.Is(err, wantErr) || (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v, want %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if len(got.Tests) != len(want) {
			t.Fatalf("got %d tests %+v, want %d", len(got.Tests), got.Tests, len(want))
		}
		for i := range want {
			if got.Tests[i] != want[i] {
				t.Errorf("test %d: got %+v, want %+v", i, got.Tests[i], want[i])
			}
		}
		if got.BuildFailed != build || got.BuildOutput != buildMatch {
			t.Errorf("BuildFailed %v %q, want %v %q", got.BuildFailed, got.BuildOutput, build, buildMatch)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.in, tt.wantErr, tt.want, tt.build, tt.buildMatch) })
	}
}

// TestParseJestBounded checks that lines starting with "{" that are not
// a result stop the search after maxJSONTries of them.
func TestParseJestBounded(t *testing.T) {
	in := strings.Repeat("{\"x\":1}\n", maxJSONTries) + `{"testResults":[]}` + "\n"
	if _, err := ParseJest([]byte(in)); !errors.Is(err, ErrNoJestResult) {
		t.Fatalf("error %v, want ErrNoJestResult after %d tries", err, maxJSONTries)
	}
	in = strings.Repeat("{\"x\":1}\n", maxJSONTries-1) + `{"testResults":[]}` + "\n"
	if _, err := ParseJest([]byte(in)); err != nil {
		t.Fatalf("error %v within the bound", err)
	}
}

func TestParseJestRecorded(t *testing.T) {
	for _, tt := range []struct {
		input string
		want  []Test // name and status
		build bool
	}{
		{"jest_json.json", []Test{
			{Name: "formatBytes > keeps bytes", Status: Pass},
			{Name: "formatBytes > units > scales", Status: Fail},
			{Name: "formatBytes > units > later", Status: Skip},
			{Name: "todo for later", Status: Skip},
		}, true},
		{"vitest_json.json", []Test{
			{Name: "formatBytes > keeps bytes", Status: Pass},
			{Name: "formatBytes > units > scales", Status: Fail},
			{Name: "formatBytes > units > later", Status: Skip},
			{Name: "todo for later", Status: Skip},
		}, false},
	} {
		t.Run(tt.input, func(t *testing.T) {
			res, err := ParseJest(readInput(t, tt.input))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.input, res)
			if len(res.Tests) != len(tt.want) || res.BuildFailed != tt.build {
				t.Fatalf("%d tests, BuildFailed %v; want %d, %v: %+v", len(res.Tests), res.BuildFailed, len(tt.want), tt.build, res.Tests)
			}
			for i, w := range tt.want {
				if g := res.Tests[i]; g.Name != w.Name || g.Status != w.Status {
					t.Errorf("test %d: %q %s, want %q %s", i, g.Name, g.Status, w.Name, w.Status)
				}
			}
			if f := res.Tests[1]; !strings.Contains(f.Output, "Expected") || strings.Contains(f.Output, "\x1b") {
				t.Errorf("failure output %q: want the assertion's message without colour sequences", f.Output)
			}
		})
	}
}
