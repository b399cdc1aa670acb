package gittest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// newRepo makes root/name.git, a bare repository with one commit on main,
// and returns the commit's SHA.
func newRepo(t *testing.T, root, name string) string {
	t.Helper()
	work := t.TempDir()
	Git(t, work, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Git(t, work, "add", ".")
	Git(t, work, "commit", "-q", "-m", "first")
	Git(t, root, "clone", "-q", "--bare", work, name+".git")
	return Git(t, work, "rev-parse", "HEAD")
}

func TestServe(t *testing.T) {
	root := t.TempDir()
	sha := newRepo(t, root, "fork")
	url := Serve(t, root)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("URL %q, want http://127.0.0.1:PORT", url)
	}

	out := Git(t, root, "ls-remote", url+"/fork.git")
	if want := sha + "\trefs/heads/main"; !strings.Contains(out, want) {
		t.Errorf("ls-remote:\n%s\nwant a line %q", out, want)
	}

	clone := filepath.Join(t.TempDir(), "clone")
	Git(t, root, "clone", "-q", url+"/fork.git", clone)
	if got := Git(t, clone, "rev-parse", "HEAD"); got != sha {
		t.Errorf("cloned HEAD %s, want %s", got, sha)
	}

	// Fails: no such repository, and pushing is not allowed.
	for _, args := range [][]string{
		{"ls-remote", url + "/missing.git"},
		{"push", "-q", url + "/fork.git", "HEAD:refs/heads/other"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = clone, Env()
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("git %s succeeded, want an error:\n%s", strings.Join(args, " "), out)
		}
	}
}

func TestNewServerErrors(t *testing.T) {
	if _, err := NewServer(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("NewServer of a missing folder: no error")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewServer(f); err == nil {
		t.Error("NewServer of a file: no error")
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := NewServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
