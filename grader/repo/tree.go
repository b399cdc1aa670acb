package repo

import (
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Hash names a git object of a snapshot. The zero Hash names nothing.
type Hash [20]byte

// IsZero reports whether h is the zero Hash.
func (h Hash) IsZero() bool { return h == Hash{} }

// String returns h in hex.
func (h Hash) String() string { return plumbing.Hash(h).String() }

// Mode is the git mode of a tree entry.
type Mode uint32

// The modes a tree entry can have.
const (
	ModeNone       Mode = 0
	ModeDir        Mode = Mode(filemode.Dir)
	ModeRegular    Mode = Mode(filemode.Regular)
	ModeDeprecated Mode = Mode(filemode.Deprecated)
	ModeExecutable Mode = Mode(filemode.Executable)
	ModeSymlink    Mode = Mode(filemode.Symlink)
	ModeSubmodule  Mode = Mode(filemode.Submodule)
)

// Regular reports whether m is a regular file, executable or not.
func (m Mode) Regular() bool {
	return m == ModeRegular || m == ModeExecutable || m == ModeDeprecated
}

// Entry is one entry of a tree. The zero Entry is an absent one.
type Entry struct {
	Name string
	Mode Mode
	Hash Hash
}

// Root returns the hash of the snapshot's root tree.
func (s *Snapshot) Root() Hash { return Hash(s.tree) }

// Entries returns the entries of the tree h, in the tree's order; duplicate
// names, which a hostile tree can hold, are all returned. The zero hash
// is an empty tree.
func (s *Snapshot) Entries(h Hash) ([]Entry, error) {
	if h.IsZero() {
		return nil, nil
	}
	t, err := object.GetTree(s.objects, plumbing.Hash(h))
	if err != nil {
		return nil, fmt.Errorf("read tree %s of %s: %w", h, s.Commit, err)
	}
	out := make([]Entry, len(t.Entries))
	for i, e := range t.Entries {
		out[i] = Entry{Name: e.Name, Mode: Mode(e.Mode), Hash: Hash(e.Hash)}
	}
	return out, nil
}

// TreeAt returns the entries of the folder dir ("." or "" for the root).
// A path that is not a folder of the tree returns ErrNotExist.
func (s *Snapshot) TreeAt(dir string) ([]Entry, error) {
	if dir == "." || dir == "" {
		return s.Entries(s.Root())
	}
	e, err := s.Lookup(dir)
	if err != nil {
		return nil, err
	}
	if e.Mode != ModeDir {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotExist)
	}
	return s.Entries(e.Hash)
}

// HasDir reports whether the tree has a folder at dir.
func (s *Snapshot) HasDir(dir string) bool {
	e, err := s.Lookup(dir)
	return err == nil && e.Mode == ModeDir
}

// Lookup returns the entry at the slash path name, without following
// symlinks; where a tree holds a name twice, the first wins, as in a
// workspace. A path the tree does not have returns ErrNotExist.
func (s *Snapshot) Lookup(name string) (Entry, error) {
	t, err := object.GetTree(s.objects, s.tree)
	if err != nil {
		return Entry{}, err
	}
	parts := strings.Split(name, "/")
	for i, part := range parts {
		e := findEntry(t, part)
		if e == nil {
			return Entry{}, fmt.Errorf("%s: %w", name, ErrNotExist)
		}
		if i == len(parts)-1 {
			return Entry{Name: e.Name, Mode: Mode(e.Mode), Hash: Hash(e.Hash)}, nil
		}
		if e.Mode != filemode.Dir {
			return Entry{}, fmt.Errorf("%s: %w", name, ErrNotExist)
		}
		if t, err = object.GetTree(s.objects, e.Hash); err != nil {
			return Entry{}, err
		}
	}
	return Entry{}, fmt.Errorf("%s: %w", name, ErrNotExist)
}

// ReadBlob reads the blob h when it is at most max bytes; over that, data
// is nil and size says how big it is.
func (s *Snapshot) ReadBlob(h Hash, max int64) (data []byte, size int64, err error) {
	obj, err := s.objects.EncodedObject(plumbing.BlobObject, plumbing.Hash(h))
	if err != nil {
		return nil, 0, fmt.Errorf("blob %s of %s: %w", h, s.Commit, err)
	}
	if obj.Size() > max {
		return nil, obj.Size(), nil
	}
	rd, err := obj.Reader()
	if err != nil {
		return nil, 0, fmt.Errorf("blob %s of %s: %w", h, s.Commit, err)
	}
	defer rd.Close()
	data, err = io.ReadAll(io.LimitReader(rd, max))
	if err != nil {
		return nil, 0, fmt.Errorf("blob %s of %s: %w", h, s.Commit, err)
	}
	return data, obj.Size(), nil
}

// LinkTarget reads the target of the symlink whose blob is h; ok is
// false for a target no workspace would hold (empty, too long, NUL or
// not UTF-8).
func (s *Snapshot) LinkTarget(h Hash) (target string, ok bool, err error) {
	return (&plan{s: s}).linkTarget(plumbing.Hash(h))
}

// maxAncestry bounds the walk of a graded commit's history.
const maxAncestry = 100_000

// MergeBase returns base when it is the snapshot's commit or an ancestor
// of it that the objects fetched name, else "". A shallow fetch holds the
// graded commit but none of its parents: the walk then sees the parents'
// hashes and stops.
func (s *Snapshot) MergeBase(base string) string {
	if base == "" || s.objects == nil {
		return ""
	}
	if s.Commit == base {
		return base
	}
	want := plumbing.NewHash(base)
	seen := map[plumbing.Hash]bool{}
	queue := []plumbing.Hash{plumbing.NewHash(s.Commit)}
	for len(queue) > 0 && len(seen) < maxAncestry {
		h := queue[0]
		queue = queue[1:]
		if seen[h] {
			continue
		}
		seen[h] = true
		c, err := object.GetCommit(s.objects, h)
		if err != nil {
			continue // not fetched: the history ends here
		}
		for _, p := range c.ParentHashes {
			if p == want {
				return base
			}
			queue = append(queue, p)
		}
	}
	return ""
}
