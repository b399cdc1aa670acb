package repo

import (
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/cmcgrader/cmcgrader/internal/gitref"
)

// TestFetchRefSpec checks the refspecs fetches ask for, and that the
// grader's one check of names (package gitref, which cannot import
// go-git) never lets through a name go-git refuses: every branch it takes
// is a valid reference and refspec to go-git, and a commit is what
// plumbing.IsHash takes, in lower case only.
func TestFetchRefSpec(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		branch, commit string
		want           config.RefSpec // "" when refused
	}{
		{"main", "", "+refs/heads/main:refs/heads/main"},
		{"cmc/answers", "", "+refs/heads/cmc/answers:refs/heads/cmc/answers"},
		{"", sha, sha + ":refs/heads/fetched"},
		{"", strings.ToUpper(sha), sha + ":refs/heads/fetched"},
		{"", sha[:12], ""},
		{"", sha[:39] + "g", ""},
		{"", "", ""},
		{"main", sha, ""},
		{"refs/heads/main", "", ""},
		{"-x", "", ""},
		{"a..b", "", ""},
	} {
		got, err := fetchRefSpec(tc.branch, tc.commit)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("fetchRefSpec(%q, %q) = %q, %v; want %q", tc.branch, tc.commit, got, err, tc.want)
		}
	}

	for _, name := range []string{
		"main", "release/v1.2", "a.b", "@x", "été", "feature_x+y", strings.Repeat("ab/", 20) + "c",
		"", "@", "a/@/b", "a.lock", "a.lock/b", "a.", ".a", "a/.b", "/a", "a/", "a//b", "a..b",
		"a b", "a\tb", "a\nb", "a\x00b", "a\x7fb", "a~1", "a^", "a:b", "a?", "a*", "a[b", `a\b`, "a@{1}",
		"-x", "refs/heads/main",
	} {
		if !gitref.IsBranch(name) {
			continue
		}
		ref := plumbing.NewBranchReferenceName(name)
		if err := ref.Validate(); err != nil {
			t.Errorf("gitref takes branch %q, go-git refuses %s: %v", name, ref, err)
		}
		rs, err := fetchRefSpec(name, "")
		if err != nil || rs.Validate() != nil {
			t.Errorf("gitref takes branch %q, its refspec %q is refused: %v, %v", name, rs, err, rs.Validate())
		}
	}

	for _, s := range []string{sha, strings.ToUpper(sha), sha[:20] + strings.ToUpper(sha[20:]), sha[:39], sha + "0", sha[:39] + "g", ""} {
		if got, want := gitref.IsCommit(s), plumbing.IsHash(s) && s == strings.ToLower(s); got != want {
			t.Errorf("gitref.IsCommit(%q) = %v, want %v (plumbing.IsHash %v)", s, got, want, plumbing.IsHash(s))
		}
	}
}
