package grader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/cmcgrader/cmcgrader/tasks"
)

// Bounds of TamperReport.
const (
	// TamperParseBytes is the largest file TamperReport reads to look
	// inside it (Go sources, go.mod, package.json). A larger file is
	// flagged as not checked.
	TamperParseBytes = 1 << 20
	// TamperFlagsPerKind bounds the flags of one kind; the rest are
	// counted in one last flag of that kind.
	TamperFlagsPerKind = 100
	// tamperMaxEntries bounds the tree entries compared, over both trees.
	tamperMaxEntries = 2 * DefaultTarEntries
)

// TamperReport compares the candidate's tree with the base's and returns
// what a proctor should review: changed test files, test helpers and
// testdata; changed build files (Makefiles, replace directives in go.mod,
// go.work, package.json scripts, vendored code); changed CI
// configuration; added or changed build constraints in Go files; and new
// TestMain or init functions in the Go packages the bank's tasks test.
// The flags never change a score on their own.
//
// Only entries that differ are visited: subtrees with the same hash are
// skipped, and files over TamperParseBytes are not parsed (the flag says
// so). The flags are sorted by path, then kind. The error means the trees
// could not be read, or are too large to compare.
func TamperReport(ctx context.Context, cand, base *Snapshot, bank *tasks.Bank) ([]TamperFlag, error) {
	if cand == nil || base == nil {
		return nil, errors.New("tamper report: the candidate's and the base's snapshots are both required")
	}
	d := &treeDiff{cand: cand, base: base}
	if err := d.diff(cand.tree, base.tree, ""); err != nil {
		return nil, err
	}
	r := &tamperRun{cand: cand, base: base, scope: goScope(bank), hidden: hiddenPaths(bank), pkgs: map[pkgKey]*pkgDelta{}}
	for _, c := range d.changes {
		r.caps.note(c)
	}
	vendors := map[string]*vendorChange{}
	for _, c := range d.changes {
		if root, ok := vendorRoot(c.path); ok {
			v := vendors[root]
			if v == nil {
				v = &vendorChange{}
				vendors[root] = v
			}
			v.count(c)
			continue
		}
		if err := r.check(c); err != nil {
			return nil, err
		}
	}
	for _, root := range slices.Sorted(maps.Keys(vendors)) {
		r.flag(TamperBuildFile, root, "", vendors[root].detail(base.hasDir(root)))
	}
	r.flagPackages()
	if err := r.caps.run(ctx, r); err != nil {
		return nil, err
	}
	if len(r.caps.results) > 0 {
		gomod, _ := base.ReadFile("go.mod")
		rc := computeReach(cand, modulePath(gomod), bank)
		for _, f := range r.caps.results {
			r.flags = append(r.flags, TamperFlag{Kind: f.Kind, Path: displayPath(f.path), Line: f.Line, Detail: f.Detail, Reached: rc.reachedBy(f.path)})
		}
	}
	return capFlags(r.flags), nil
}

// modulePath returns the module path a go.mod declares ("" for none).
func modulePath(gomod []byte) string {
	for line := range strings.Lines(string(gomod)) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], "\"`")
		}
	}
	return ""
}

// treeEntry is one non-folder entry of a tree: a file, a symlink or a
// submodule. The zero value is an absent entry.
type treeEntry struct {
	hash plumbing.Hash
	mode filemode.FileMode
}

func (e treeEntry) present() bool { return e.mode != 0 }

func (e treeEntry) regular() bool {
	return e.mode == filemode.Regular || e.mode == filemode.Executable || e.mode == filemode.Deprecated
}

// treeChange is a path whose entry differs between the two trees.
type treeChange struct {
	path       string
	cand, base treeEntry
}

// treeDiff lists the changes between two trees.
type treeDiff struct {
	cand, base *Snapshot
	changes    []treeChange
	visited    int
}

// diff compares the candidate's tree ch with the base's tree bh, both at
// dir; a zero hash is a missing folder.
func (d *treeDiff) diff(ch, bh plumbing.Hash, dir string) error {
	if ch == bh {
		return nil
	}
	ce, err := d.entries(d.cand, ch, dir)
	if err != nil {
		return err
	}
	be, err := d.entries(d.base, bh, dir)
	if err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(ce))
	for n := range be {
		if _, ok := ce[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		d.visited++
		if d.visited > tamperMaxEntries {
			return fmt.Errorf("%w: comparing %s with the base: over %d changed entries", ErrTooLarge, d.cand.Commit, tamperMaxEntries)
		}
		c, b := ce[name], be[name]
		p := name
		if dir != "" {
			p = dir + "/" + name
		}
		var cdir, bdir plumbing.Hash
		if c.mode == filemode.Dir {
			cdir, c = c.hash, treeEntry{}
		}
		if b.mode == filemode.Dir {
			bdir, b = b.hash, treeEntry{}
		}
		if !cdir.IsZero() || !bdir.IsZero() {
			if err := d.diff(cdir, bdir, p); err != nil {
				return err
			}
		}
		if c != b {
			d.changes = append(d.changes, treeChange{path: p, cand: c, base: b})
		}
	}
	return nil
}

// entries reads tree h of s by name; the first of duplicate names wins,
// as in a workspace.
func (d *treeDiff) entries(s *Snapshot, h plumbing.Hash, dir string) (map[string]treeEntry, error) {
	if h.IsZero() {
		return nil, nil
	}
	t, err := object.GetTree(s.objects, h)
	if err != nil {
		return nil, fmt.Errorf("compare with the base: read tree %s at %q of %s: %w", h, dir, s.Commit, err)
	}
	m := make(map[string]treeEntry, len(t.Entries))
	for _, e := range t.Entries {
		if _, dup := m[e.Name]; !dup {
			m[e.Name] = treeEntry{hash: e.Hash, mode: e.Mode}
		}
	}
	return m, nil
}

// hasDir reports whether the snapshot's tree has a folder at dir.
func (s *Snapshot) hasDir(dir string) bool {
	t, err := object.GetTree(s.objects, s.tree)
	if err != nil {
		return false
	}
	for _, part := range strings.Split(dir, "/") {
		e := findEntry(t, part)
		if e == nil || e.Mode != filemode.Dir {
			return false
		}
		if t, err = object.GetTree(s.objects, e.Hash); err != nil {
			return false
		}
	}
	return true
}

// tamperRun collects the flags of one comparison.
type tamperRun struct {
	cand, base *Snapshot
	scope      map[string][]string // Go package folder -> task ids; a "/..." suffix is a subtree
	hidden     map[string][]string // hidden file path -> task ids
	pkgs       map[pkgKey]*pkgDelta
	caps       capScan
	flags      []TamperFlag
}

func (r *tamperRun) flag(kind, pth, task, detail string) {
	r.flags = append(r.flags, TamperFlag{Kind: kind, Path: displayPath(pth), Task: task, Detail: detail})
}

// check flags one changed path.
func (r *tamperRun) check(c treeChange) error {
	p := c.path
	base := path.Base(p)
	what := changeVerb(c)
	if isTestPath(p) {
		detail := "test file " + what
		if ids := r.hidden[p]; len(ids) > 0 {
			detail += "; grading puts the hidden file of " + strings.Join(ids, ", ") + " here instead"
		}
		r.flag(TamperTestFile, p, oneTask(r.hidden[p]), detail)
	}
	if isCIPath(p) {
		r.flag(TamperCI, p, "", "CI configuration "+what)
	}
	switch {
	case isMakefile(base):
		r.flag(TamperBuildFile, p, "", "Makefile "+what)
	case base == "go.work" || base == "go.work.sum":
		r.flag(TamperBuildFile, p, "", base+" "+what+"; workspaces change which code a package builds with")
	case base == ".npmrc" || base == ".yarnrc" || base == ".yarnrc.yml" || base == ".pnpmfile.cjs":
		r.flag(TamperBuildFile, p, "", "package manager configuration "+what)
	case base == "go.mod":
		if err := r.checkGoMod(c); err != nil {
			return err
		}
	case base == "package.json":
		if err := r.checkPackageJSON(c); err != nil {
			return err
		}
	}
	if strings.HasSuffix(base, ".go") {
		return r.checkGo(c)
	}
	return nil
}

// changeVerb says how an entry changed: "added", "deleted", "modified"...
func changeVerb(c treeChange) string {
	switch {
	case !c.base.present() && c.cand.mode == filemode.Symlink:
		return "added as a symlink"
	case !c.base.present() && c.cand.mode == filemode.Submodule:
		return "added as a submodule"
	case !c.base.present():
		return "added"
	case !c.cand.present():
		return "deleted"
	case c.cand.mode == c.base.mode:
		return "modified"
	case c.cand.mode == filemode.Symlink:
		return "replaced by a symlink"
	case c.cand.mode == filemode.Submodule:
		return "replaced by a submodule"
	case c.cand.regular() && c.base.regular() && c.cand.hash == c.base.hash:
		return "changed mode (executable bit)"
	case c.cand.regular() && c.base.regular():
		return "modified, mode changed"
	}
	return "changed type"
}

// read reads a regular file's content for parsing. big is true, and
// data nil, when the file is over TamperParseBytes.
func (r *tamperRun) read(s *Snapshot, e treeEntry) (data []byte, size int64, big bool, err error) {
	obj, err := s.objects.EncodedObject(plumbing.BlobObject, e.hash)
	if err != nil {
		return nil, 0, false, fmt.Errorf("compare with the base: blob %s of %s: %w", e.hash, s.Commit, err)
	}
	if obj.Size() > TamperParseBytes {
		return nil, obj.Size(), true, nil
	}
	rd, err := obj.Reader()
	if err != nil {
		return nil, 0, false, fmt.Errorf("compare with the base: blob %s of %s: %w", e.hash, s.Commit, err)
	}
	defer rd.Close()
	data, err = io.ReadAll(io.LimitReader(rd, TamperParseBytes))
	if err != nil {
		return nil, 0, false, fmt.Errorf("compare with the base: blob %s of %s: %w", e.hash, s.Commit, err)
	}
	return data, obj.Size(), false, nil
}

// bothSides reads the two versions of a changed regular file; a side that
// is absent or not a regular file reads as nil. big names a side over the
// parse limit, with its size.
func (r *tamperRun) bothSides(c treeChange) (cand, base []byte, big string, err error) {
	for _, side := range []struct {
		s   *Snapshot
		e   treeEntry
		out *[]byte
		who string
	}{{r.cand, c.cand, &cand, "the candidate's"}, {r.base, c.base, &base, "the base's"}} {
		if !side.e.regular() {
			continue
		}
		data, size, tooBig, err := r.read(side.s, side.e)
		if err != nil {
			return nil, nil, "", err
		}
		if tooBig {
			return nil, nil, fmt.Sprintf("%s is %s, over the %s parse limit", side.who, sizeString(size), sizeString(TamperParseBytes)), nil
		}
		if data == nil {
			data = []byte{}
		}
		*side.out = data
	}
	return cand, base, "", nil
}

// capFlags sorts flags by path, then kind, then detail, and keeps at most
// TamperFlagsPerKind of each kind; one last flag per kind counts the rest.
func capFlags(flags []TamperFlag) []TamperFlag {
	slices.SortStableFunc(flags, func(a, b TamperFlag) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Detail, b.Detail)
	})
	kept := flags[:0:0]
	count := map[string]int{}
	for _, f := range flags {
		count[f.Kind]++
		if count[f.Kind] <= TamperFlagsPerKind {
			kept = append(kept, f)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(count)) {
		if n := count[k] - TamperFlagsPerKind; n > 0 {
			kept = append(kept, TamperFlag{Kind: k, Detail: fmt.Sprintf("%d more findings of this kind not listed", n)})
		}
	}
	return kept
}
