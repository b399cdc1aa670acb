package gittest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// Log returns a logger that writes to t.Log.
func Log(t testing.TB) *logrus.Entry {
	l := logrus.New()
	l.SetOutput(tWriter{t})
	l.SetLevel(logrus.DebugLevel)
	return logrus.NewEntry(l)
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// WriteFiles writes files (path -> content) under dir.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// CommitAll commits everything in the work tree dir and returns the SHA.
func CommitAll(t testing.TB, dir, msg string) string {
	t.Helper()
	Git(t, dir, "add", "-A")
	Git(t, dir, "commit", "-q", "--allow-empty", "-m", msg)
	return Git(t, dir, "rev-parse", "HEAD")
}

// InitWork makes an empty work repository on branch main.
func InitWork(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	Git(t, dir, "init", "-q", "-b", "main")
	return dir
}

// Publish clones work into root/name.git as a bare repository that allows
// fetching any commit by SHA, and returns its path.
func Publish(t testing.TB, work, root, name string) string {
	t.Helper()
	bare := filepath.Join(root, name+".git")
	Git(t, root, "clone", "-q", "--bare", work, bare)
	Git(t, bare, "config", "uploadpack.allowAnySHA1InWant", "true")
	return bare
}

// ForkRepo is a served repository with three commits: c1 and c2 on main,
// c3 on cmc (a child of c2).
type ForkRepo struct {
	Root, Bare, URL string // URL is the smart HTTP URL
	C1, C2, C3      string
	Tree3           string
}

// NewForkRepo builds and serves a ForkRepo.
func NewForkRepo(t testing.TB) *ForkRepo {
	t.Helper()
	work := InitWork(t)
	r := &ForkRepo{Root: t.TempDir()}
	WriteFiles(t, work, map[string]string{"go.mod": "module example.com/meshery\n\ngo 1.26\n", "README.md": "v1\n"})
	r.C1 = CommitAll(t, work, "one")
	WriteFiles(t, work, map[string]string{"README.md": "v2\n", "server/handlers/h.go": "package handlers\n"})
	r.C2 = CommitAll(t, work, "two")
	Git(t, work, "checkout", "-q", "-b", "cmc")
	WriteFiles(t, work, map[string]string{"server/handlers/h.go": "package handlers\n\nfunc H() {}\n", "empty": ""})
	r.C3 = CommitAll(t, work, "answer")
	r.Tree3 = Git(t, work, "rev-parse", "HEAD^{tree}")
	Git(t, work, "checkout", "-q", "main")
	r.Bare = Publish(t, work, r.Root, "fork")
	r.URL = Serve(t, r.Root) + "/fork.git"
	return r
}
