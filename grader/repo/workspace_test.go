package repo

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
)

// hostileRepo is a repository whose branch main holds what git lets a
// candidate commit (symlinks out of the tree, a submodule, a file where
// the grader needs a folder...) and whose branch hostile adds entries only
// a hand-made tree can hold (.git, .., duplicates, bad names).
// longName needs more than the 100 bytes of a plain tar name.
var longName = "docs/" + strings.Repeat("x", 90) + "/" + strings.Repeat("y", 90) + ".md"

type hostileRepo struct {
	bare string
}

func newHostileRepo(t *testing.T) *hostileRepo {
	t.Helper()
	work := gittest.InitWork(t)
	gittest.WriteFiles(t, work, map[string]string{
		"go.mod":                              "module example.com/meshery\n",
		"server/handlers/h.go":                "package handlers\n",
		"server/handlers/h_test.go":           "package handlers // the candidate's\n",
		"server/handlers/dir_test.go/evil.go": "package evil\n",
		"models/registry":                     "a file where a folder should be\n",
		"scripts/run.sh":                      "#!/bin/sh\necho hi\n",
		"docs/a.md":                           "a\n",
		"docs/ünïcödé.md":                     "u\n",
		longName:                              "long\n",
	})
	if err := os.Chmod(filepath.Join(work, "scripts/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"link":      "go.mod",         // kept
		"server/up": "../go.mod",      // kept
		"a/l1":      "..",             // kept: the root
		"go.sum":    "go.mod",         // kept, restored over
		"ui/lib":    "../server",      // kept, a folder is needed there
		"passwd":    "/etc/passwd",    // absolute
		"escape":    "../../etc",      // leaves the tree
		"l2":        "a/l1/..",        // leaves the tree through a/l1
		"deep/x":    "../../../../..", // leaves the tree
	} {
		p := filepath.Join(work, filepath.FromSlash(link))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	gittest.Git(t, work, "add", "-A")
	// A submodule: a gitlink to some commit.
	gittest.Git(t, work, "update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("1", 40)+",vendor/sub")
	gittest.Git(t, work, "commit", "-q", "-m", "hostile but committable")

	// Entries git itself refuses to commit, made with mktree.
	blob := gittest.GitInput(t, work, "evil\n", "hash-object", "-w", "--stdin")
	gitDir := gittest.GitInput(t, work, "100644 blob "+blob+"\tconfig\x00", "mktree", "-z")
	entries := gittest.Git(t, work, "ls-tree", "-z", "HEAD")
	extra := []string{
		"040000 tree " + gitDir + "\t.git",
		"100644 blob " + blob + "\t.GIT",
		"100644 blob " + blob + "\t..",
		"100644 blob " + blob + "\t.",
		"100644 blob " + blob + "\tbad\xff",
		"100644 blob " + blob + "\tctl\x01",
		"100644 blob " + blob + "\tgo.mod",                      // a duplicate
		"104755 blob " + blob + "\tsetuid",                      // mode bits beyond 0755
		"100644 blob " + blob + "\t" + strings.Repeat("n", 256), // over NAME_MAX
	}
	// docs gets a nested .git folder.
	docsTree := gittest.Git(t, work, "rev-parse", "HEAD:docs")
	docsEntries := gittest.Git(t, work, "ls-tree", "-z", docsTree)
	newDocs := gittest.GitInput(t, work, docsEntries+"040000 tree "+gitDir+"\t.git\x00", "mktree", "-z")
	var root []string
	for _, e := range strings.Split(strings.TrimSuffix(entries, "\x00"), "\x00") {
		if strings.HasSuffix(e, "\tdocs") {
			e = "040000 tree " + newDocs + "\tdocs"
		}
		root = append(root, e)
	}
	root = append(root, extra...)
	tree := gittest.GitInput(t, work, strings.Join(root, "\x00")+"\x00", "mktree", "-z")
	commit := gittest.Git(t, work, "commit-tree", "-p", "HEAD", "-m", "hostile", tree)
	gittest.Git(t, work, "update-ref", "refs/heads/hostile", commit)

	rootDir := t.TempDir()
	return &hostileRepo{bare: gittest.Publish(t, work, rootDir, "hostile")}
}

func (r *hostileRepo) fetch(t *testing.T, branch string) *Snapshot {
	t.Helper()
	s, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: r.bare, Branch: branch})
	if err != nil {
		t.Fatalf("Fetch %s: %v", branch, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type tarEntry struct {
	hdr  tar.Header
	data string
}

// readTar reads a whole tar stream and checks the fixed header fields.
func readTar(t *testing.T, b []byte) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read tar %s: %v", hdr.Name, err)
		}
		if hdr.Uid != 1000 || hdr.Gid != 1000 || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("%s: owner %d:%d %q:%q, want 1000:1000", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname)
		}
		if !hdr.ModTime.Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: mtime %s", hdr.Name, hdr.ModTime)
		}
		if hdr.Mode&^0o777 != 0 {
			t.Errorf("%s: mode %o has bits beyond 0777", hdr.Name, hdr.Mode)
		}
		out = append(out, tarEntry{*hdr, string(data)})
	}
	return out
}

// listing writes one line per entry: type, mode, name, target or size.
func listing(ents []tarEntry) []string {
	var out []string
	for _, e := range ents {
		switch e.hdr.Typeflag {
		case tar.TypeDir:
			out = append(out, fmt.Sprintf("d %o %s", e.hdr.Mode, e.hdr.Name))
		case tar.TypeSymlink:
			out = append(out, fmt.Sprintf("l %o %s -> %s", e.hdr.Mode, e.hdr.Name, e.hdr.Linkname))
		default:
			out = append(out, fmt.Sprintf("f %o %s %d", e.hdr.Mode, e.hdr.Name, e.hdr.Size))
		}
	}
	return out
}

func writeTar(t *testing.T, s *Snapshot, ov Overlay, lim TarLimits) ([]byte, WorkspaceStats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := s.WriteTar(&buf, ov, lim)
	if err != nil {
		t.Fatalf("WriteTar: %v", err)
	}
	// Check, which reads no file contents, must plan the same workspace.
	cst, err := s.Check(ov, lim)
	if err != nil {
		t.Fatalf("Check: %v; WriteTar succeeded", err)
	}
	if !reflect.DeepEqual(cst, st) {
		t.Errorf("Check stats = %+v; WriteTar's = %+v", cst, st)
	}
	return buf.Bytes(), st
}

// checkSameError fails unless Check gives the error WriteTar gave.
func checkSameError(t *testing.T, s *Snapshot, ov Overlay, lim TarLimits, werr error) {
	t.Helper()
	st, err := s.Check(ov, lim)
	if fmt.Sprint(err) != fmt.Sprint(werr) || errors.Is(err, ErrTooLarge) != errors.Is(werr, ErrTooLarge) {
		t.Errorf("Check = %v; WriteTar = %v", err, werr)
	}
	if !reflect.DeepEqual(st, WorkspaceStats{}) {
		t.Errorf("Check stats on error = %+v; want zero", st)
	}
}

func skippedStrings(st WorkspaceStats) []string {
	var out []string
	for _, s := range st.Skipped {
		out = append(out, s.String())
	}
	return out
}

func TestWriteTarHostile(t *testing.T) {
	r := newHostileRepo(t)
	s := r.fetch(t, "hostile")
	b, st := writeTar(t, s, Overlay{}, TarLimits{})

	want := []string{
		"l 777 a/l1 -> ..",
		"d 755 a/",
		"d 755 deep/", // what it held was left out
		"d 755 docs/",
		"f 644 docs/a.md 2",
		"d 755 " + path.Dir(longName) + "/",
		"f 644 " + longName + " 5",
		"f 644 docs/ünïcödé.md 2",
		"f 644 go.mod 27",
		"l 777 go.sum -> go.mod",
		"l 777 link -> go.mod",
		"d 755 models/",
		"f 644 models/registry 32",
		"d 755 scripts/",
		"f 755 scripts/run.sh 18",
		"d 755 server/",
		"d 755 server/handlers/",
		"d 755 server/handlers/dir_test.go/",
		"f 644 server/handlers/dir_test.go/evil.go 13",
		"f 644 server/handlers/h.go 17",
		"f 644 server/handlers/h_test.go 36",
		"l 777 server/up -> ../go.mod",
		"f 755 setuid 5",
		"d 755 ui/",
		"l 777 ui/lib -> ../server",
		"d 755 vendor/",
	}
	slices.SortFunc(want, func(a, b string) int { return strings.Compare(strings.Fields(a)[2], strings.Fields(b)[2]) })
	if got := listing(readTar(t, b)); !slices.Equal(got, want) {
		t.Errorf("tar:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantSkipped := []string{
		`".": invalid file name`,
		`"..": invalid file name`,
		`"bad\xff": invalid file name`,
		`"ctl\x01": invalid file name`,
		`"` + strings.Repeat("n", 256) + `": invalid file name`,
		".GIT: entry named .git",
		".git: entry named .git",
		"deep/x: symlink that may point outside the repository",
		"docs/.git: entry named .git",
		"escape: symlink that may point outside the repository",
		"go.mod: duplicate tree entry",
		"l2: symlink that may point outside the repository",
		"passwd: symlink to an absolute path",
		"vendor/sub: submodule (gitlink)",
	}
	if got := skippedStrings(st); !slices.Equal(got, wantSkipped) {
		t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantSkipped, "\n"))
	}
	if st.SkippedTotal != len(wantSkipped) {
		t.Errorf("SkippedTotal %d, want %d", st.SkippedTotal, len(wantSkipped))
	}
	if st.Files != 15 || st.Dirs != 11 {
		t.Errorf("Files, Dirs = %d, %d; want 15, 11", st.Files, st.Dirs)
	}
	var total int64
	for _, e := range readTar(t, b) {
		total += e.hdr.Size
	}
	if st.Bytes != total {
		t.Errorf("Bytes %d, want %d", st.Bytes, total)
	}

	// GNU tar reads it too, when there is one.
	if _, err := exec.LookPath("tar"); err == nil {
		cmd := exec.Command("tar", "-tf", "-")
		cmd.Stdin = bytes.NewReader(b)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("tar -t: %v\n%s", err, out)
		}
	}
}

func TestWriteTarOverlay(t *testing.T) {
	r := newHostileRepo(t)
	s := r.fetch(t, "main")
	hidden := "package handlers // hidden\n"
	cases := []struct {
		name       string
		ov         Overlay
		files      map[string]string // path -> content wanted
		absent     []string          // paths (or folder prefixes) that must be gone
		skipped    []string          // wanted in the skipped list
		notSkipped []string          // must not be in the skipped list
	}{{
		name:       "replace a file",
		ov:         Overlay{Hidden: map[string][]byte{"server/handlers/h_test.go": []byte(hidden)}},
		files:      map[string]string{"server/handlers/h_test.go": hidden, "server/handlers/h.go": "package handlers\n"},
		notSkipped: []string{"server/handlers/h_test.go: replaced by a grader file"},
	}, {
		name:    "replace a symlink",
		ov:      Overlay{Restore: map[string][]byte{"go.sum": []byte("sums\n")}},
		files:   map[string]string{"go.sum": "sums\n"},
		skipped: []string{"go.sum: replaced by a grader file"},
	}, {
		name:    "replace a folder",
		ov:      Overlay{Hidden: map[string][]byte{"server/handlers/dir_test.go": []byte(hidden)}},
		files:   map[string]string{"server/handlers/dir_test.go": hidden},
		absent:  []string{"server/handlers/dir_test.go/", "server/handlers/dir_test.go/evil.go"},
		skipped: []string{"server/handlers/dir_test.go: replaced by a grader file"},
	}, {
		name:    "file where a folder is needed",
		ov:      Overlay{Hidden: map[string][]byte{"models/registry/x_test.go": []byte(hidden)}},
		files:   map[string]string{"models/registry/x_test.go": hidden},
		skipped: []string{"models/registry: replaced by a grader file"},
	}, {
		name:    "symlink where a folder is needed",
		ov:      Overlay{Hidden: map[string][]byte{"ui/lib/x.test.js": []byte("test\n")}},
		files:   map[string]string{"ui/lib/x.test.js": "test\n"},
		skipped: []string{"ui/lib: replaced by a grader file"},
	}, {
		name:  "new folders",
		ov:    Overlay{Hidden: map[string][]byte{"new/deep/x_test.go": []byte(hidden)}},
		files: map[string]string{"new/deep/x_test.go": hidden},
	}, {
		name:   "restore absent from the base",
		ov:     Overlay{Restore: map[string][]byte{"scripts/run.sh": nil, "docs": nil}},
		absent: []string{"scripts/run.sh", "docs/", "docs/a.md"},
	}, {
		name:   "remove",
		ov:     Overlay{Remove: []string{"server/handlers", "link"}},
		absent: []string{"server/handlers/", "server/handlers/h.go", "link"},
		files:  map[string]string{"server/up": ""},
	}, {
		name: "hidden wins over restore and remove",
		ov: Overlay{
			Hidden:  map[string][]byte{"go.mod": []byte("hidden\n")},
			Restore: map[string][]byte{"go.mod": []byte("restored\n")},
			Remove:  []string{"go.mod"},
		},
		files: map[string]string{"go.mod": "hidden\n"},
	}, {
		name:  "empty hidden file",
		ov:    Overlay{Hidden: map[string][]byte{"empty_test.go": nil}},
		files: map[string]string{"empty_test.go": ""},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, st := writeTar(t, s, c.ov, TarLimits{})
			ents := readTar(t, b)
			byName := map[string]tarEntry{}
			for _, e := range ents {
				byName[e.hdr.Name] = e
			}
			for name, want := range c.files {
				e, ok := byName[name]
				switch {
				case !ok:
					t.Errorf("%s missing", name)
				case e.hdr.Typeflag == tar.TypeSymlink:
					// a kept candidate symlink: content not checked
				case e.hdr.Typeflag != tar.TypeReg || e.data != want || e.hdr.Mode != 0o644:
					t.Errorf("%s: type %c mode %o %q, want a 0644 file %q", name, e.hdr.Typeflag, e.hdr.Mode, e.data, want)
				}
				// Every parent is a folder in the tar, before the file.
				for dir := filepath.Dir(name); dir != "."; dir = filepath.Dir(dir) {
					if d, ok := byName[dir+"/"]; !ok || d.hdr.Typeflag != tar.TypeDir {
						t.Errorf("%s: parent %s/ is not a folder entry", name, dir)
					}
				}
			}
			for _, name := range c.absent {
				if _, ok := byName[name]; ok {
					t.Errorf("%s still in the tar", name)
				}
			}
			sk := skippedStrings(st)
			for _, w := range c.skipped {
				if !slices.Contains(sk, w) {
					t.Errorf("skipped %q, want it to hold %q", sk, w)
				}
			}
			for _, w := range c.notSkipped {
				if slices.Contains(sk, w) {
					t.Errorf("skipped %q holds %q", sk, w)
				}
			}
			// No path may be both a file and a folder, and folders come
			// before what they hold.
			seen := map[string]bool{}
			for _, e := range ents {
				name := strings.TrimSuffix(e.hdr.Name, "/")
				if seen[name] {
					t.Errorf("%s twice in the tar", name)
				}
				seen[name] = true
				if dir := filepath.Dir(name); dir != "." && !seen[dir] {
					t.Errorf("%s comes before its folder", name)
				}
			}
		})
	}
}

func TestWriteTarOverlayErrors(t *testing.T) {
	r := newHostileRepo(t)
	s := r.fetch(t, "main")
	cases := []struct {
		name string
		ov   Overlay
		msg  string
	}{
		{"dot-dot", Overlay{Hidden: map[string][]byte{"../x_test.go": nil}}, "not a clean relative path"},
		{"absolute", Overlay{Hidden: map[string][]byte{"/etc/x": nil}}, "not a clean relative path"},
		{"unclean", Overlay{Hidden: map[string][]byte{"a//b": nil}}, "not a clean relative path"},
		{"dot-git", Overlay{Hidden: map[string][]byte{"a/.git/config": nil}}, "invalid name"},
		{"remove root", Overlay{Remove: []string{"."}}, "not a clean relative path"},
		{"file then folder", Overlay{
			Restore: map[string][]byte{"conf": []byte("x")},
			Hidden:  map[string][]byte{"conf/x_test.go": []byte("y")},
		}, "in the way"},
		{"folder then file", Overlay{
			Restore: map[string][]byte{"conf/x.go": []byte("x")},
			Hidden:  map[string][]byte{"conf": []byte("y")},
		}, "is a folder of overlay file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := s.WriteTar(&buf, c.ov, TarLimits{})
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("WriteTar = %v; want an error saying %q", err, c.msg)
			}
			checkSameError(t, s, c.ov, TarLimits{}, err)
			if buf.Len() != 0 {
				t.Errorf("%d bytes written before the error", buf.Len())
			}
		})
	}
}

func TestWriteTarLimits(t *testing.T) {
	r := newHostileRepo(t)
	s := r.fetch(t, "main")
	_, st := writeTar(t, s, Overlay{}, TarLimits{})
	// Every tree entry visited counts against MaxEntries, those left out
	// too; the entries written are counted again after the overlay.
	visited := st.Files + st.Dirs + st.SkippedTotal
	grow := Overlay{Hidden: map[string][]byte{}}
	for i := range st.SkippedTotal + 1 {
		grow.Hidden[fmt.Sprintf("new%d", i)] = nil
	}
	cases := []struct {
		name string
		ov   Overlay
		lim  TarLimits
		msg  string
	}{
		{"entries", Overlay{}, TarLimits{MaxEntries: 5}, "over 5 entries"},
		{"entries after overlay", grow, TarLimits{MaxEntries: visited}, fmt.Sprintf("over %d entries", visited)},
		{"total bytes", Overlay{}, TarLimits{MaxBytes: 100}, "over the 100 bytes limit"},
		{"file bytes", Overlay{}, TarLimits{MaxFileBytes: 30}, "over the 30 bytes file limit"},
		{"hidden file bytes", Overlay{Hidden: map[string][]byte{"big": make([]byte, 2<<20)}}, TarLimits{MaxFileBytes: 1 << 20}, "big is 2 MiB, over the 1 MiB file limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := s.WriteTar(&buf, c.ov, c.lim)
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("WriteTar = %v; want ErrTooLarge saying %q", err, c.msg)
			}
			checkSameError(t, s, c.ov, c.lim, err)
			if buf.Len() != 0 {
				t.Errorf("%d bytes written before the error", buf.Len())
			}
		})
	}
	// Exactly at the limits is fine.
	if _, err := s.WriteTar(io.Discard, Overlay{}, TarLimits{MaxBytes: st.Bytes, MaxEntries: visited}); err != nil {
		t.Errorf("WriteTar at the limits: %v", err)
	}
}

// TestWriteTarTreeBomb checks that a tree which names the same subtree
// over and over (a million files from a few objects) is stopped by the
// entry limit while walking.
func TestWriteTarTreeBomb(t *testing.T) {
	work := gittest.InitWork(t)
	blob := gittest.GitInput(t, work, "x", "hash-object", "-w", "--stdin")
	var in strings.Builder
	for i := range 10 {
		fmt.Fprintf(&in, "100644 blob %s\tf%d\x00", blob, i)
	}
	tree := gittest.GitInput(t, work, in.String(), "mktree", "-z")
	for range 5 {
		in.Reset()
		for i := range 10 {
			fmt.Fprintf(&in, "040000 tree %s\td%d\x00", tree, i)
		}
		tree = gittest.GitInput(t, work, in.String(), "mktree", "-z")
	}
	commit := gittest.Git(t, work, "commit-tree", "-m", "bomb", tree)
	gittest.Git(t, work, "update-ref", "refs/heads/main", commit)
	bare := gittest.Publish(t, work, t.TempDir(), "bomb")
	s, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: bare, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	_, err = s.WriteTar(io.Discard, Overlay{}, TarLimits{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("WriteTar of a million files = %v; want ErrTooLarge", err)
	}
	checkSameError(t, s, Overlay{}, TarLimits{}, err)
}

// TestWriteTarDeterministic checks that the same inputs give the same
// bytes: twice from one snapshot, from a second fetch over HTTP, and from
// many goroutines at once.
func TestWriteTarDeterministic(t *testing.T) {
	r := newHostileRepo(t)
	s := r.fetch(t, "hostile")
	ov := Overlay{
		Hidden:  map[string][]byte{"a/x_test.go": []byte("1"), "b/y_test.go": []byte("2"), "c/z_test.go": []byte("3"), "models/registry/r_test.go": []byte("4")},
		Restore: map[string][]byte{"go.sum": []byte("5"), "go.mod": []byte("6"), "docs/a.md": nil},
		Remove:  []string{"scripts", "link"},
	}
	first, _ := writeTar(t, s, ov, TarLimits{})
	second, _ := writeTar(t, s, ov, TarLimits{})
	if !bytes.Equal(first, second) {
		t.Fatal("two WriteTar calls gave different bytes")
	}

	url := gittest.Serve(t, filepath.Dir(r.bare)) + "/" + filepath.Base(r.bare)
	s2, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: url, Commit: s.Commit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	if third, _ := writeTar(t, s2, ov, TarLimits{}); !bytes.Equal(first, third) {
		t.Error("a second fetch gave different tar bytes")
	}

	want := sha256.Sum256(first)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := sha256.New()
			if _, err := s.WriteTar(h, ov, TarLimits{}); err != nil {
				t.Error(err)
				return
			}
			if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
				t.Error("concurrent WriteTar gave different bytes")
			}
		}()
	}
	wg.Wait()
}

func TestWriteTarWriterError(t *testing.T) {
	r := newHostileRepo(t)
	s := r.fetch(t, "main")
	werr := errors.New("pipe closed")
	_, err := s.WriteTar(failWriter{werr}, Overlay{}, TarLimits{})
	if !errors.Is(err, werr) {
		t.Errorf("WriteTar = %v; want the writer's error", err)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write(p []byte) (int, error) { return 0, w.err }

func TestLinkStaysInside(t *testing.T) {
	p := &plan{links: map[string]bool{"a/l1": true, "l": true}}
	cases := []struct {
		dir, target string
		want        bool
	}{
		{".", "go.mod", true},
		{".", "./a/../b", true},
		{"a", "..", true},
		{"a", "../..", false},
		{"a/b", "../../c", true},
		{"a/b", "../../../c", false},
		{".", "a/l1/..", false}, // up out of a symlink
		{".", "a/l1/x", true},
		{".", "l/../x", false},
		{".", "x/../../y", false},
		{".", "a/l1/a/l1/..", false}, // a/l1/a/l1 is the root: .. leaves it
		{".", "a/l1/b/..", false},    // below a symlink: not checked, refused
		{"a", "l1/../b", false},
		{".", "a/b/../l1", true},
		{"a", "", true},
	}
	for _, c := range cases {
		if got := p.linkStaysInside(c.dir, c.target); got != c.want {
			t.Errorf("linkStaysInside(%q, %q) = %t, want %t", c.dir, c.target, got, c.want)
		}
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"go.mod": true, ".github": true, "ünïcode": true, "a b": true, "back\\slash": true,
		"": false, ".": false, "..": false, "a/b": false, "nul\x00": false, "bad\xff": false,
		"tab\t": false, "del\x7f": false, "c1\u0085": false, strings.Repeat("n", 255): true, strings.Repeat("n", 256): false,
	} {
		if got := validName(name); got != want {
			t.Errorf("validName(%q) = %t, want %t", name, got, want)
		}
	}
}

// TestWriteTarManySkipped checks that the skipped list is cut at 1000
// entries while SkippedTotal counts them all.
func TestWriteTarManySkipped(t *testing.T) {
	work := gittest.InitWork(t)
	var in strings.Builder
	for i := range 1100 {
		fmt.Fprintf(&in, "160000 commit %s\tsub%04d\x00", strings.Repeat("1", 40), i)
	}
	fmt.Fprintf(&in, "100644 blob %s\tkeep\x00", gittest.GitInput(t, work, "k", "hash-object", "-w", "--stdin"))
	tree := gittest.GitInput(t, work, in.String(), "mktree", "-z", "--missing")
	commit := gittest.Git(t, work, "commit-tree", "-m", "subs", tree)
	gittest.Git(t, work, "update-ref", "refs/heads/main", commit)
	bare := gittest.Publish(t, work, t.TempDir(), "subs")
	s, err := Fetch(context.Background(), gittest.Log(t), FetchOptions{URL: bare, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	_, st := writeTar(t, s, Overlay{}, TarLimits{})
	if st.SkippedTotal != 1100 || len(st.Skipped) != 1000 || st.Files != 1 {
		t.Fatalf("SkippedTotal %d, len(Skipped) %d, Files %d; want 1100, 1000, 1", st.SkippedTotal, len(st.Skipped), st.Files)
	}
	if st.Skipped[0].Path != "sub0000" || st.Skipped[999].Path != "sub0999" {
		t.Errorf("skipped from %s to %s, want sub0000 to sub0999", st.Skipped[0].Path, st.Skipped[999].Path)
	}
}
