package repo

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readDir returns a reader of the files under dir, as ApplyPatch wants.
func readDir(dir string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotExist
		}
		return b, err
	}
}

// TestApplyPatchLikeGit applies the sample bank's reference solutions and
// candidate patches, one by one and all together, and compares every
// file with what git apply makes of the same patches.
func TestApplyPatchLikeGit(t *testing.T) {
	refs, _ := filepath.Glob("../../testdata/sample/bank/tasks/*/reference.patch")
	cands, _ := filepath.Glob("../../testdata/sample/candidates/*.patch")
	if len(refs) < 10 || len(cands) < 2 {
		t.Fatalf("found %d reference and %d candidate patches", len(refs), len(cands))
	}
	sets := [][]string{refs}
	for _, p := range append(refs, cands...) {
		sets = append(sets, []string{p})
	}
	for _, set := range sets {
		name := filepath.Base(filepath.Dir(set[0]))
		if len(set) > 1 {
			name = "all references"
		} else if strings.Contains(set[0], "candidates") {
			name = filepath.Base(set[0])
		}
		t.Run(name, func(t *testing.T) {
			got := Files{}
			for _, p := range set {
				patch, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := ApplyPatch(patch, readDir("../../testdata/sample/repo"), got); err != nil {
					t.Fatalf("%s: %v", p, err)
				}
			}
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS("../../testdata/sample/repo")); err != nil {
				t.Fatal(err)
			}
			for _, p := range set {
				abs, _ := filepath.Abs(p)
				if out, err := exec.Command("git", "-C", dir, "apply", "--whitespace=nowarn", abs).CombinedOutput(); err != nil {
					t.Fatalf("git apply %s: %v\n%s", p, err, out)
				}
			}
			if len(got) == 0 {
				t.Fatal("no file changed")
			}
			for path, data := range got {
				want, err := os.ReadFile(filepath.Join(dir, path))
				switch {
				case data == nil && !errors.Is(err, fs.ErrNotExist):
					t.Errorf("%s: deleted here, not by git apply", path)
				case data != nil && string(want) != string(data):
					t.Errorf("%s differs from git apply's result:\n%s\n--- want ---\n%s", path, data, want)
				}
			}
		})
	}
}

func TestApplyPatchCases(t *testing.T) {
	tree := map[string]string{
		"a.txt":  "one\ntwo\nthree\nfour\nfive\n",
		"nonl":   "x\ny",
		"gone.c": "bye\n",
	}
	read := func(p string) ([]byte, error) {
		if s, ok := tree[p]; ok {
			return []byte(s), nil
		}
		return nil, ErrNotExist
	}
	for _, tc := range []struct {
		name, patch string
		want        map[string]string // "<nil>" for deleted
		err         string
	}{
		{
			name:  "change with offset",
			patch: "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n three\n-four\n+FOUR\n",
			want:  map[string]string{"a.txt": "one\ntwo\nthree\nFOUR\nfive\n"},
		},
		{
			name: "new, deleted, no final newline",
			patch: "diff --git a/n.go b/n.go\nnew file mode 100644\n--- /dev/null\n+++ b/n.go\n@@ -0,0 +1,2 @@\n+package n\n+// end\n\\ No newline at end of file\n" +
				"diff --git a/gone.c b/gone.c\ndeleted file mode 100644\n--- a/gone.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n" +
				"diff --git a/nonl b/nonl\n--- a/nonl\n+++ b/nonl\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+z\n",
			want: map[string]string{"n.go": "package n\n// end", "gone.c": "<nil>", "nonl": "x\nz\n"},
		},
		{name: "context mismatch", patch: "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-zwei\n+2\n", err: "hunk 1 (line 1) does not match"},
		{name: "missing file", patch: "--- a/b.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-x\n+y\n", err: "b.txt: no such file"},
		{name: "creates an existing file", patch: "--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1 @@\n+x\n", err: "it exists"},
		{name: "binary", patch: "diff --git a/x b/x\nBinary files a/x and b/x differ\n", err: "binary"},
		{name: "rename", patch: "diff --git a/a.txt b/b.txt\nsimilarity index 100%\nrename from a.txt\nrename to b.txt\n", err: "--no-renames"},
		{name: "empty", patch: "", err: "no file changes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			into := Files{"keep": []byte("k")}
			err := ApplyPatch([]byte(tc.patch), read, into)
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrPatch) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one with %q", err, tc.err)
				}
				if len(into) != 1 {
					t.Errorf("a failed patch changed the files: %v", into)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for p, w := range tc.want {
				d, ok := into[p]
				if !ok || (w == "<nil>") != (d == nil) || (d != nil && string(d) != w) {
					t.Errorf("%s = %q (present %v), want %q", p, d, ok, w)
				}
			}
		})
	}
}
