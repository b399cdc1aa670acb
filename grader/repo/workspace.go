package repo

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cmcgrader/cmcgrader/internal/bytesize"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Workspace defaults, used for zero TarLimits fields.
const (
	DefaultTarEntries   = 100_000
	DefaultTarBytes     = 512 << 20
	DefaultTarFileBytes = 100 << 20
)

// Workspace tar constants. Every entry has the same owner and the same
// time (2000-01-01 UTC), so the same inputs give the same bytes.
const (
	// WorkspaceUID and WorkspaceGID own every entry of a workspace tar.
	WorkspaceUID, WorkspaceGID = 1000, 1000
	// maxSkippedListed bounds WorkspaceStats.Skipped.
	maxSkippedListed = 1000
	// maxPath and maxName are Linux's PATH_MAX (less the NUL) and NAME_MAX.
	maxPath, maxName = 4095, 255
)

// workspaceTime is the modification time of every entry of a workspace
// tar.
var workspaceTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Overlay is what the grader puts over the candidate's tree. Paths are
// slash-separated and relative to the repository root. An overlay file
// replaces whatever the candidate has at its path (a file, a symlink or a
// whole directory) and any candidate file or symlink where one of its
// parent directories goes.
type Overlay struct {
	// Hidden are a task's hidden files: path -> content (nil is an empty
	// file). They win over Restore and Remove.
	Hidden map[string][]byte
	// Restore are protected files from the base commit: path -> content.
	// A nil content means the base has no such file, so the candidate's
	// is removed.
	Restore map[string][]byte
	// Remove are paths deleted from the candidate's tree (a directory
	// with everything under it).
	Remove []string
}

// WithHidden returns a copy of ov whose hidden files also hold files.
func (ov Overlay) WithHidden(files map[string][]byte) Overlay {
	hidden := maps.Clone(ov.Hidden)
	if hidden == nil {
		hidden = make(map[string][]byte, len(files))
	}
	maps.Copy(hidden, files)
	ov.Hidden = hidden
	return ov
}

// WithRestored returns a copy of ov that also restores files, under the
// ones it restores already.
func (ov Overlay) WithRestored(files map[string][]byte) Overlay {
	if len(files) == 0 {
		return ov
	}
	restore := maps.Clone(files)
	maps.Copy(restore, ov.Restore)
	ov.Restore = restore
	return ov
}

// TarLimits bounds a workspace. Zero fields take the defaults; passing a
// limit gives an error wrapping ErrTooLarge.
type TarLimits struct {
	// MaxEntries bounds files, symlinks and directories together (every
	// tree entry visited counts, so repeated subtrees cannot blow up);
	// zero means DefaultTarEntries.
	MaxEntries int
	// MaxBytes bounds the total size of the files; zero means
	// DefaultTarBytes.
	MaxBytes int64
	// MaxFileBytes bounds one file; zero means DefaultTarFileBytes.
	MaxFileBytes int64
}

func (l TarLimits) withDefaults() TarLimits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultTarEntries
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultTarBytes
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultTarFileBytes
	}
	return l
}

// WorkspaceStats describes a workspace tar, for reports. Skipped paths may
// name where hidden files go: show them to proctors, not candidates.
type WorkspaceStats struct {
	// Files counts regular files and symlinks written.
	Files int
	// Dirs counts directories written.
	Dirs int
	// Bytes is the total size of the files written.
	Bytes int64
	// Skipped lists candidate entries left out, sorted by path, at most
	// 1000 of them.
	Skipped []Skipped
	// SkippedTotal counts every entry left out.
	SkippedTotal int
}

// Skipped is one candidate entry left out of a workspace.
type Skipped struct {
	// Path is the entry's path, Go-quoted when the name is not printable
	// UTF-8.
	Path string
	// Reason says why it was left out.
	Reason SkipReason
}

// String returns "path: reason".
func (s Skipped) String() string { return s.Path + ": " + string(s.Reason) }

// SkipReason says why a candidate entry was left out of a workspace.
type SkipReason string

// The reasons an entry is left out.
const (
	SkipAbsoluteSymlink SkipReason = "symlink to an absolute path"
	SkipEscapingSymlink SkipReason = "symlink that may point outside the repository"
	SkipBadSymlink      SkipReason = "symlink with an invalid target"
	SkipSubmodule       SkipReason = "submodule (gitlink)"
	SkipGitDir          SkipReason = "entry named .git"
	SkipBadName         SkipReason = "invalid file name"
	SkipLongPath        SkipReason = "path too long"
	SkipDuplicate       SkipReason = "duplicate tree entry"
	SkipBadMode         SkipReason = "unsupported file mode"
	SkipOverlay         SkipReason = "replaced by a grader file"
)

type nodeKind uint8

const (
	kindDir nodeKind = iota
	kindFile
	kindExec
	kindSymlink
)

// node is one entry of the workspace being planned.
type node struct {
	kind    nodeKind
	blob    plumbing.Hash // candidate content, when data is nil
	data    []byte        // overlay content
	overlay bool          // put by the overlay
	size    int64
	target  string // symlink target
}

// plan is the workspace's entries by path, before writing.
type plan struct {
	s       *Snapshot
	lim     TarLimits
	nodes   map[string]*node
	links   map[string]bool // every candidate symlink, kept or not
	visited int
	stats   WorkspaceStats
}

// WriteTar writes the snapshot's tree with ov applied to w as a tar
// stream, built from the git objects (nothing is checked out). Entries
// come in path order with fixed owner, modes and times, so the same
// inputs give the same bytes. Candidate entries that are unsafe or cannot
// be represented are left out and listed in the stats; passing a limit
// gives an error wrapping ErrTooLarge before anything is written. On error
// the stats are zero.
func (s *Snapshot) WriteTar(w io.Writer, ov Overlay, lim TarLimits) (WorkspaceStats, error) {
	p, names, err := s.plan(ov, lim)
	if err != nil {
		return WorkspaceStats{}, err
	}
	if err := p.write(w, names); err != nil {
		return WorkspaceStats{}, err
	}
	p.finishStats()
	return p.stats, nil
}

// Check plans the workspace as WriteTar does and returns the same stats
// and errors, without reading the files' contents: it rejects a hostile
// tree (too large, too many entries) before any sandbox starts, at the
// cost of reading trees and object headers only.
func (s *Snapshot) Check(ov Overlay, lim TarLimits) (WorkspaceStats, error) {
	p, _, err := s.plan(ov, lim)
	if err != nil {
		return WorkspaceStats{}, err
	}
	p.finishStats()
	return p.stats, nil
}

// plan lays out the workspace: the tree's entries, unsafe links dropped,
// ov applied and the limits checked. names are the entries in the order
// they are written.
func (s *Snapshot) plan(ov Overlay, lim TarLimits) (*plan, []string, error) {
	p := &plan{s: s, lim: lim.withDefaults(), nodes: map[string]*node{}, links: map[string]bool{}}
	if err := p.walk(s.tree, ""); err != nil {
		return nil, nil, err
	}
	p.checkSymlinks()
	if err := p.apply(ov); err != nil {
		return nil, nil, err
	}
	names, err := p.check()
	if err != nil {
		return nil, nil, err
	}
	return p, names, nil
}

// skip notes an entry left out. There are at most MaxEntries of them;
// finishStats sorts and trims the list.
func (p *plan) skip(pth string, r SkipReason) {
	p.stats.Skipped = append(p.stats.Skipped, Skipped{Path: pth, Reason: r})
}

func (p *plan) tooMany() error {
	return fmt.Errorf("%w: workspace of %s has over %d entries", ErrTooLarge, p.s.Commit, p.lim.MaxEntries)
}

// walk adds the entries of tree h, found at dir, to the plan.
func (p *plan) walk(h plumbing.Hash, dir string) error {
	tree, err := object.GetTree(p.s.objects, h)
	if err != nil {
		return fmt.Errorf("workspace: read tree %s at %q: %w", h, dir, err)
	}
	seen := make(map[string]bool, len(tree.Entries))
	for _, e := range tree.Entries {
		p.visited++
		if p.visited > p.lim.MaxEntries {
			return p.tooMany()
		}
		pth := e.Name
		if dir != "" {
			pth = dir + "/" + e.Name
		}
		switch {
		case !validName(e.Name):
			p.skip(strconv.Quote(pth), SkipBadName)
			continue
		case strings.EqualFold(e.Name, ".git"):
			p.skip(pth, SkipGitDir)
			continue
		case seen[e.Name]:
			p.skip(pth, SkipDuplicate)
			continue
		case len(pth) > maxPath:
			p.skip(pth, SkipLongPath)
			continue
		}
		seen[e.Name] = true
		switch e.Mode {
		case filemode.Dir:
			p.nodes[pth] = &node{kind: kindDir}
			if err := p.walk(e.Hash, pth); err != nil {
				return err
			}
		case filemode.Regular, filemode.Deprecated, filemode.Executable:
			size, err := p.s.objects.EncodedObjectSize(e.Hash)
			if err != nil {
				return fmt.Errorf("workspace: %s: blob %s: %w", pth, e.Hash, err)
			}
			kind := kindFile
			if e.Mode == filemode.Executable {
				kind = kindExec
			}
			p.nodes[pth] = &node{kind: kind, blob: e.Hash, size: size}
		case filemode.Symlink:
			p.links[pth] = true
			target, ok, err := p.linkTarget(e.Hash)
			if err != nil {
				return fmt.Errorf("workspace: %s: %w", pth, err)
			}
			if !ok {
				p.skip(pth, SkipBadSymlink)
				continue
			}
			p.nodes[pth] = &node{kind: kindSymlink, target: target}
		case filemode.Submodule:
			p.skip(pth, SkipSubmodule)
		default:
			p.skip(pth, SkipBadMode)
		}
	}
	return nil
}

// linkTarget reads a symlink's target; ok is false when it cannot be one.
func (p *plan) linkTarget(h plumbing.Hash) (target string, ok bool, err error) {
	obj, err := p.s.objects.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return "", false, fmt.Errorf("blob %s: %w", h, err)
	}
	if obj.Size() == 0 || obj.Size() > maxPath {
		return "", false, nil
	}
	r, err := obj.Reader()
	if err != nil {
		return "", false, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxPath))
	if err != nil {
		return "", false, err
	}
	t := string(b)
	if strings.IndexByte(t, 0) >= 0 || !utf8.ValidString(t) {
		return "", false, nil
	}
	return t, true, nil
}

// checkSymlinks drops the symlinks that could resolve outside the tree.
// A target must be relative, and walking it from the link's folder must
// never go above the root nor go up ("..") out of another symlink, whose
// real place is elsewhere.
func (p *plan) checkSymlinks() {
	for pth, n := range p.nodes {
		if n.kind != kindSymlink {
			continue
		}
		if strings.HasPrefix(n.target, "/") {
			delete(p.nodes, pth)
			p.skip(pth, SkipAbsoluteSymlink)
			continue
		}
		if !p.linkStaysInside(path.Dir(pth), n.target) {
			delete(p.nodes, pth)
			p.skip(pth, SkipEscapingSymlink)
		}
	}
}

func (p *plan) linkStaysInside(dir, target string) bool {
	var stack []string
	if dir != "." {
		stack = strings.Split(dir, "/")
	}
	// Once the walk has passed through a symlink, the folder it is in
	// is not the one the stack names (a/l1/a/l1 is the root when a/l1
	// points to ..), so no ".." after that can be checked.
	through := false
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
		case "..":
			if len(stack) == 0 || through {
				return false
			}
			stack = stack[:len(stack)-1]
		default:
			stack = append(stack, c)
			through = through || p.links[strings.Join(stack, "/")]
		}
	}
	return true
}

// apply puts the overlay over the candidate's entries: removals, then
// restored files, then hidden files.
func (p *plan) apply(ov Overlay) error {
	type op struct {
		path string
		data []byte
		del  bool
	}
	var ops []op
	for _, r := range slices.Sorted(slices.Values(ov.Remove)) {
		ops = append(ops, op{path: r, del: true})
	}
	for _, k := range sortedKeys(ov.Restore) {
		if _, hidden := ov.Hidden[k]; !hidden {
			ops = append(ops, op{path: k, data: ov.Restore[k], del: ov.Restore[k] == nil})
		}
	}
	for _, k := range sortedKeys(ov.Hidden) {
		data := ov.Hidden[k]
		if data == nil {
			data = []byte{}
		}
		ops = append(ops, op{path: k, data: data})
	}
	for _, o := range ops {
		if err := checkOverlayPath(o.path); err != nil {
			return err
		}
		if err := p.clear(o.path); err != nil {
			return err
		}
		if o.del {
			continue
		}
		if err := p.makeParents(o.path); err != nil {
			return err
		}
		p.nodes[o.path] = &node{kind: kindFile, data: o.data, size: int64(len(o.data)), overlay: true}
	}
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkOverlayPath rejects overlay paths that are not plain relative
// paths of valid names.
func checkOverlayPath(pth string) error {
	if !fs.ValidPath(pth) || pth == "." || len(pth) > maxPath {
		return fmt.Errorf("workspace: overlay path %q: not a clean relative path", pth)
	}
	for _, c := range strings.Split(pth, "/") {
		if !validName(c) || strings.EqualFold(c, ".git") {
			return fmt.Errorf("workspace: overlay path %q: invalid name %q", pth, c)
		}
	}
	return nil
}

// clear removes what is at pth: a file, a symlink, or a directory and all
// under it. Removing an overlay directory is a conflict in the overlay.
func (p *plan) clear(pth string) error {
	n, ok := p.nodes[pth]
	if !ok {
		return nil
	}
	if n.kind == kindDir {
		prefix := pth + "/"
		for k, c := range p.nodes {
			if strings.HasPrefix(k, prefix) && c.overlay {
				return fmt.Errorf("workspace: overlay path %s is a folder of overlay file %s", pth, k)
			}
		}
		for k := range p.nodes {
			if strings.HasPrefix(k, prefix) {
				delete(p.nodes, k)
			}
		}
	}
	delete(p.nodes, pth)
	if !n.overlay && (n.kind == kindDir || n.kind == kindSymlink) {
		p.skip(pth, SkipOverlay)
	}
	return nil
}

// makeParents makes every parent of pth a directory, dropping candidate
// files and symlinks in the way.
func (p *plan) makeParents(pth string) error {
	for i := 0; i < len(pth); i++ {
		if pth[i] != '/' {
			continue
		}
		dir := pth[:i]
		n, ok := p.nodes[dir]
		switch {
		case !ok:
			p.nodes[dir] = &node{kind: kindDir, overlay: true}
		case n.kind == kindDir:
		case n.overlay:
			return fmt.Errorf("workspace: overlay file %s is in the way of overlay file %s", dir, pth)
		default:
			delete(p.nodes, dir)
			p.skip(dir, SkipOverlay)
			p.nodes[dir] = &node{kind: kindDir, overlay: true}
		}
	}
	return nil
}

// check applies the limits and returns the paths in write order.
func (p *plan) check() ([]string, error) {
	if len(p.nodes) > p.lim.MaxEntries {
		return nil, p.tooMany()
	}
	names := make([]string, 0, len(p.nodes))
	for k := range p.nodes {
		names = append(names, k)
	}
	// Byte order puts a folder before everything under it.
	slices.Sort(names)
	var total int64
	for _, k := range names {
		n := p.nodes[k]
		if n.kind != kindFile && n.kind != kindExec {
			continue
		}
		if n.size > p.lim.MaxFileBytes {
			return nil, fmt.Errorf("%w: workspace of %s: %s is %s, over the %s file limit", ErrTooLarge, p.s.Commit, k, bytesize.Format(n.size), bytesize.Format(p.lim.MaxFileBytes))
		}
		total += n.size
	}
	if total > p.lim.MaxBytes {
		return nil, fmt.Errorf("%w: workspace of %s is %s, over the %s limit", ErrTooLarge, p.s.Commit, bytesize.Format(total), bytesize.Format(p.lim.MaxBytes))
	}
	return names, nil
}

func (p *plan) finishStats() {
	slices.SortFunc(p.stats.Skipped, func(a, b Skipped) int { return strings.Compare(a.Path, b.Path) })
	p.stats.SkippedTotal = len(p.stats.Skipped)
	if len(p.stats.Skipped) > maxSkippedListed {
		p.stats.Skipped = slices.Clip(p.stats.Skipped[:maxSkippedListed])
	}
	for _, n := range p.nodes {
		switch n.kind {
		case kindDir:
			p.stats.Dirs++
		case kindSymlink:
			p.stats.Files++
		default:
			p.stats.Files++
			p.stats.Bytes += n.size
		}
	}
}

// write streams the entries to w.
func (p *plan) write(w io.Writer, names []string) error {
	tw := tar.NewWriter(w)
	for _, name := range names {
		n := p.nodes[name]
		hdr := &tar.Header{
			Name:    name,
			ModTime: workspaceTime,
			Uid:     WorkspaceUID,
			Gid:     WorkspaceGID,
		}
		switch n.kind {
		case kindDir:
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
		case kindSymlink:
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, n.target, 0o777
		case kindExec:
			hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, n.size, 0o755
		default:
			hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, n.size, 0o644
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("workspace: %s: %w", name, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if err := p.writeContent(tw, name, n); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	return nil
}

func (p *plan) writeContent(w io.Writer, name string, n *node) error {
	if n.overlay {
		if _, err := w.Write(n.data); err != nil {
			return fmt.Errorf("workspace: %s: %w", name, err)
		}
		return nil
	}
	obj, err := p.s.objects.EncodedObject(plumbing.BlobObject, n.blob)
	if err != nil {
		return fmt.Errorf("workspace: %s: blob %s: %w", name, n.blob, err)
	}
	r, err := obj.Reader()
	if err != nil {
		return fmt.Errorf("workspace: %s: %w", name, err)
	}
	defer r.Close()
	if _, err := io.CopyN(w, r, n.size); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("workspace: %s: %w", name, err)
	}
	return nil
}

// InWorkspace reports whether a workspace would hold a file at the slash
// path p: every name of it valid (see validName).
func InWorkspace(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if !validName(part) {
			return false
		}
	}
	return true
}

// validName reports whether a tree entry name can be a file name in the
// workspace: not empty, . or .., no slash or NUL, printable UTF-8, at
// most NAME_MAX bytes.
func validName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > maxName || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r == '/' || unicode.IsControl(r) {
			return false
		}
	}
	return true
}
