package grader

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
)

// testLog returns a logger that writes to t.Log.
func testLog(t *testing.T) *logrus.Entry {
	l := logrus.New()
	l.SetOutput(tWriter{t})
	l.SetLevel(logrus.DebugLevel)
	return logrus.NewEntry(l)
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// writeFiles writes files (path -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
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

// commitAll commits everything in the work tree dir and returns the SHA.
func commitAll(t *testing.T, dir, msg string) string {
	t.Helper()
	gittest.Git(t, dir, "add", "-A")
	gittest.Git(t, dir, "commit", "-q", "--allow-empty", "-m", msg)
	return gittest.Git(t, dir, "rev-parse", "HEAD")
}

// initWork makes an empty work repository on branch main.
func initWork(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	gittest.Git(t, dir, "init", "-q", "-b", "main")
	return dir
}

// publish clones work into root/name.git as a bare repository that allows
// fetching any commit by SHA, and returns its path.
func publish(t *testing.T, work, root, name string) string {
	t.Helper()
	bare := filepath.Join(root, name+".git")
	gittest.Git(t, root, "clone", "-q", "--bare", work, bare)
	gittest.Git(t, bare, "config", "uploadpack.allowAnySHA1InWant", "true")
	return bare
}

// forkRepo is a served repository with three commits: c1 and c2 on main,
// c3 on cmc (a child of c2).
type forkRepo struct {
	root, bare, url string // url is the smart HTTP URL
	c1, c2, c3      string
	tree3           string
}

func newForkRepo(t *testing.T) *forkRepo {
	t.Helper()
	work := initWork(t)
	r := &forkRepo{root: t.TempDir()}
	writeFiles(t, work, map[string]string{"go.mod": "module example.com/meshery\n\ngo 1.26\n", "README.md": "v1\n"})
	r.c1 = commitAll(t, work, "one")
	writeFiles(t, work, map[string]string{"README.md": "v2\n", "server/handlers/h.go": "package handlers\n"})
	r.c2 = commitAll(t, work, "two")
	gittest.Git(t, work, "checkout", "-q", "-b", "cmc")
	writeFiles(t, work, map[string]string{"server/handlers/h.go": "package handlers\n\nfunc H() {}\n", "empty": ""})
	r.c3 = commitAll(t, work, "answer")
	r.tree3 = gittest.Git(t, work, "rev-parse", "HEAD^{tree}")
	gittest.Git(t, work, "checkout", "-q", "main")
	r.bare = publish(t, work, r.root, "fork")
	r.url = gittest.Serve(t, r.root) + "/fork.git"
	return r
}

func TestFetch(t *testing.T) {
	r := newForkRepo(t)
	type want struct {
		commit, readme string
	}
	run := func(t *testing.T, opts FetchOptions, w want) {
		// Nothing may be written to disk: TMPDIR stays empty.
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		s, err := Fetch(context.Background(), testLog(t), opts)
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
			t.Errorf("Fetch wrote %d entries in TMPDIR", len(ents))
		}
		if s.Commit != w.commit {
			t.Errorf("Commit %s, want %s", s.Commit, w.commit)
		}
		if s.URL != opts.URL || s.Branch != opts.Branch {
			t.Errorf("URL, Branch = %q, %q; want %q, %q", s.URL, s.Branch, opts.URL, opts.Branch)
		}
		if s.PackBytes <= 0 {
			t.Errorf("PackBytes %d, want > 0", s.PackBytes)
		}
		got, err := s.ReadFile("README.md")
		if err != nil || string(got) != w.readme {
			t.Errorf("ReadFile(README.md) = %q, %v; want %q", got, err, w.readme)
		}
	}
	cases := []struct {
		name string
		opts FetchOptions
		want want
	}{
		{"http branch", FetchOptions{URL: r.url, Branch: "cmc"}, want{r.c3, "v2\n"}},
		{"http main", FetchOptions{URL: r.url, Branch: "main"}, want{r.c2, "v2\n"}},
		{"file branch", FetchOptions{URL: "file://" + r.bare, Branch: "cmc"}, want{r.c3, "v2\n"}},
		{"local path", FetchOptions{URL: r.bare, Branch: "main"}, want{r.c2, "v2\n"}},
		{"http tip commit", FetchOptions{URL: r.url, Commit: r.c3}, want{r.c3, "v2\n"}},
		{"http older commit", FetchOptions{URL: r.url, Commit: r.c1}, want{r.c1, "v1\n"}},
		{"upper-case commit", FetchOptions{URL: r.url, Commit: strings.ToUpper(r.c1)}, want{r.c1, "v1\n"}},
		{"file commit", FetchOptions{URL: "file://" + r.bare, Commit: r.c1}, want{r.c1, "v1\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { run(t, c.opts, c.want) })
	}

	t.Run("tree", func(t *testing.T) {
		s, err := Fetch(context.Background(), testLog(t), FetchOptions{URL: r.url, Branch: "cmc"})
		if err != nil {
			t.Fatal(err)
		}
		if s.Tree != r.tree3 {
			t.Errorf("Tree %s, want %s", s.Tree, r.tree3)
		}
	})
}

func TestFetchErrors(t *testing.T) {
	r := newForkRepo(t)
	// A repository that does not allow fetching commits by SHA.
	strict := filepath.Join(r.root, "strict.git")
	gittest.Git(t, r.root, "clone", "-q", "--bare", r.bare, strict)

	// A closed port: listen, note the address, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/fork.git"
	ln.Close()
	base := strings.TrimSuffix(r.url, "/fork.git")
	unknownSHA := strings.Repeat("ab", 20)

	cases := []struct {
		name string
		opts FetchOptions
		want error
		msg  string // a part of the message
	}{
		{"closed port", FetchOptions{URL: closed, Branch: "main"}, ErrUnreachable, "cannot reach"},
		{"no such host", FetchOptions{URL: "http://nonexistent.invalid/x.git", Branch: "main"}, ErrUnreachable, "check the URL"},
		{"404 repository", FetchOptions{URL: base + "/missing.git", Branch: "main"}, ErrUnreachable, "public or credentials"},
		{"missing local path", FetchOptions{URL: filepath.Join(r.root, "missing.git"), Branch: "main"}, ErrUnreachable, "cannot reach"},
		{"unknown branch", FetchOptions{URL: r.url, Branch: "nope"}, ErrUnknownBranch, `branch "nope" not found`},
		{"unknown branch file", FetchOptions{URL: "file://" + r.bare, Branch: "nope"}, ErrUnknownBranch, "must push"},
		{"unknown commit", FetchOptions{URL: r.url, Commit: unknownSHA}, ErrCommitNotFound, unknownSHA},
		{"unknown commit file", FetchOptions{URL: "file://" + r.bare, Commit: unknownSHA}, ErrCommitNotFound, unknownSHA},
		{"commit not allowed", FetchOptions{URL: base + "/strict.git", Commit: r.c1}, ErrCommitNotFound, "does not allow"},
		{"tree SHA as commit", FetchOptions{URL: r.url, Commit: r.tree3}, ErrCommitNotFound, r.tree3},
		{"over MaxBytes", FetchOptions{URL: r.url, Branch: "cmc", MaxBytes: 100}, ErrTooLarge, "over the 100 bytes fetch limit"},
		{"short commit", FetchOptions{URL: r.url, Commit: r.c1[:12]}, ErrBadRef, "full 40-hex"},
		{"branch and commit", FetchOptions{URL: r.url, Branch: "main", Commit: r.c1}, ErrBadRef, "not both"},
		{"no ref", FetchOptions{URL: r.url}, ErrBadRef, "give a branch"},
		{"full ref name", FetchOptions{URL: r.url, Branch: "refs/heads/main"}, ErrBadRef, "short branch name"},
		{"bad branch", FetchOptions{URL: r.url, Branch: "a..b"}, ErrBadRef, "short branch name"},
		{"dash branch", FetchOptions{URL: r.url, Branch: "-x"}, ErrBadRef, "short branch name"},
		{"empty URL", FetchOptions{Branch: "main"}, ErrBadURL, "empty"},
		{"ssh", FetchOptions{URL: "ssh://git@github.com/a/b.git", Branch: "main"}, ErrBadURL, `scheme "ssh"`},
		{"scp-like", FetchOptions{URL: "git@github.com:a/b.git", Branch: "main"}, ErrBadURL, "ssh"},
		{"git protocol", FetchOptions{URL: "git://github.com/a/b.git", Branch: "main"}, ErrBadURL, "not supported"},
		{"ftp", FetchOptions{URL: "ftp://example.com/b.git", Branch: "main"}, ErrBadURL, "not supported"},
		{"ext helper", FetchOptions{URL: "ext::sh -c touch% pwned", Branch: "main"}, ErrBadURL, "space"},
		{"ext helper no space", FetchOptions{URL: "ext::true", Branch: "main"}, ErrBadURL, "helper"},
		{"space", FetchOptions{URL: "https://example.com/a b.git", Branch: "main"}, ErrBadURL, "space"},
		{"newline", FetchOptions{URL: "https://example.com/a.git\n", Branch: "main"}, ErrBadURL, "control"},
		{"control", FetchOptions{URL: "https://example.com/\x01a.git", Branch: "main"}, ErrBadURL, "control"},
		{"credentials in URL", FetchOptions{URL: "https://bob:s3cret@example.com/a.git", Branch: "main"}, ErrBadURL, "credentials"},
		{"no host", FetchOptions{URL: "https:///a.git", Branch: "main"}, ErrBadURL, "no host"},
		{"file with host", FetchOptions{URL: "file://example.com/a.git", Branch: "main"}, ErrBadURL, "local"},
		{"dash path", FetchOptions{URL: "--upload-pack=touch", Branch: "main"}, ErrBadURL, "dash"},
		{"credentials over http", FetchOptions{URL: "http://example.com/a.git", Branch: "main", Credentials: &Credentials{"bob", "s3cret"}}, ErrBadURL, "https"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Fetch(context.Background(), testLog(t), c.opts)
			if !errors.Is(err, c.want) {
				t.Fatalf("Fetch = %v, %v; want an error wrapping %v", s, err, c.want)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not say %q", err, c.msg)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
			t.Logf("error: %v", err)
		})
	}
}

func TestFetchCredentials(t *testing.T) {
	r := newForkRepo(t)
	var gotUser, gotPass atomic.Value
	target, err := url.Parse(strings.TrimSuffix(r.url, "/fork.git"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "auth required", http.StatusUnauthorized)
			return
		}
		gotUser.Store(u)
		gotPass.Store(p)
		proxy.ServeHTTP(w, req)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	u := "http://" + ln.Addr().String() + "/fork.git"

	_, err = Fetch(context.Background(), testLog(t), FetchOptions{URL: u, Branch: "main"})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("anonymous Fetch: %v; want ErrUnreachable naming credentials", err)
	}
	var logs bytes.Buffer
	l := logrus.New()
	l.SetOutput(&logs)
	l.SetLevel(logrus.DebugLevel)
	creds := &Credentials{Username: "bob", Password: "s3cret"}
	s, err := Fetch(context.Background(), logrus.NewEntry(l), FetchOptions{URL: u, Branch: "main", Credentials: creds})
	if err != nil {
		t.Fatalf("Fetch with credentials: %v", err)
	}
	if s.Commit != r.c2 {
		t.Errorf("Commit %s, want %s", s.Commit, r.c2)
	}
	if gotUser.Load() != "bob" || gotPass.Load() != "s3cret" {
		t.Errorf("server saw %v:%v", gotUser.Load(), gotPass.Load())
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("logs show the password:\n%s", logs.String())
	}
	if got := creds.String(); strings.Contains(got, "s3cret") {
		t.Errorf("Credentials.String() = %q shows the password", got)
	}
}

func TestFetchTimeout(t *testing.T) {
	// A server that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	u := "http://" + ln.Addr().String() + "/fork.git"

	start := time.Now()
	_, err = Fetch(context.Background(), testLog(t), FetchOptions{URL: u, Branch: "main", Timeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrFetchTimeout) || !strings.Contains(err.Error(), "300ms") {
		t.Errorf("Fetch = %v; want ErrFetchTimeout naming 300ms", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Fetch took %s after a 300ms limit", d)
	}

	// The caller's deadline is the caller's error, not a fetch timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = Fetch(ctx, testLog(t), FetchOptions{URL: u, Branch: "main"})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrFetchTimeout) {
		t.Errorf("Fetch with the caller's deadline = %v; want context.DeadlineExceeded", err)
	}
}

// TestFetchStopsEarly checks that a fetch over the size limit stops the
// download instead of reading the whole pack: a proxy counts the bytes
// the server sent.
func TestFetchStopsEarly(t *testing.T) {
	const blob = 16 << 20
	work := initWork(t)
	data := make([]byte, blob)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	commitAll(t, work, "big")
	root := t.TempDir()
	publish(t, work, root, "big")
	target, err := url.Parse(gittest.Serve(t, root))
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		proxy.ServeHTTP(countingWriter{w, &sent}, req)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	_, err = Fetch(context.Background(), testLog(t), FetchOptions{URL: "http://" + ln.Addr().String() + "/big.git", Branch: "main", MaxBytes: 1 << 20})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1 MiB") {
		t.Fatalf("Fetch = %v; want ErrTooLarge naming 1 MiB", err)
	}
	srv.Close() // waits for nothing more to be sent
	if n := sent.Load(); n > blob*3/4 {
		t.Errorf("server sent %d MiB of a %d MiB pack; the fetch did not stop early", n>>20, blob>>20)
	} else {
		t.Logf("server sent %.1f MiB of a %d MiB pack before the fetch stopped", float64(n)/(1<<20), blob>>20)
	}
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

func (w countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// TestFetchObjectLimit checks the limit on unpacked sizes: 8 MiB of zeros
// compress to a few KiB, so only the object limit can catch them.
func TestFetchObjectLimit(t *testing.T) {
	work := initWork(t)
	if err := os.WriteFile(filepath.Join(work, "zeros"), make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	commitAll(t, work, "zeros")
	root := t.TempDir()
	bare := publish(t, work, root, "zeros")

	_, err := Fetch(context.Background(), testLog(t), FetchOptions{URL: bare, Branch: "main", MaxBytes: 1 << 20})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "unpacked objects over the 4 MiB limit") {
		t.Fatalf("Fetch = %v; want ErrTooLarge for unpacked objects over 4 MiB", err)
	}
	s, err := Fetch(context.Background(), testLog(t), FetchOptions{URL: bare, Branch: "main", MaxBytes: 1 << 20, MaxObjectBytes: 9 << 20})
	if err != nil {
		t.Fatalf("Fetch with a 9 MiB object limit: %v", err)
	}
	if s.PackBytes > 1<<20 {
		t.Errorf("pack of %d bytes", s.PackBytes)
	}
}

func TestCheckPackSizesDelta(t *testing.T) {
	// Two similar large files: git stores one as a delta of the other, and
	// the delta's result size must be counted, not its own small size.
	work := initWork(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	writeFiles(t, work, map[string]string{"a": string(big)})
	commitAll(t, work, "a")
	writeFiles(t, work, map[string]string{"b": string(big) + "x"})
	commitAll(t, work, "b")
	gittest.Git(t, work, "gc", "-q", "--aggressive")
	root := t.TempDir()
	bare := publish(t, work, root, "delta")
	gittest.Git(t, bare, "repack", "-adq", "--depth=50", "--window=50")

	_, err := Fetch(context.Background(), testLog(t), FetchOptions{URL: bare, Branch: "main", MaxObjectBytes: 3 << 20 / 2})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Fetch of 2 MiB of objects with a 1.5 MiB limit = %v; want ErrTooLarge", err)
	}
	if _, err := Fetch(context.Background(), testLog(t), FetchOptions{URL: bare, Branch: "main", MaxObjectBytes: 3 << 20}); err != nil {
		t.Fatalf("Fetch with a 3 MiB limit: %v", err)
	}
}

func TestDeltaHead(t *testing.T) {
	cases := []struct {
		in   []byte
		want int64
	}{
		{[]byte{0x05, 0x07}, 7},
		{[]byte{0x80, 0x01, 0x90, 0x4e}, 10000}, // base 128, result 10000
		{[]byte{0x05}, -1},
		{nil, -1},
		{[]byte{0x05, 0x80}, -1},
	}
	for _, c := range cases {
		var d deltaHead
		d.Write(c.in)
		if got := d.targetSize(); got != c.want {
			t.Errorf("targetSize(% x) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestReadFile(t *testing.T) {
	r := newForkRepo(t)
	s, err := Fetch(context.Background(), testLog(t), FetchOptions{URL: r.url, Branch: "cmc"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		want    string
		wantErr error
	}{
		{"go.mod", "module example.com/meshery\n\ngo 1.26\n", nil},
		{"server/handlers/h.go", "package handlers\n\nfunc H() {}\n", nil},
		{"empty", "", nil},
		{"missing", "", ErrNotExist},
		{"server/missing.go", "", fs.ErrNotExist},
		{"go.mod/x", "", ErrNotExist},
		{"server", "", nil}, // a directory: an error, not ErrNotExist
		{"../go.mod", "", fs.ErrInvalid},
		{"/go.mod", "", fs.ErrInvalid},
		{"", "", fs.ErrInvalid},
	}
	for _, c := range cases {
		got, err := s.ReadFile(c.name)
		switch {
		case c.name == "server":
			if err == nil || errors.Is(err, ErrNotExist) {
				t.Errorf("ReadFile(%q) = %v; want a not-a-file error", c.name, err)
			}
		case c.wantErr != nil:
			if !errors.Is(err, c.wantErr) {
				t.Errorf("ReadFile(%q) = %q, %v; want %v", c.name, got, err, c.wantErr)
			}
		case err != nil || string(got) != c.want || got == nil:
			t.Errorf("ReadFile(%q) = %q (nil %t), %v; want %q", c.name, got, got == nil, err, c.want)
		}
	}
}

// TestPackWriterEmpty checks the pack writer's edge cases: nothing
// written, and Close after a Write over the limit.
func TestPackWriterEmpty(t *testing.T) {
	w := &packWriter{s: &limitStorage{maxPack: 10, maxObjects: 10}}
	if err := w.Close(); err == nil {
		t.Error("Close of an empty pack: no error")
	}
	if _, err := w.Write(make([]byte, 11)); !errors.Is(err, errPackTooLarge) {
		t.Errorf("Write over the limit: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close after a failed Write: %v", err)
	}
}
