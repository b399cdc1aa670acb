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
	escapetest.Run(t, []escapetest.Case{
		{Name: "verify table", Write: func(w *bytes.Buffer) error {
			v := &Verification{
				Bank: report.BankInfo{Name: "cmc", Digest: strings.Repeat("d", 64)}, BaseCommit: strings.Repeat("b", 40), Runs: 1,
				Tasks: []TaskVerification{{ID: "server-health", Base: []RunGrade{{Status: report.Failed, Reason: hostile}},
					Problems: []string{"passes trivially: (" + hostile + ")"}}},
				Problems: []string{"with every reference applied, server-health scores 0 of 2: failed " + hostile},
			}
			return v.WriteText(w)
		}},
	})
}
