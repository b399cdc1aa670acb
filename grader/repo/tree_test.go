package repo

import (
	"context"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/storage/memory"
)

func TestMergeBase(t *testing.T) {
	repo := gittest.NewForkRepo(t)
	// A whole clone, as with a mirror of the base: the history is there.
	store := memory.NewStorage()
	if _, err := git.Clone(store, nil, &git.CloneOptions{URL: repo.Bare, ReferenceName: "refs/heads/cmc", SingleBranch: true}); err != nil {
		t.Fatal(err)
	}
	whole := &Snapshot{Commit: repo.C3, objects: store}
	shallow, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: repo.URL, Branch: "cmc"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shallow.Close() })
	other := strings.Repeat("ab", 20)
	for _, tc := range []struct {
		name string
		s    *Snapshot
		base string
		want string
	}{
		{"parent in whole history", whole, repo.C2, repo.C2},
		{"grandparent in whole history", whole, repo.C1, repo.C1},
		{"base is the commit", whole, repo.C3, repo.C3},
		{"not an ancestor", whole, other, ""},
		{"shallow: the parent is named", shallow, repo.C2, repo.C2},
		{"shallow: grandparent not fetched", shallow, repo.C1, ""},
		{"shallow: base is the commit", shallow, repo.C3, repo.C3},
		{"no base", whole, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.MergeBase(tc.base); got != tc.want {
				t.Errorf("mergeBase(%s) = %q, want %q", tc.base, got, tc.want)
			}
		})
	}
}
