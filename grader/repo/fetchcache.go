package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/internal/flock"
)

// FetchCache keeps, in a folder on disk, a bare mirror of each upstream
// repository the grader fetched a base from (every branch, full history,
// no tags). A candidate's fetch then tells the server which upstream
// commits the grader already has, so only the fork's own objects cross
// the network; those are read from the fetch's own pack, never added to
// the mirror (FetchOptions.Upstream). A mirror only
// ever holds objects fetched from the upstream URL, never a candidate's.
// Several processes may share the folder: updates take a file lock.
type FetchCache struct {
	dir string
}

// OpenFetchCache opens (creating it if needed) the cache folder dir.
func OpenFetchCache(dir string) (*FetchCache, error) {
	if strings.TrimSpace(dir) == "" {
		return nil, errors.New("fetch cache: empty folder name; give a folder such as ~/.cache/cmcgrader")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fetch cache %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("fetch cache: %w; give a folder the grader can write", err)
	}
	return &FetchCache{dir: abs}, nil
}

// Mirror is an up-to-date mirror of one upstream repository, opened
// read-only for fetches. It is safe for concurrent use.
type Mirror struct {
	// URL is the upstream repository.
	URL string
	// Dir is the bare repository on disk.
	Dir string
	// FetchedBytes is the size of the pack the last Update received (0
	// when the mirror was up to date).
	FetchedBytes int64

	mu    sync.Mutex // guards store: go-git's file storage is not safe for concurrent use
	store *filesystem.Storage
	refs  []*plumbing.Reference // upstream branches, as of the update
}

// objectCacheBytes bounds the decoded objects a mirror, or a fetched
// pack, keeps in memory (go-git's default is 96 MiB, half the grader's
// memory budget).
const objectCacheBytes = 32 * cache.MiByte

// Close releases the mirror's open pack files. A closed mirror must not
// be used.
func (m *Mirror) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.store.Close()
}

// mirrorPrefix is where a fetch's storage shows a mirror's branches, so
// that go-git offers their tips as commits the grader has.
const mirrorPrefix = "refs/cmcgrader-upstream/"

// Update brings the mirror of opts.URL up to date (creating it on first
// use) and returns it. Only opts.URL, Timeout and Credentials are used;
// the whole upstream history is fetched, so size limits do not apply.
// Errors wrap the same values as Fetch's.
func (c *FetchCache) Update(ctx context.Context, log *logrus.Entry, opts FetchOptions) (*Mirror, error) {
	log, err := checkFetch(log, opts)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(opts.URL))
	m := &Mirror{URL: opts.URL, Dir: filepath.Join(c.dir, hex.EncodeToString(sum[:10])+".git")}
	log = log.WithFields(logrus.Fields{"repo": opts.URL, "mirror": m.Dir})
	unlock, err := flock.Lock(ctx, m.Dir+".lock")
	if err != nil {
		return nil, fmt.Errorf("fetch cache: lock: %w", err)
	}
	defer unlock()

	// The fetch writes through a store of its own; reads go through
	// m.store, made after it.
	store := filesystem.NewStorage(osfs.New(m.Dir), cache.NewObjectLRU(objectCacheBytes))
	repo, err := git.Open(store, nil)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.Init(store, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch cache: open mirror %s: %w; remove the folder to start afresh", m.Dir, err)
	}
	remote, err := repo.CreateRemoteAnonymous(&config.RemoteConfig{Name: "anonymous", URLs: []string{opts.URL}})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadURL, opts.URL, err)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	fctx, cancel := context.WithTimeoutCause(ctx, timeout, errFetchDeadline)
	defer cancel()
	fo := &git.FetchOptions{
		RefSpecs: []config.RefSpec{"+refs/heads/*:refs/heads/*"},
		Tags:     git.NoTags,
		Prune:    true,
	}
	if cr := opts.Credentials; cr != nil {
		fo.Auth = &githttp.BasicAuth{Username: cr.Username, Password: cr.Password}
	}
	start := time.Now()
	before := packSize(m.Dir)
	err = remote.FetchContext(fctx, fo)
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, fetchError(ctx, fctx, opts, timeout, 0, 0, err)
	}
	m.FetchedBytes = max(0, packSize(m.Dir)-before)
	iter, err := store.IterReferences()
	if err != nil {
		return nil, fmt.Errorf("fetch cache: read refs of %s: %w", m.Dir, err)
	}
	err = iter.ForEach(func(r *plumbing.Reference) error {
		if r.Type() == plumbing.HashReference && r.Name().IsBranch() {
			m.refs = append(m.refs, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fetch cache: read refs of %s: %w", m.Dir, err)
	}
	// Reads go through a store that keeps the pack files open: without
	// that, go-git opens the pack again for every object, which made
	// writing a 30,000-file workspace from the mirror take seconds. It
	// also lists the loose objects once (ExclusiveAccess) instead of
	// trying to open a loose file before every packed object it sizes.
	// Every object a grading reads is in the mirror by now, and fetches
	// into a mirror only add files, so a list taken later is no less
	// complete for what this grading reads.
	m.store = filesystem.NewStorageWithOptions(osfs.New(m.Dir), cache.NewObjectLRU(objectCacheBytes),
		filesystem.Options{KeepDescriptors: true, ExclusiveAccess: true})
	log.WithFields(logrus.Fields{
		"branches": len(m.refs),
		"bytes":    m.FetchedBytes,
		"duration": time.Since(start).Round(time.Millisecond),
	}).Info("upstream mirror updated")
	return m, nil
}

// packSize is the total size of the pack files under a bare repository.
func packSize(dir string) int64 {
	files, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// Snapshot returns the commit of the mirror named by a branch or a full
// commit SHA (exactly one), without any network access. The snapshot
// reads its objects from the mirror.
func (m *Mirror) Snapshot(branch, commit string) (*Snapshot, error) {
	if _, err := fetchRefSpec(branch, commit); err != nil {
		return nil, err
	}
	var h plumbing.Hash
	if branch != "" {
		name := plumbing.NewBranchReferenceName(branch)
		for _, r := range m.refs {
			if r.Name() == name {
				h = r.Hash()
			}
		}
		if h.IsZero() {
			return nil, fmt.Errorf("%w: branch %q not found in %s", ErrUnknownBranch, branch, m.URL)
		}
	} else {
		h = plumbing.NewHash(strings.ToLower(commit))
	}
	objs := &mirrorObjects{m: m}
	c, err := object.GetCommit(objs, h)
	if err != nil {
		if commit != "" {
			return nil, fmt.Errorf("%w: %s is not on a branch of %s", ErrCommitNotFound, commit, m.URL)
		}
		return nil, fmt.Errorf("fetch cache: read commit %s of %s: %w", h, m.URL, err)
	}
	if _, err := object.GetTree(objs, c.TreeHash); err != nil {
		return nil, fmt.Errorf("fetch cache: root tree %s of commit %s missing in %s: %w", c.TreeHash, c.Hash, m.Dir, err)
	}
	return &Snapshot{
		URL: m.URL, Branch: branch, Commit: c.Hash.String(), Tree: c.TreeHash.String(),
		objects: objs, tree: c.TreeHash,
	}, nil
}

// object reads one object of the mirror into memory.
func (m *Mirror) object(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	obj, err := m.store.EncodedObject(t, h)
	if err != nil {
		return nil, err
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	mo := &plumbing.MemoryObject{}
	mo.SetType(obj.Type())
	mo.SetSize(obj.Size())
	if _, err := io.Copy(mo, io.LimitReader(r, obj.Size())); err != nil {
		return nil, err
	}
	return mo, nil
}

func (m *Mirror) objectSize(h plumbing.Hash) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.store.EncodedObjectSize(h)
}

func (m *Mirror) hasObject(h plumbing.Hash) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.store.HasEncodedObject(h)
}

// mirrorObjects is a read-only object store over a mirror.
type mirrorObjects struct {
	m *Mirror
}

var _ storer.EncodedObjectStorer = (*mirrorObjects)(nil)

func (o *mirrorObjects) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }
func (o *mirrorObjects) SetEncodedObject(plumbing.EncodedObject) (plumbing.Hash, error) {
	return plumbing.ZeroHash, errors.New("fetch cache: a mirror snapshot is read-only")
}
func (o *mirrorObjects) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	return o.m.object(t, h)
}
func (o *mirrorObjects) IterEncodedObjects(plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	return nil, errors.New("fetch cache: a mirror snapshot cannot list its objects")
}
func (o *mirrorObjects) HasEncodedObject(h plumbing.Hash) error           { return o.m.hasObject(h) }
func (o *mirrorObjects) EncodedObjectSize(h plumbing.Hash) (int64, error) { return o.m.objectSize(h) }
func (o *mirrorObjects) AddAlternate(string) error {
	return errors.New("fetch cache: a mirror snapshot takes no alternates")
}

// newFetchStorage is the storage a fetch keeps besides its pack (refs, and
// objects already there): in memory, over the mirror up when it is set.
func newFetchStorage(up *Mirror) storage.Storer {
	if up == nil {
		return memory.NewStorage()
	}
	return &overlayStorage{Storage: memory.NewStorage(), up: up}
}

// overlayStorage writes to memory and reads objects from memory, then
// from the mirror. It shows the mirror's branches under mirrorPrefix, so
// that go-git sends their tips as "have" lines.
type overlayStorage struct {
	*memory.Storage
	up *Mirror
}

func (s *overlayStorage) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	obj, err := s.Storage.EncodedObject(t, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return s.up.object(t, h)
	}
	return obj, err
}

func (s *overlayStorage) HasEncodedObject(h plumbing.Hash) error {
	if err := s.Storage.HasEncodedObject(h); !errors.Is(err, plumbing.ErrObjectNotFound) {
		return err
	}
	return s.up.hasObject(h)
}

func (s *overlayStorage) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	n, err := s.Storage.EncodedObjectSize(h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return s.up.objectSize(h)
	}
	return n, err
}

func (s *overlayStorage) IterReferences() (storer.ReferenceIter, error) {
	iter, err := s.Storage.IterReferences()
	if err != nil {
		return nil, err
	}
	var refs []*plumbing.Reference
	err = iter.ForEach(func(r *plumbing.Reference) error {
		refs = append(refs, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, r := range s.up.refs {
		name := plumbing.ReferenceName(mirrorPrefix + strings.TrimPrefix(r.Name().String(), "refs/"))
		refs = append(refs, plumbing.NewHashReference(name, r.Hash()))
	}
	return storer.NewReferenceSliceIter(refs), nil
}

// FetchBase reads the base from the mirror when there is one, else
// fetches it.
func FetchBase(ctx context.Context, log *logrus.Entry, opts FetchOptions, mirror *Mirror) (*Snapshot, error) {
	if mirror == nil || mirror.URL != opts.URL {
		return Fetch(ctx, log, opts)
	}
	return mirror.Snapshot(opts.Branch, opts.Commit)
}
