package repo

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
)

func TestFetch(t *testing.T) {
	r := gittest.NewForkRepo(t)
	type want struct {
		commit, readme string
	}
	run := func(t *testing.T, opts FetchOptions, w want) {
		// Nothing may be written to disk: TMPDIR stays empty.
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		s, err := Fetch(context.Background(), gittest.Log(t), opts)
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		defer s.Close()
		// The spooled pack is gone once Fetch returns.
		if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
			t.Errorf("Fetch left %d entries in TMPDIR", len(ents))
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
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if _, err := s.ReadFile("README.md"); err == nil {
			t.Error("ReadFile after Close: no error")
		}
	}
	cases := []struct {
		name string
		opts FetchOptions
		want want
	}{
		{"http branch", FetchOptions{URL: r.URL, Branch: "cmc"}, want{r.C3, "v2\n"}},
		{"http main", FetchOptions{URL: r.URL, Branch: "main"}, want{r.C2, "v2\n"}},
		{"file branch", FetchOptions{URL: "file://" + r.Bare, Branch: "cmc"}, want{r.C3, "v2\n"}},
		{"local path", FetchOptions{URL: r.Bare, Branch: "main"}, want{r.C2, "v2\n"}},
		{"http tip commit", FetchOptions{URL: r.URL, Commit: r.C3}, want{r.C3, "v2\n"}},
		{"http older commit", FetchOptions{URL: r.URL, Commit: r.C1}, want{r.C1, "v1\n"}},
		{"upper-case commit", FetchOptions{URL: r.URL, Commit: strings.ToUpper(r.C1)}, want{r.C1, "v1\n"}},
		{"file commit", FetchOptions{URL: "file://" + r.Bare, Commit: r.C1}, want{r.C1, "v1\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { run(t, c.opts, c.want) })
	}

	t.Run("tree", func(t *testing.T) {
		s, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: r.URL, Branch: "cmc"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if s.Tree != r.Tree3 {
			t.Errorf("Tree %s, want %s", s.Tree, r.Tree3)
		}
	})
}

func TestFetchErrors(t *testing.T) {
	r := gittest.NewForkRepo(t)
	// A repository that does not allow fetching commits by SHA.
	strict := filepath.Join(r.Root, "strict.git")
	gittest.Git(t, r.Root, "clone", "-q", "--bare", r.Bare, strict)

	// A closed port: listen, note the address, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/fork.git"
	ln.Close()
	base := strings.TrimSuffix(r.URL, "/fork.git")
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
		{"missing local path", FetchOptions{URL: filepath.Join(r.Root, "missing.git"), Branch: "main"}, ErrUnreachable, "cannot reach"},
		{"unknown branch", FetchOptions{URL: r.URL, Branch: "nope"}, ErrUnknownBranch, `branch "nope" not found`},
		{"unknown branch file", FetchOptions{URL: "file://" + r.Bare, Branch: "nope"}, ErrUnknownBranch, "must push"},
		{"unknown commit", FetchOptions{URL: r.URL, Commit: unknownSHA}, ErrCommitNotFound, unknownSHA},
		{"unknown commit file", FetchOptions{URL: "file://" + r.Bare, Commit: unknownSHA}, ErrCommitNotFound, unknownSHA},
		{"commit not allowed", FetchOptions{URL: base + "/strict.git", Commit: r.C1}, ErrCommitNotFound, "does not allow"},
		{"tree SHA as commit", FetchOptions{URL: r.URL, Commit: r.Tree3}, ErrCommitNotFound, r.Tree3},
		{"over MaxBytes", FetchOptions{URL: r.URL, Branch: "cmc", MaxBytes: 100}, ErrTooLarge, "over the 100 bytes fetch limit"},
		{"short commit", FetchOptions{URL: r.URL, Commit: r.C1[:12]}, ErrBadRef, "full 40-hex"},
		{"branch and commit", FetchOptions{URL: r.URL, Branch: "main", Commit: r.C1}, ErrBadRef, "not both"},
		{"no ref", FetchOptions{URL: r.URL}, ErrBadRef, "give a branch"},
		{"full ref name", FetchOptions{URL: r.URL, Branch: "refs/heads/main"}, ErrBadRef, "short branch name"},
		{"bad branch", FetchOptions{URL: r.URL, Branch: "a..b"}, ErrBadRef, "short branch name"},
		{"dash branch", FetchOptions{URL: r.URL, Branch: "-x"}, ErrBadRef, "short branch name"},
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
			s, err := Fetch(context.Background(), gittest.Log(t), c.opts)
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
	r := gittest.NewForkRepo(t)
	var gotUser, gotPass atomic.Value
	target, err := url.Parse(strings.TrimSuffix(r.URL, "/fork.git"))
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

	_, err = Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: u, Branch: "main"})
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
	t.Cleanup(func() { s.Close() })
	if s.Commit != r.C2 {
		t.Errorf("Commit %s, want %s", s.Commit, r.C2)
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
	u := silentServer(t)

	start := time.Now()
	_, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: u, Branch: "main", Timeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrFetchTimeout) || !strings.Contains(err.Error(), "300ms") {
		t.Errorf("Fetch = %v; want ErrFetchTimeout naming 300ms", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Fetch took %s after a 300ms limit", d)
	}

	// The caller's deadline is the caller's error, not a fetch timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = Fetch(ctx, gittest.Log(t), FetchOptions{URL: u, Branch: "main"})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrFetchTimeout) {
		t.Errorf("Fetch with the caller's deadline = %v; want context.DeadlineExceeded", err)
	}
}

// TestFetchStopsEarly checks that a fetch over the size limit stops the
// download instead of reading the whole pack: a proxy counts the bytes
// the server sent.
func TestFetchStopsEarly(t *testing.T) {
	const blob = 16 << 20
	work := gittest.InitWork(t)
	data := make([]byte, blob)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.CommitAll(t, work, "big")
	root := t.TempDir()
	gittest.Publish(t, work, root, "big")
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

	_, err = Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: "http://" + ln.Addr().String() + "/big.git", Branch: "main", MaxBytes: 1 << 20})
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
	work := gittest.InitWork(t)
	if err := os.WriteFile(filepath.Join(work, "zeros"), make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.CommitAll(t, work, "zeros")
	root := t.TempDir()
	bare := gittest.Publish(t, work, root, "zeros")

	_, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: bare, Branch: "main", MaxBytes: 1 << 20})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "unpacked objects over the 4 MiB limit") {
		t.Fatalf("Fetch = %v; want ErrTooLarge for unpacked objects over 4 MiB", err)
	}
	s, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: bare, Branch: "main", MaxBytes: 1 << 20, MaxObjectBytes: 9 << 20})
	if err != nil {
		t.Fatalf("Fetch with a 9 MiB object limit: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if s.PackBytes > 1<<20 {
		t.Errorf("pack of %d bytes", s.PackBytes)
	}
}

func TestCheckPackSizesDelta(t *testing.T) {
	// Two similar large files: git stores one as a delta of the other, and
	// the delta's result size must be counted, not its own small size.
	work := gittest.InitWork(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	gittest.WriteFiles(t, work, map[string]string{"a": string(big)})
	gittest.CommitAll(t, work, "a")
	gittest.WriteFiles(t, work, map[string]string{"b": string(big) + "x"})
	gittest.CommitAll(t, work, "b")
	gittest.Git(t, work, "gc", "-q", "--aggressive")
	root := t.TempDir()
	bare := gittest.Publish(t, work, root, "delta")
	gittest.Git(t, bare, "repack", "-adq", "--depth=50", "--window=50")

	_, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: bare, Branch: "main", MaxObjectBytes: 3 << 20 / 2})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Fetch of 2 MiB of objects with a 1.5 MiB limit = %v; want ErrTooLarge", err)
	}
	s, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: bare, Branch: "main", MaxObjectBytes: 3 << 20})
	if err != nil {
		t.Fatalf("Fetch with a 3 MiB limit: %v", err)
	}
	defer s.Close()
	// Both files, one a delta of the other and each over the size that is
	// streamed from the pack, read back whole, by several readers at once.
	want := map[string]string{"a": string(big), "b": string(big) + "x"}
	var wg sync.WaitGroup
	for range 4 {
		for name, content := range want {
			wg.Go(func() {
				got, err := s.ReadFile(name)
				if err != nil || string(got) != content {
					t.Errorf("ReadFile(%s) = %d bytes, %v; want %d bytes", name, len(got), err, len(content))
				}
			})
		}
	}
	wg.Wait()
}

// TestFetchFileLimit checks the limit on one object: a blob over it is
// refused, named by its SHA, and nothing is left in TMPDIR.
func TestFetchFileLimit(t *testing.T) {
	work := gittest.InitWork(t)
	data := make([]byte, 2<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	gittest.WriteFiles(t, work, map[string]string{"big.bin": string(data), "README.md": "hi\n"})
	gittest.CommitAll(t, work, "big")
	sha := gittest.Git(t, work, "rev-parse", "HEAD:big.bin")
	bare := gittest.Publish(t, work, t.TempDir(), "big")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	_, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: bare, Branch: "main", MaxFileBytes: 1 << 20})
	want := "object " + sha + " is 2 MiB, over the 1 MiB limit for one file; ask the candidate to remove that file"
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Fetch = %v; want ErrTooLarge saying %q", err, want)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Errorf("a refused Fetch left %d entries in TMPDIR", len(ents))
	}

	s, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: bare, Branch: "main"})
	if err != nil {
		t.Fatalf("Fetch with the default limit: %v", err)
	}
	defer s.Close()
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Errorf("Fetch left %d entries in TMPDIR", len(ents))
	}
	got, err := s.ReadFile("big.bin")
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("ReadFile(big.bin) = %d bytes, %v; want the %d bytes committed", len(got), err, len(data))
	}
}

// packObject is one object of a hand-made pack: its type, the size its
// header declares, and its content, deflated unless raw. An OFS delta's
// base is the index of an earlier object.
type packObject struct {
	typ  plumbing.ObjectType
	size int64
	data []byte
	raw  bool
	base int
}

// makePack writes objs as a version 2 pack, and returns it and the
// offset of each object.
func makePack(t *testing.T, objs ...packObject) ([]byte, []int64) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("PACK")
	binary.Write(&b, binary.BigEndian, uint32(2))
	binary.Write(&b, binary.BigEndian, uint32(len(objs)))
	offsets := make([]int64, len(objs))
	for i, o := range objs {
		offsets[i] = int64(b.Len())
		// Type and size: 3 bits of type and 4 of size, then 7 bits of
		// size a byte.
		c, n := byte(o.typ)<<4|byte(o.size&0x0f), o.size>>4
		for ; n > 0; n >>= 7 {
			b.WriteByte(c | 0x80)
			c = byte(n & 0x7f)
		}
		b.WriteByte(c)
		if o.typ == plumbing.OFSDeltaObject {
			back := offsets[i] - offsets[o.base]
			if back >= 0x80 {
				t.Fatalf("makePack: base %d bytes back; only one-byte offsets are written", back)
			}
			b.WriteByte(byte(back))
		}
		if o.raw {
			b.Write(o.data)
			continue
		}
		zw := zlib.NewWriter(&b)
		zw.Write(o.data)
		zw.Close()
	}
	sum := sha1.Sum(b.Bytes())
	b.Write(sum[:])
	return b.Bytes(), offsets
}

// TestCheckPackSizes checks hand-made packs whose headers declare sizes
// their contents do not have: the sizes are refused from the headers
// alone, before anything is inflated.
func TestCheckPackSizes(t *testing.T) {
	blob := func(size int64, data []byte) packObject {
		return packObject{typ: plumbing.BlobObject, size: size, data: data}
	}
	small := blob(5, []byte("hello"))
	kib := bytes.Repeat([]byte("k"), 1<<10)
	kibPlus := append(bytes.Clone(kib), '!')
	// A delta's content starts with the sizes of its base and of its
	// result; nothing after them is read.
	delta := packObject{typ: plumbing.OFSDeltaObject, data: binary.AppendUvarint(binary.AppendUvarint(nil, 5), 200<<20)}
	delta.size = int64(len(delta.data))

	type want struct {
		id   string // the object over the file limit: a SHA, or "@N" for "at offset N of the pack"
		size int64
		err  error // else this error, or none
	}
	run := func(t *testing.T, objs []packObject, maxTotal, maxFile int64, w want) {
		pack, offsets := makePack(t, objs...)
		err := checkPackSizes(bytes.NewReader(pack), maxTotal, maxFile)
		t.Logf("error: %v", err)
		if w.id == "" {
			if !errors.Is(err, w.err) || (w.err == nil && err != nil) {
				t.Fatalf("checkPackSizes = %v; want %v", err, w.err)
			}
			return
		}
		id := w.id
		if n, ok := strings.CutPrefix(id, "@"); ok {
			i, _ := strconv.Atoi(n)
			id = fmt.Sprintf("at offset %d of the pack", offsets[i])
			if objs[i].typ.IsDelta() {
				id += " (a delta)"
			}
		}
		var big *objectTooLargeError
		if !errors.As(err, &big) || big.id != id || big.size != w.size {
			t.Fatalf("checkPackSizes = %v; want object %s of %d bytes over the file limit", err, id, w.size)
		}
	}
	cases := []struct {
		name              string
		objs              []packObject
		maxTotal, maxFile int64
		want              want
	}{
		{"within the limits", []packObject{small, blob(1<<10, kib)}, 2 << 10, 1 << 10, want{}},
		{"blob over the file limit, named by its SHA", []packObject{small, blob(1<<10+1, kibPlus)}, 1 << 30, 1 << 10,
			want{id: plumbing.ComputeHash(plumbing.BlobObject, kibPlus).String(), size: 1<<10 + 1}},
		{"declared 300 MB of five bytes", []packObject{small, blob(300_000_000, []byte("hello"))}, 1 << 40, 100 << 20,
			want{id: "@1", size: 300_000_000}},
		{"declared 300 MB, not even deflated", []packObject{{typ: plumbing.BlobObject, size: 300_000_000, data: []byte("junk"), raw: true}}, 1 << 40, 100 << 20,
			want{id: "@0", size: 300_000_000}},
		{"delta result over the file limit", []packObject{small, delta}, 1 << 40, 100 << 20,
			want{id: "@1", size: 200 << 20}},
		{"total over the limit", []packObject{small, blob(1<<10, kib), blob(1<<10, kib)}, 2 << 10, 1 << 10,
			want{err: errObjectsTooLarge}},
		{"declared total over the limit", []packObject{blob(1<<40, []byte("x"))}, 1 << 30, 1 << 50,
			want{err: errObjectsTooLarge}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { run(t, c.objs, c.maxTotal, c.maxFile, c.want) })
	}
}

// TestPackfileWriterSpool checks where the pack goes: a file only its
// owner can read, in a folder of its own under TMPDIR, removed by
// cleanup whether or not the pack was kept.
func TestPackfileWriterSpool(t *testing.T) {
	for _, keep := range []bool{false, true} {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		s := &limitStorage{maxPack: 1 << 20, maxObjects: 1 << 20, maxFile: 1 << 20}
		w, err := s.PackfileWriter()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("PACK")); err != nil {
			t.Fatal(err)
		}
		ents, _ := os.ReadDir(tmp)
		if len(ents) != 1 {
			t.Fatalf("%d entries in TMPDIR, want 1 folder", len(ents))
		}
		dir := filepath.Join(tmp, ents[0].Name())
		for name, want := range map[string]os.FileMode{dir: os.ModeDir | 0o700, filepath.Join(dir, "pack"): 0o600} {
			if fi, err := os.Stat(name); err != nil || fi.Mode() != want {
				t.Errorf("%s: mode %v, %v; want %v", name, fi.Mode(), err, want)
			}
		}
		if _, err := s.PackfileWriter(); err == nil {
			t.Error("a second PackfileWriter: no error")
		}
		s.cleanup(keep)
		if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
			t.Errorf("cleanup(%t) left %d entries in TMPDIR", keep, len(ents))
		}
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
	r := gittest.NewForkRepo(t)
	s, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: r.URL, Branch: "cmc"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
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

// silentServer returns the URL of a repository on a server that accepts
// connections and never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	return "http://" + ln.Addr().String() + "/fork.git"
}
