package grader

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/escape/escapetest"
)

const hostile = escapetest.Hostile

// TestTextOutputsEscape feeds hostile strings, where a candidate can put
// them, into every human-readable output of the package.
func TestTextOutputsEscape(t *testing.T) {
	tests := []struct {
		name  string
		write func(w *bytes.Buffer) error
		own   []string // escape sequences the output draws itself
	}{
		{name: "verify table", write: func(w *bytes.Buffer) error {
			v := &Verification{
				Bank: report.BankInfo{Name: "cmc", Digest: strings.Repeat("d", 64)}, BaseCommit: strings.Repeat("b", 40), Runs: 1,
				Tasks: []TaskVerification{{ID: "server-health", Base: []RunGrade{{Status: report.Failed, Reason: hostile}},
					Problems: []string{"passes trivially: (" + hostile + ")"}}},
				Problems: []string{"with every reference applied, server-health scores 0 of 2: failed " + hostile},
			}
			return v.WriteText(w)
		}},
	}
	run := func(t *testing.T, write func(*bytes.Buffer) error, own []string) {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Fatal(err)
		}
		escapetest.CheckNoRawControls(t, buf.String(), own...)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc.write, tc.own) })
	}
}
