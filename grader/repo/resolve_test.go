package repo

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
)

func TestResolveBranch(t *testing.T) {
	r := gittest.NewForkRepo(t)
	run := func(t *testing.T, opts FetchOptions, want string) {
		// Nothing is fetched, so nothing is spooled.
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		got, err := ResolveBranch(context.Background(), gittest.Log(t), opts)
		if err != nil {
			t.Fatalf("ResolveBranch: %v", err)
		}
		if got != want {
			t.Errorf("ResolveBranch = %s, want %s", got, want)
		}
		if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
			t.Errorf("ResolveBranch left %d entries in TMPDIR", len(ents))
		}
	}
	cases := []struct {
		name string
		opts FetchOptions
		want string
	}{
		{"http branch", FetchOptions{URL: r.URL, Branch: "cmc"}, r.C3},
		{"http main", FetchOptions{URL: r.URL, Branch: "main"}, r.C2},
		{"file branch", FetchOptions{URL: "file://" + r.Bare, Branch: "cmc"}, r.C3},
		{"local path", FetchOptions{URL: r.Bare, Branch: "main"}, r.C2},
		{"with a time limit", FetchOptions{URL: r.URL, Branch: "cmc", Timeout: time.Minute}, r.C3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { run(t, c.opts, c.want) })
	}

	// A branch that moves resolves to its new commit: the answer is the
	// server's now, not a cached one.
	t.Run("after a push", func(t *testing.T) {
		work := gittest.InitWork(t)
		gittest.Git(t, work, "fetch", "-q", r.Bare, "cmc:cmc")
		gittest.Git(t, work, "checkout", "-q", "cmc")
		gittest.WriteFiles(t, work, map[string]string{"late.txt": "after the deadline\n"})
		late := gittest.CommitAll(t, work, "late")
		gittest.Git(t, work, "push", "-q", r.Bare, "cmc:late")
		run(t, FetchOptions{URL: r.URL, Branch: "late"}, late)
	})
}

func TestResolveBranchErrors(t *testing.T) {
	r := gittest.NewForkRepo(t)
	// An empty repository, and a branch name that is only a prefix of
	// one the server has.
	gittest.Git(t, r.Root, "init", "-q", "--bare", "empty.git")
	gittest.Git(t, r.Bare, "branch", "cmc-answers", "cmc")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/fork.git"
	ln.Close()
	base := strings.TrimSuffix(r.URL, "/fork.git")

	cases := []struct {
		name string
		opts FetchOptions
		want error
		msg  string // a part of the message
	}{
		{"closed port", FetchOptions{URL: closed, Branch: "main"}, ErrUnreachable, "cannot reach"},
		{"no such host", FetchOptions{URL: "http://nonexistent.invalid/x.git", Branch: "main"}, ErrUnreachable, "check the URL"},
		{"404 repository", FetchOptions{URL: base + "/missing.git", Branch: "main"}, ErrUnreachable, "public or credentials"},
		{"missing local path", FetchOptions{URL: filepath.Join(r.Root, "missing.git"), Branch: "main"}, ErrUnreachable, "cannot reach"},
		{"unknown branch", FetchOptions{URL: r.URL, Branch: "nope"}, ErrUnknownBranch, `branch "nope" not found in ` + r.URL},
		{"unknown branch file", FetchOptions{URL: "file://" + r.Bare, Branch: "nope"}, ErrUnknownBranch, "must push"},
		{"prefix of a branch", FetchOptions{URL: r.URL, Branch: "cmc-ans"}, ErrUnknownBranch, `"cmc-ans" not found`},
		{"tag-like name", FetchOptions{URL: r.URL, Branch: "HEAD"}, ErrUnknownBranch, `"HEAD" not found`},
		{"empty repository", FetchOptions{URL: base + "/empty.git", Branch: "main"}, ErrUnknownBranch, "empty"},
		{"no branch", FetchOptions{URL: r.URL}, ErrBadRef, "give a branch"},
		{"a commit", FetchOptions{URL: r.URL, Commit: r.C1}, ErrBadRef, "not a commit"},
		{"bad branch", FetchOptions{URL: r.URL, Branch: "a..b"}, ErrBadRef, "short branch name"},
		{"full ref name", FetchOptions{URL: r.URL, Branch: "refs/heads/main"}, ErrBadRef, "short branch name"},
		{"ssh", FetchOptions{URL: "ssh://git@github.com/a/b.git", Branch: "main"}, ErrBadURL, `scheme "ssh"`},
		{"scp-like", FetchOptions{URL: "git@github.com:a/b.git", Branch: "main"}, ErrBadURL, "ssh"},
		{"ext helper", FetchOptions{URL: "ext::true", Branch: "main"}, ErrBadURL, "helper"},
		{"credentials in URL", FetchOptions{URL: "https://bob:s3cret@example.com/a.git", Branch: "main"}, ErrBadURL, "credentials"},
		{"credentials over http", FetchOptions{URL: "http://example.com/a.git", Branch: "main", Credentials: &Credentials{"bob", "s3cret"}}, ErrBadURL, "https"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sha, err := ResolveBranch(context.Background(), gittest.Log(t), c.opts)
			if !errors.Is(err, c.want) {
				t.Fatalf("ResolveBranch = %q, %v; want an error wrapping %v", sha, err, c.want)
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

func TestResolveBranchCredentials(t *testing.T) {
	r := gittest.NewForkRepo(t)
	target, err := url.Parse(strings.TrimSuffix(r.URL, "/fork.git"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); !ok || u != "bob" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "auth required", http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, req)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	u := "http://" + ln.Addr().String() + "/fork.git"

	_, err = ResolveBranch(context.Background(), gittest.Log(t), FetchOptions{URL: u, Branch: "cmc"})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("anonymous: %v; want ErrUnreachable naming credentials", err)
	}
	sha, err := ResolveBranch(context.Background(), gittest.Log(t), FetchOptions{URL: u, Branch: "cmc", Credentials: &Credentials{"bob", "s3cret"}})
	if err != nil || sha != r.C3 {
		t.Errorf("with credentials: %q, %v; want %s", sha, err, r.C3)
	}
}

func TestResolveBranchTimeout(t *testing.T) {
	u := silentServer(t)

	start := time.Now()
	_, err := ResolveBranch(context.Background(), gittest.Log(t), FetchOptions{URL: u, Branch: "main", Timeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrFetchTimeout) || !strings.Contains(err.Error(), "300ms") {
		t.Errorf("ResolveBranch = %v; want ErrFetchTimeout naming 300ms", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("ResolveBranch took %s after a 300ms limit", d)
	}

	// The caller's deadline is the caller's error.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = ResolveBranch(ctx, gittest.Log(t), FetchOptions{URL: u, Branch: "main"})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrFetchTimeout) {
		t.Errorf("ResolveBranch with the caller's deadline = %v; want context.DeadlineExceeded", err)
	}
}

func TestCheckURL(t *testing.T) {
	for _, ok := range []string{"https://github.com/a/b.git", "http://127.0.0.1:8080/b.git", "file:///srv/git/b.git", "/srv/git/b.git", "./b.git"} {
		if err := CheckURL(ok); err != nil {
			t.Errorf("CheckURL(%q) = %v; want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "ssh://h/b.git", "git@h:b.git", "https://u:p@h/b.git", "-x", "https://h/a b"} {
		if err := CheckURL(bad); !errors.Is(err, ErrBadURL) {
			t.Errorf("CheckURL(%q) = %v; want ErrBadURL", bad, err)
		}
	}
}
