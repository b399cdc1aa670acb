package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
)

// cacheRepos serves an upstream of about 2 MB over two commits, and a fork
// of it that adds one small commit on branch cmc.
type cacheRepos struct {
	url                  string // server base URL
	upstream, fork       string // repository URLs
	baseCommit, candSHA  string
	upstreamDir, forkDir string
}

func newCacheRepos(t *testing.T) *cacheRepos {
	t.Helper()
	work := gittest.InitWork(t)
	rng := rand.New(rand.NewPCG(1, 2))
	files := map[string]string{"go.mod": "module example.com/meshery\n\ngo 1.26\n"}
	for i := range 400 {
		b := make([]byte, 2500)
		for j := range b {
			b[j] = byte('a' + rng.IntN(26)) // little to compress
		}
		files[fmt.Sprintf("server/pkg%02d/file%03d.txt", i%20, i)] = string(b)
	}
	gittest.WriteFiles(t, work, files)
	gittest.CommitAll(t, work, "upstream 1")
	gittest.WriteFiles(t, work, map[string]string{"README.md": "upstream\n"})
	base := gittest.CommitAll(t, work, "upstream 2")
	root := t.TempDir()
	up := gittest.Publish(t, work, root, "upstream")
	gittest.Git(t, work, "checkout", "-q", "-b", "cmc")
	gittest.WriteFiles(t, work, map[string]string{"server/pkg00/answer.go": "package pkg00\n\nfunc Answer() int { return 42 }\n"})
	cand := gittest.CommitAll(t, work, "candidate answer")
	fork := gittest.Publish(t, work, root, "fork")
	url := gittest.Serve(t, root)
	return &cacheRepos{url: url, upstream: url + "/upstream.git", fork: url + "/fork.git",
		baseCommit: base, candSHA: cand, upstreamDir: up, forkDir: fork}
}

func TestFetchCache(t *testing.T) {
	r := newCacheRepos(t)
	ctx := context.Background()
	log := gittest.Log(t)

	plain, err := Fetch(ctx, log, FetchOptions{URL: r.fork, Branch: "cmc"})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	cache, err := OpenFetchCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	mirror, err := cache.Update(ctx, log, FetchOptions{URL: r.upstream})
	if err != nil {
		t.Fatal(err)
	}
	defer mirror.Close()
	if mirror.FetchedBytes == 0 {
		t.Errorf("first update fetched nothing")
	}
	cached, err := Fetch(ctx, log, FetchOptions{URL: r.fork, Branch: "cmc", Upstream: mirror})
	if err != nil {
		t.Fatal(err)
	}
	defer cached.Close()
	t.Logf("candidate pack: %d bytes without the cache, %d with it", plain.PackBytes, cached.PackBytes)
	if cached.Commit != r.candSHA || plain.Commit != r.candSHA {
		t.Fatalf("commits %s and %s, want %s", plain.Commit, cached.Commit, r.candSHA)
	}
	if cached.PackBytes*50 > plain.PackBytes {
		t.Errorf("with the cache the pack is %d bytes, without %d: want at least 50 times smaller", cached.PackBytes, plain.PackBytes)
	}

	// The workspace is the same, byte for byte.
	var a, b bytes.Buffer
	if _, err := plain.WriteTar(&a, Overlay{}, TarLimits{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cached.WriteTar(&b, Overlay{}, TarLimits{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("workspace differs with the cache: %d bytes, want %d", b.Len(), a.Len())
	}

	// The base comes from the mirror, without a fetch.
	base, err := mirror.Snapshot("main", "")
	if err != nil {
		t.Fatal(err)
	}
	if base.Commit != r.baseCommit {
		t.Errorf("base commit %s, want %s", base.Commit, r.baseCommit)
	}
	if data, err := base.ReadFile("README.md"); err != nil || string(data) != "upstream\n" {
		t.Errorf("base README.md = %q, %v", data, err)
	}
	if _, err := mirror.Snapshot("", r.baseCommit); err != nil {
		t.Errorf("base by commit: %v", err)
	}
	if _, err := mirror.Snapshot("nope", ""); !errors.Is(err, ErrUnknownBranch) {
		t.Errorf("unknown branch: got %v, want ErrUnknownBranch", err)
	}

	// The candidate's objects never reach the mirror.
	if err := exec.Command("git", "-C", mirror.Dir, "cat-file", "-e", r.candSHA).Run(); err == nil {
		t.Errorf("the mirror holds the candidate's commit %s", r.candSHA)
	}
	if err := exec.Command("git", "-C", mirror.Dir, "cat-file", "-e", r.baseCommit).Run(); err != nil {
		t.Errorf("the mirror lacks the base commit: %v", err)
	}

	// A second update finds nothing new.
	again, err := cache.Update(ctx, log, FetchOptions{URL: r.upstream})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.FetchedBytes != 0 || again.Dir != mirror.Dir {
		t.Errorf("second update: fetched %d bytes into %s, want 0 into %s", again.FetchedBytes, again.Dir, mirror.Dir)
	}
}

func TestFetchCacheErrors(t *testing.T) {
	if _, err := OpenFetchCache(" "); err == nil {
		t.Error("empty cache folder accepted")
	}
	cache, err := OpenFetchCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Update(context.Background(), nil, FetchOptions{URL: "ssh://host/repo"}); !errors.Is(err, ErrBadURL) {
		t.Errorf("ssh URL: got %v, want ErrBadURL", err)
	}
	if _, err := cache.Update(context.Background(), nil, FetchOptions{URL: "http://127.0.0.1:1/none.git"}); !errors.Is(err, ErrUnreachable) {
		t.Errorf("unreachable: got %v, want ErrUnreachable", err)
	}
}
