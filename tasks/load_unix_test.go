//go:build unix

package tasks_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestLoadRefusesSpecialFiles(t *testing.T) {
	dir := copyBank(t, "good")
	if err := syscall.Mkfifo(filepath.Join(dir, "tasks/ui-badge/statement.md"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	assertProblems(t, dir, []where{{"tasks/ui-badge/statement.md", ""}})
}

func TestLoadRefusesSymlinkedFolder(t *testing.T) {
	dir := copyBank(t, "good")
	// A symlink to a folder outside the bank, listed as a hidden folder.
	if err := os.Symlink(t.TempDir(), filepath.Join(dir, "tasks/ui-badge/hidden/ui/src/linked")); err != nil {
		t.Fatal(err)
	}
	assertProblems(t, dir, []where{{"tasks/ui-badge/hidden/ui/src/linked", ""}})
}
