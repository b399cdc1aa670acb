package tasks_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/cmcgrader/cmcgrader/tasks"
)

func TestDigestStable(t *testing.T) {
	a, err := tasks.Load(filepath.Join(banks, "good"))
	if err != nil {
		t.Fatal(err)
	}
	// The same bank in another folder has the same digests.
	b, err := tasks.Load(copyBank(t, "good"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != b.Digest {
		t.Errorf("bank digest moved with the folder: %s != %s", a.Digest, b.Digest)
	}
	seen := map[string]string{a.Digest: "bank"}
	for i, ta := range a.Tasks {
		da, db := ta.Digest(), b.Tasks[i].Digest()
		if da != db {
			t.Errorf("%s: task digest moved with the folder", ta.ID)
		}
		if len(da) != 64 {
			t.Errorf("%s: digest %q, want 64 hex digits", ta.ID, da)
		}
		if other, dup := seen[da]; dup {
			t.Errorf("%s: digest equals that of %s", ta.ID, other)
		}
		seen[da] = ta.ID
	}
}

// TestDigestCoversEveryFile changes each file of the good bank in turn and
// checks that the bank digest changes, and the digest of the task that
// owns the file too (unless only task.yaml's layout changed).
func TestDigestCoversEveryFile(t *testing.T) {
	good := filepath.Join(banks, "good")
	orig, err := tasks.Load(good)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(good, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(good, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, rel string) {
		dir := copyBank(t, "good")
		f, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(rel)), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		// A comment keeps the file valid.
		comment := "# changed\n"
		if ext := filepath.Ext(rel); ext == ".go" || ext == ".mjs" {
			comment = "// changed\n"
		}
		if _, err := f.WriteString(comment); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		b, err := tasks.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if b.Digest == orig.Digest {
			t.Errorf("bank digest did not change")
		}
		for i, task := range b.Tasks {
			changed := task.Digest() != orig.Tasks[i].Digest()
			owns := filepath.ToSlash(filepath.Dir(rel)) != "." && isUnder(rel, "tasks/"+task.ID+"/")
			want := owns && filepath.Base(rel) != "task.yaml"
			if changed != want {
				t.Errorf("task %s digest changed = %v, want %v", task.ID, changed, want)
			}
		}
	}
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) { run(t, rel) })
	}
}

func isUnder(rel, prefix string) bool {
	return len(rel) > len(prefix) && rel[:len(prefix)] == prefix
}
