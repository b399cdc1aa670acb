package grader

import (
	"errors"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/tasks"
)

func TestBaseOf(t *testing.T) {
	bank := &tasks.Bank{Base: tasks.Base{Repo: "https://up/meshery.git", Ref: "master"}}
	for _, tc := range []struct {
		name      string
		bank      tasks.Base
		sub       Submission
		repo, ref string
		err       string
	}{
		{"the bank's", bank.Base, Submission{Repo: "https://fork.git"}, "https://up/meshery.git", "master", ""},
		{"the submission's", bank.Base, Submission{Repo: "https://fork.git", BaseRepo: "https://other.git", BaseRef: "v1"}, "https://other.git", "v1", ""},
		{"the candidate's", tasks.Base{Ref: "main"}, Submission{Repo: "https://fork.git"}, "https://fork.git", "main", ""},
		{"none", tasks.Base{Ref: "main"}, Submission{}, "", "", "no base repository"},
		{"no ref", tasks.Base{Repo: "https://up.git"}, Submission{}, "", "", "no base branch or commit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ref, err := baseOf(&tasks.Bank{Base: tc.bank}, tc.sub)
			if tc.err != "" {
				if !errors.Is(err, ErrSubmission) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want ErrSubmission saying %q", err, tc.err)
				}
				return
			}
			if err != nil || r != tc.repo || ref != tc.ref {
				t.Errorf("baseOf = %q, %q, %v; want %q, %q", r, ref, err, tc.repo, tc.ref)
			}
		})
	}
}

// TestImageRequestGoMod checks that a base whose go.mod cannot be read
// stops grading with an error, where a base without one needs no modules.
func TestImageRequestGoMod(t *testing.T) {
	bank := &tasks.Bank{Go: "1.26.8", Digest: "d"}
	snapshot := func(t *testing.T, files map[string]string) *repo.Snapshot {
		work := gittest.InitWork(t)
		gittest.WriteFiles(t, work, files)
		gittest.CommitAll(t, work, "base")
		s, err := repo.Fetch(t.Context(), gittest.Log(t), repo.FetchOptions{URL: gittest.Publish(t, work, t.TempDir(), "base"), Branch: "main"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Run("modules", func(t *testing.T) {
		req, err := imageRequest(bank, snapshot(t, map[string]string{"go.mod": "module m\n", "go.sum": "x\n"}))
		if err != nil || string(req.GoMod) != "module m\n" || string(req.GoSum) != "x\n" || req.GoVersion != "1.26.8" || req.BankDigest != "d" || req.BaseCommit == "" {
			t.Errorf("imageRequest = %+v, %v", req, err)
		}
	})
	t.Run("no go.mod", func(t *testing.T) {
		req, err := imageRequest(bank, snapshot(t, map[string]string{"README.md": "x\n"}))
		if err != nil || req.GoMod != nil {
			t.Errorf("imageRequest = %+v, %v; want no modules", req, err)
		}
	})
	t.Run("unreadable go.mod", func(t *testing.T) {
		_, err := imageRequest(bank, snapshot(t, map[string]string{"go.mod/x": "a folder\n"}))
		if err == nil || !strings.Contains(err.Error(), "read go.mod of the base") {
			t.Errorf("imageRequest of a base whose go.mod is a folder: %v, want an error", err)
		}
	})
}
