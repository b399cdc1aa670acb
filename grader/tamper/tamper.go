package tamper

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/bytesize"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// Bounds of Scan.
const (
	// ParseBytes is the largest file Scan reads to look
	// inside it (Go sources, go.mod, package.json). A larger file is
	// flagged as not checked.
	ParseBytes = 1 << 20
	// FlagsPerKind bounds the flags of one kind; the rest are
	// counted in one last flag of that kind.
	FlagsPerKind = 100
	// tamperMaxEntries bounds the tree entries compared, over both trees.
	tamperMaxEntries = 2 * repo.DefaultTarEntries
)

// Scan compares the candidate's tree with the base's and returns
// what a proctor should review: changed test files, test helpers and
// testdata; changed build files (Makefiles, replace directives in go.mod,
// go.work, package.json scripts, vendored code); changed CI
// configuration; added or changed build constraints in Go files; and new
// TestMain or init functions in the Go packages the bank's tasks test.
// The flags never change a score on their own.
//
// Only entries that differ are visited: subtrees with the same hash are
// skipped, and files over ParseBytes are not parsed (the flag says
// so). The flags are sorted by path, then kind. The error means the trees
// could not be read, or are too large to compare.
func Scan(ctx context.Context, cand, base *repo.Snapshot, bank *tasks.Bank) ([]report.TamperFlag, error) {
	if cand == nil || base == nil {
		return nil, errors.New("tamper report: the candidate's and the base's snapshots are both required")
	}
	d := &treeDiff{cand: cand, base: base}
	if err := d.diff(cand.Root(), base.Root(), ""); err != nil {
		return nil, err
	}
	r := &tamperRun{cand: cand, base: base, scope: goScope(bank), hidden: hiddenPaths(bank), pkgs: map[pkgKey]*pkgDelta{}}
	for _, c := range d.changes {
		r.caps.note(c)
	}
	if len(r.caps.rego) > 0 {
		r.rego = regoTestsOf(base, bank)
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
		r.flag(report.TamperBuildFile, root, "", vendors[root].detail(base.HasDir(root)))
	}
	r.flagPackages()
	if err := r.caps.run(ctx, r); err != nil {
		return nil, err
	}
	if len(r.caps.results) > 0 {
		gomod, _ := base.ReadFile("go.mod")
		rc := computeReach(cand, modulePath(gomod), bank)
		for _, f := range r.caps.results {
			r.flags = append(r.flags, report.TamperFlag{Kind: f.Kind, Path: displayPath(f.path), Line: f.Line, Detail: f.Detail, Reached: rc.reachedBy(f.path)})
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
	hash repo.Hash
	mode repo.Mode
}

func (e treeEntry) present() bool { return e.mode != repo.ModeNone }

func (e treeEntry) regular() bool { return e.mode.Regular() }

// treeChange is a path whose entry differs between the two trees.
type treeChange struct {
	path       string
	cand, base treeEntry
}

// treeDiff lists the changes between two trees.
type treeDiff struct {
	cand, base *repo.Snapshot
	changes    []treeChange
	visited    int
}

// diff compares the candidate's tree ch with the base's tree bh, both at
// dir; a zero hash is a missing folder.
func (d *treeDiff) diff(ch, bh repo.Hash, dir string) error {
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
			return fmt.Errorf("%w: comparing %s with the base: over %d changed entries", repo.ErrTooLarge, d.cand.Commit, tamperMaxEntries)
		}
		c, b := ce[name], be[name]
		p := name
		if dir != "" {
			p = dir + "/" + name
		}
		var cdir, bdir repo.Hash
		if c.mode == repo.ModeDir {
			cdir, c = c.hash, treeEntry{}
		}
		if b.mode == repo.ModeDir {
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
func (d *treeDiff) entries(s *repo.Snapshot, h repo.Hash, dir string) (map[string]treeEntry, error) {
	es, err := s.Entries(h)
	if err != nil {
		return nil, fmt.Errorf("compare with the base: at %q: %w", dir, err)
	}
	m := make(map[string]treeEntry, len(es))
	for _, e := range es {
		if _, dup := m[e.Name]; !dup {
			m[e.Name] = treeEntry{hash: e.Hash, mode: e.Mode}
		}
	}
	return m, nil
}

// tamperRun collects the flags of one comparison.
type tamperRun struct {
	cand, base *repo.Snapshot
	scope      map[string][]string // Go package folder -> task ids; a "/..." suffix is a subtree
	hidden     map[string][]string // hidden file path -> task ids
	pkgs       map[pkgKey]*pkgDelta
	caps       capScan
	rego       regoTests // the bank's hidden Rego tests
	flags      []report.TamperFlag
}

func (r *tamperRun) flag(kind report.TamperKind, pth, task, detail string) {
	r.flags = append(r.flags, report.TamperFlag{Kind: kind, Path: displayPath(pth), Task: task, Detail: detail})
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
		r.flag(report.TamperTestFile, p, oneTask(r.hidden[p]), detail)
	}
	if isCIPath(p) {
		r.flag(report.TamperCI, p, "", "CI configuration "+what)
	}
	switch {
	case isMakefile(base):
		r.flag(report.TamperBuildFile, p, "", "Makefile "+what)
	case base == "go.work" || base == "go.work.sum":
		r.flag(report.TamperBuildFile, p, "", base+" "+what+"; workspaces change which code a package builds with")
	case base == ".npmrc" || base == ".yarnrc" || base == ".yarnrc.yml" || base == ".pnpmfile.cjs":
		r.flag(report.TamperBuildFile, p, "", "package manager configuration "+what)
	case slices.Contains(lockfiles, base):
		r.flag(report.TamperBuildFile, p, "", "lockfile "+what+"; grading installs the base commit's packages")
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
	case !c.base.present() && c.cand.mode == repo.ModeSymlink:
		return "added as a symlink"
	case !c.base.present() && c.cand.mode == repo.ModeSubmodule:
		return "added as a submodule"
	case !c.base.present():
		return "added"
	case !c.cand.present():
		return "deleted"
	case c.cand.mode == c.base.mode:
		return "modified"
	case c.cand.mode == repo.ModeSymlink:
		return "replaced by a symlink"
	case c.cand.mode == repo.ModeSubmodule:
		return "replaced by a submodule"
	case c.cand.regular() && c.base.regular() && c.cand.hash == c.base.hash:
		return "changed mode (executable bit)"
	case c.cand.regular() && c.base.regular():
		return "modified, mode changed"
	}
	return "changed type"
}

// read reads a regular file's content for parsing. big is true, and
// data nil, when the file is over ParseBytes.
func (r *tamperRun) read(s *repo.Snapshot, e treeEntry) (data []byte, size int64, big bool, err error) {
	data, size, err = s.ReadBlob(e.hash, ParseBytes)
	if err != nil {
		return nil, 0, false, fmt.Errorf("compare with the base: %w", err)
	}
	return data, size, data == nil, nil
}

// bothSides reads the two versions of a changed regular file; a side that
// is absent or not a regular file reads as nil. big names a side over the
// parse limit, with its size.
func (r *tamperRun) bothSides(c treeChange) (cand, base []byte, big string, err error) {
	for _, side := range []struct {
		s   *repo.Snapshot
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
			return nil, nil, fmt.Sprintf("%s is %s, over the %s parse limit", side.who, bytesize.Format(size), bytesize.Format(ParseBytes)), nil
		}
		if data == nil {
			data = []byte{}
		}
		*side.out = data
	}
	return cand, base, "", nil
}

// capFlags sorts flags by path, then kind, then detail, and keeps at most
// FlagsPerKind of each kind; one last flag per kind counts the rest.
func capFlags(flags []report.TamperFlag) []report.TamperFlag {
	slices.SortStableFunc(flags, func(a, b report.TamperFlag) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Detail, b.Detail)
	})
	kept := flags[:0:0]
	count := map[report.TamperKind]int{}
	for _, f := range flags {
		count[f.Kind]++
		if count[f.Kind] <= FlagsPerKind {
			kept = append(kept, f)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(count)) {
		if n := count[k] - FlagsPerKind; n > 0 {
			kept = append(kept, report.TamperFlag{Kind: k, Detail: fmt.Sprintf("%d more findings of this kind not listed", n)})
		}
	}
	return kept
}
