package batch

import (
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/store"
)

// TestWriteFailedPushes lists failed pushes only, their reasons on one
// escaped line; nothing at all when none failed.
func TestWriteFailedPushes(t *testing.T) {
	sha := strings.Repeat("ab", 20)
	for _, tc := range []struct {
		name string
		ps   []store.Push
		want []string // lines, in order; nil for no output
		not  []string
	}{
		{"none failed", []store.Push{{ID: 1, Candidate: "cmc-1", Commit: sha, State: store.PushDone}}, nil, nil},
		{"one failed", []store.Push{
			{ID: 1, Candidate: "cmc-1", Commit: sha, State: store.PushDone},
			{ID: 2, Candidate: "cmc-2", Commit: sha, State: store.PushFailed, Attempts: 3, LastError: "given up after 3 attempts:\nengine\x1b[31m down"},
		}, []string{"", "Pushes that could not be graded (their commits show it):", "PUSH  CANDIDATE  COMMIT", "2     cmc-2      abababababab  3         given up after 3 attempts:"}, []string{"\x1b", "cmc-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteFailedPushes(&b, tc.ps); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if tc.want == nil {
				if out != "" {
					t.Errorf("output %q, want none", out)
				}
				return
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tc.want), out)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("line %d %q, want it to start %q", i, lines[i], w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("output holds %q:\n%s", n, out)
				}
			}
		})
	}
}
