package report

import (
	"fmt"
	"strings"
	"testing"
)

func TestWriteTextTampering(t *testing.T) {
	rep := &Report{}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "Tampering") {
		t.Errorf("no flags, yet a tampering section:\n%s", b.String())
	}
	for i := range tamperListed + 3 {
		rep.Tampering = append(rep.Tampering, TamperFlag{Kind: TamperTestFile, Path: fmt.Sprintf("a/%02d_test.go", i), Detail: "test file added"})
	}
	rep.Tampering = append(rep.Tampering[:1], TamperFlag{Kind: TamperInit, Path: "server/x.go", Task: "server-health", Detail: "1 more init function(s)"})
	b.Reset()
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"\nTampering (for the proctor): 2 finding(s)",
		"  test-file  a/00_test.go                 test file added\n",
		"  init-func  server/x.go [server-health]  1 more init function(s)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	rep.Tampering = nil
	for i := range tamperListed + 3 {
		rep.Tampering = append(rep.Tampering, TamperFlag{Kind: TamperTestFile, Path: fmt.Sprintf("a/%02d_test.go", i), Detail: "added"})
	}
	b.Reset()
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "  ... and 3 more in the JSON report") || strings.Contains(out, "a/20_test.go") {
		t.Errorf("long list not cut after %d lines:\n%s", tamperListed, out)
	}
}

func TestWriteTextInterrupted(t *testing.T) {
	rep := &Report{Tasks: []TaskGrade{
		{ID: "a", Exam: "server", Status: Passed, Points: 2, Possible: 2},
		{ID: "b", Exam: "server", Status: NotGraded, Possible: 2, Reason: "grading was interrupted while the task ran"},
	}}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "Interrupted") {
		t.Errorf("a finished grading reads as interrupted:\n%s", b.String())
	}
	rep.Interrupted = true
	b.Reset()
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if want := "\nInterrupted: grading stopped with 1 of 2 tasks not graded; this report is partial"; !strings.Contains(b.String(), want) {
		t.Errorf("text report lacks %q:\n%s", want, b.String())
	}
}
