package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/tasks"
)

func TestTerminalProgress(t *testing.T) {
	var buf bytes.Buffer
	p := NewTerminalProgress(&buf, 2)
	p.Phase("fetching the submission")
	a, b := &tasks.Task{ID: "server-health"}, &tasks.Task{ID: "ui-format-bytes"}
	p.TaskStarted(a)
	p.TaskStarted(b)
	p.TaskDone(TaskGrade{ID: "server-health", Status: Passed, Points: 2, Possible: 2})
	p.TaskDone(TaskGrade{ID: "ui-format-bytes", Status: TimedOut, Possible: 3})
	p.Close()
	out := buf.String()
	for _, want := range []string{
		"fetching the submission...",
		"[0/2] running: server-health (0s), ui-format-bytes (0s)",
		"✓ server-health                passed        2/2",
		"[1/2] running: ui-format-bytes (0s)",
		"✗ ui-format-bytes              timed out     0/3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output lacks %q:\n%q", want, out)
		}
	}
	if !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("progress output does not end by clearing the status line: %q", out)
	}
}
