package gitref

import (
	"strings"
	"testing"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

func TestIsCommit(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{sha, true},
		{strings.Repeat("f", 40), true},
		{strings.ToUpper(sha), false},
		{"0123456789ABCDEF0123456789abcdef01234567", false},
		{sha[:39], false},
		{sha[:12], false},
		{sha + "8", false},
		{sha[:39] + "g", false},
		{sha[:39] + " ", false},
		{"", false},
		{"main", false},
	} {
		if got := IsCommit(tc.s); got != tc.want {
			t.Errorf("IsCommit(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
