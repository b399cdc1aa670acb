package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/cmcgrader/cmcgrader/internal/escape/escapetest"
	"github.com/cmcgrader/cmcgrader/tasks"
)

const hostile = escapetest.Hostile

// TestTextOutputsEscape feeds hostile strings, where a candidate can put
// them, into every human-readable output of the package.
func TestTextOutputsEscape(t *testing.T) {
	escapetest.Run(t, []escapetest.Case{
		{Name: "report", Write: func(w *bytes.Buffer) error {
			r := sampleReport()
			r.Branch = hostile
			r.Tasks[0].Reason = hostile
			r.Tampering = []TamperFlag{{Kind: TamperTestFile, Path: "pkg/exploit\u202egpj.go", Detail: hostile}}
			return r.WriteText(w)
		}},
		{Name: "report, file name of a flag", Write: func(w *bytes.Buffer) error {
			r := sampleReport()
			r.Tampering = []TamperFlag{{Kind: TamperTestFile, Path: hostile, Detail: "changed"}}
			return r.WriteText(w)
		}},
		{Name: "candidate view", Write: func(w *bytes.Buffer) error {
			r := sampleReport()
			r.Repository, r.Branch = hostile, hostile
			return r.ForCandidate().WriteText(w)
		}},
		{Name: "regrade table", Write: func(w *bytes.Buffer) error {
			old := sampleReport()
			rc := *old.Receipt
			rc.Repository = hostile
			old.Receipt = &rc
			old.Tasks[0].ID = hostile
			return Compare(old, sampleReport()).WriteText(w)
		}},
		{Name: "progress", Own: []string{"\r\033[K"}, Write: func(w *bytes.Buffer) error {
			p := NewTerminalProgress(w, 2)
			p.Phase(hostile)
			p.TaskStarted(&tasks.Task{ID: "a\x1b[2K\u202e"})
			p.TaskDone(TaskGrade{ID: hostile, Status: Failed, Possible: 1})
			p.Close()
			return nil
		}},
	})
}

// TestReportJSONKeepsHostileText checks the JSON report is not escaped
// twice: it holds the candidate's bytes exactly (JSON escapes them).
func TestReportJSONKeepsHostileText(t *testing.T) {
	r := sampleReport()
	r.Tasks[0].Reason = hostile
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("\x1b")) {
		t.Errorf("the JSON report holds a raw ESC")
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Tasks[0].Reason != hostile {
		t.Errorf("reason decoded as %q, want %q", back.Tasks[0].Reason, hostile)
	}
}
