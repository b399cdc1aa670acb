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
	t.Run("modules", func(t *testing.T) {
		req, err := imageRequest(bank, baseSnapshot(t, map[string]string{"go.mod": "module m\n", "go.sum": "x\n"}))
		if err != nil || string(req.GoMod) != "module m\n" || string(req.GoSum) != "x\n" || req.GoVersion != "1.26.8" || req.BankDigest != "d" || req.BaseCommit == "" {
			t.Errorf("imageRequest = %+v, %v", req, err)
		}
	})
	t.Run("no go.mod", func(t *testing.T) {
		req, err := imageRequest(bank, baseSnapshot(t, map[string]string{"README.md": "x\n"}))
		if err != nil || req.GoMod != nil {
			t.Errorf("imageRequest = %+v, %v; want no modules", req, err)
		}
	})
	t.Run("unreadable go.mod", func(t *testing.T) {
		_, err := imageRequest(bank, baseSnapshot(t, map[string]string{"go.mod/x": "a folder\n"}))
		if err == nil || !strings.Contains(err.Error(), "read go.mod of the base") {
			t.Errorf("imageRequest of a base whose go.mod is a folder: %v, want an error", err)
		}
	})
}

// TestImageRequestReplaces checks the go.mod shapes of real Meshery
// repositories: a replacement of the module's own path is ignored, a
// folder inside the tree is given with its go.mod, one outside is refused
// naming the line and the fix.
func TestImageRequestReplaces(t *testing.T) {
	bank := &tasks.Bank{Go: "1.26.8", Digest: "d"}
	const head = "module github.com/meshery/meshkit\n\ngo 1.26\n\n"
	t.Run("own path and in-tree folder", func(t *testing.T) {
		req, err := imageRequest(bank, baseSnapshot(t, map[string]string{
			"go.mod":                 head + "require example.com/lib v0.0.0\n\nreplace github.com/meshery/meshkit => ../meshkit\n\nreplace example.com/lib => ./third_party/lib/\n",
			"third_party/lib/go.mod": "module example.com/lib\n",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if len(req.LocalModules) != 1 || string(req.LocalModules["third_party/lib"]) != "module example.com/lib\n" {
			t.Errorf("LocalModules = %q, want third_party/lib's go.mod only", req.LocalModules)
		}
	})
	for _, tc := range []struct{ name, replace, want string }{
		{"outside", "replace example.com/x => ../x\n", "go.mod:5: replace example.com/x => ../x: a folder outside the repository"},
		{"absolute", "replace example.com/x => /src/x\n", "go.mod:5: replace example.com/x => /src/x: a folder outside the repository"},
		{"no go.mod", "replace example.com/x => ./x\n", "go.mod:5: replace example.com/x => ./x: the folder has no go.mod in the base"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := imageRequest(bank, baseSnapshot(t, map[string]string{"go.mod": head + tc.replace}))
			if !errors.Is(err, ErrBaseGoMod) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrBaseGoMod saying %q", err, tc.want)
			}
		})
	}
}

// baseSnapshot commits files on main and fetches that commit.
func baseSnapshot(t *testing.T, files map[string]string) *repo.Snapshot {
	t.Helper()
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

// TestImageRequestJSDeps checks that a bank installing the base's
// packages asks for its lockfile and package.json, and that a base
// without them stops grading naming js_deps.
func TestImageRequestJSDeps(t *testing.T) {
	bank := &tasks.Bank{Go: "1.26.8", Digest: "d", JSDeps: tasks.JSDeps{Source: tasks.JSDepsNPM, Lockfile: "ui/package-lock.json"}}
	req, err := imageRequest(bank, baseSnapshot(t, map[string]string{
		"go.mod": "module m\n", "ui/package-lock.json": "{\"lockfileVersion\":3}\n", "ui/package.json": "{\"name\":\"ui\"}\n",
	}))
	if err != nil || req.JS.Lockfile != "ui/package-lock.json" || string(req.JS.Lock) != "{\"lockfileVersion\":3}\n" || string(req.JS.Package) != "{\"name\":\"ui\"}\n" {
		t.Fatalf("imageRequest = %+v, %v", req.JS, err)
	}
	_, err = imageRequest(bank, baseSnapshot(t, map[string]string{"go.mod": "module m\n", "ui/package.json": "{}\n"}))
	if err == nil || !strings.Contains(err.Error(), "js_deps: read ui/package-lock.json of the base") {
		t.Errorf("imageRequest of a base without the lockfile: %v, want an error naming js_deps", err)
	}
	bank.JSDeps = tasks.JSDeps{Source: tasks.JSDepsImage}
	if req, err := imageRequest(bank, baseSnapshot(t, map[string]string{"go.mod": "module m\n"})); err != nil || req.JS.Lockfile != "" {
		t.Errorf("imageRequest with the image's jest = %+v, %v; want no packages", req.JS, err)
	}
}
