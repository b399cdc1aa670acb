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

func TestIsBranch(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"main", true},
		{"cmc-answers", true},
		{"release/v1.2", true},
		{"a/b/c", true},
		{"feature_x+y", true},
		{"été", true},
		{"v1.0", true},
		{"a.b", true},
		{"@x", true},
		{sha, true},
		{strings.ToUpper(sha), true},
		{"", false},
		{"-main", false},
		{"refs/heads/main", false},
		{"refs/tags/v1", false},
		{"a..b", false},
		{"a b", false},
		{"a\tb", false},
		{"a\x7fb", false},
		{"a\u0085b", false},
		{"a~1", false},
		{"a^", false},
		{"a:b", false},
		{"a?", false},
		{"a*", false},
		{"a[b", false},
		{`a\b`, false},
		{"a@{1}", false},
		{"@", false},
		{"a/@/b", false},
		{"a.lock", false},
		{"a.lock/b", false},
		{"a.", false},
		{".a", false},
		{"a/.b", false},
		{"/a", false},
		{"a/", false},
		{"a//b", false},
	} {
		if got := IsBranch(tc.name); got != tc.ok {
			t.Errorf("IsBranch(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}
