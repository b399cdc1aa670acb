package testout

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// checkBounds checks what every parse must guarantee, whatever the input.
func checkBounds(t *testing.T, res *Results) {
	t.Helper()
	for _, r := range res.Tests {
		if len(r.Output) > MaxTestOutput {
			t.Errorf("%q: output of %d bytes", r.Name, len(r.Output))
		}
		if r.Status != Pass && r.Status != Fail && r.Status != Skip {
			t.Errorf("%q: status %q", r.Name, r.Status)
		}
		if r.Elapsed < 0 {
			t.Errorf("%q: elapsed %v", r.Name, r.Elapsed)
		}
	}
	if len(res.BuildOutput) > MaxBuildOutput || !utf8.ValidString(res.BuildOutput) {
		t.Errorf("build output of %d bytes, valid UTF-8 %v", len(res.BuildOutput), utf8.ValidString(res.BuildOutput))
	}
	if e := res.FirstError(); len(e) > maxFirstError {
		t.Errorf("first error of %d bytes", len(e))
	}
}

func FuzzParseGo(f *testing.F) {
	for _, name := range []string{"gotest_pass_fail_skip.json", "gotest_build_fail.json", "gotest_goroutine_panic.json", "gotest_killed.json"} {
		f.Add(readInput(f, name))
	}
	f.Add([]byte("# p\nx.go:1:1: \xff bad\n\tmore\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseGo(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		checkBounds(t, res)
	})
}

func FuzzParseJUnit(f *testing.F) {
	for _, name := range []string{"node20.xml", "node_killed.xml", "vitest.xml", "jest.xml"} {
		f.Add(readInput(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseJUnit(bytes.NewReader(data))
		if err != nil {
			return // malformed documents are errors, not panics
		}
		checkBounds(t, res)
	})
}
