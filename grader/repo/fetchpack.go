package repo

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/cmcgrader/cmcgrader/internal/bytesize"
	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
)

// The pack a fetch receives is spooled to a private temporary file, never
// held in memory. Its objects' sizes are read from their headers before
// any object is unpacked; then it is indexed, and objects are read from it
// one at a time, large ones streamed. Only the compressed pack is ever on
// disk, and only while the fetch runs: after that the snapshot reads it
// through an open descriptor of a file that has no name any more.

// Size errors of a fetch's store, mapped to ErrTooLarge by Fetch.
var (
	errPackTooLarge    = errors.New("pack over the size limit")
	errObjectsTooLarge = errors.New("objects over the size limit")
)

// objectTooLargeError is one object that would unpack to more than the
// limit for one file of a workspace.
type objectTooLargeError struct {
	id        string // "<sha>", or where it is in the pack when its SHA is unknown
	size, max int64
}

func (e *objectTooLargeError) Error() string {
	return fmt.Sprintf("object %s is %s, over the %s limit for one file", e.id, bytesize.Format(e.size), bytesize.Format(e.max))
}

// largeObjectBytes is the size above which an object read from a fetched
// pack is streamed from the file instead of unpacked into memory.
const largeObjectBytes = 1 << 20

// limitStorage is the store of one fetch: references and the shallow list
// in memory, objects in the spooled pack. It takes the pack as a raw stream
// (storer.PackfileWriter), so that the size limit stops the download as
// soon as it is passed. Objects not in the pack (with a mirror, the
// upstream's) are read from the storage it wraps.
type limitStorage struct {
	storage.Storer
	maxPack    int64 // bytes of the pack
	maxObjects int64 // unpacked bytes of all objects
	maxFile    int64 // unpacked bytes of one object

	dir       string   // private folder of the spooled pack; see cleanup
	file      *os.File // the spooled pack
	packBytes int64    // size of the pack received
	pack      *packReader
}

// PackfileWriter implements storer.PackfileWriter: go-git copies the pack
// into the returned writer, then closes it. The pack goes to a file of
// mode 0600 in a folder of mode 0700 that only this fetch uses.
func (s *limitStorage) PackfileWriter() (io.WriteCloser, error) {
	if s.dir != "" {
		return nil, errors.New("fetch: a second pack in one fetch")
	}
	dir, err := os.MkdirTemp("", "cmcgrader-fetch-")
	if err != nil {
		return nil, fmt.Errorf("spool pack: %w", err)
	}
	s.dir = dir
	f, err := os.OpenFile(filepath.Join(dir, "pack"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool pack: %w", err)
	}
	s.file = f
	return &packWriter{s: s}, nil
}

// cleanup removes the spooled pack's folder, on every path of a fetch.
// When keep is false it also closes the pack; when true the pack stays
// readable through its open descriptor, and the snapshot closes it.
func (s *limitStorage) cleanup(keep bool) {
	if s.dir != "" {
		os.RemoveAll(s.dir)
		s.dir = ""
	}
	if keep {
		return
	}
	if s.pack != nil {
		s.pack.close()
	} else if s.file != nil {
		s.file.Close()
	}
}

// EncodedObject reads an object from the pack, else from the wrapped
// storage.
func (s *limitStorage) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if s.pack != nil {
		obj, err := s.pack.object(t, h)
		if !errors.Is(err, plumbing.ErrObjectNotFound) {
			return obj, err
		}
	}
	return s.Storer.EncodedObject(t, h)
}

// HasEncodedObject looks in the pack's index, then in the wrapped storage.
func (s *limitStorage) HasEncodedObject(h plumbing.Hash) error {
	if s.pack != nil {
		if ok, _ := s.pack.idx.Contains(h); ok {
			return nil
		}
	}
	return s.Storer.HasEncodedObject(h)
}

// EncodedObjectSize reads an object's size from the pack, else from the
// wrapped storage.
func (s *limitStorage) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	if s.pack != nil {
		n, err := s.pack.size(h)
		if !errors.Is(err, plumbing.ErrObjectNotFound) {
			return n, err
		}
	}
	return s.Storer.EncodedObjectSize(h)
}

// IterEncodedObjects is refused: listing would unpack the whole pack, and
// neither go-git's fetch nor the grader needs it.
func (s *limitStorage) IterEncodedObjects(plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	return nil, errors.New("fetch: a fetched snapshot cannot list its objects")
}

// packWriter spools a pack to the fetch's file, up to the limit, and
// checks and indexes it on Close.
type packWriter struct {
	s      *limitStorage
	n      int64
	failed bool
}

func (w *packWriter) Write(p []byte) (int, error) {
	if w.n+int64(len(p)) > w.s.maxPack {
		w.failed = true
		return 0, errPackTooLarge
	}
	n, err := w.s.file.Write(p)
	w.n += int64(n)
	if err != nil {
		w.failed = true
		return n, fmt.Errorf("spool pack: %w", err)
	}
	return n, nil
}

func (w *packWriter) Close() error {
	if w.failed {
		return nil // the Write error is the one reported
	}
	w.s.packBytes = w.n
	if w.n == 0 {
		return packfile.ErrEmptyPackfile
	}
	if err := checkPackSizes(io.NewSectionReader(w.s.file, 0, w.n), w.s.maxObjects, w.s.maxFile); err != nil {
		return err
	}
	pack, err := openPack(w.s.file, w.n)
	if err != nil {
		return err
	}
	w.s.pack = pack
	return nil
}

// checkPackSizes reads the pack's object headers and refuses, before any
// object is unpacked into memory, an object that would unpack to more than
// maxFile bytes (an *objectTooLargeError) and objects that would unpack to
// more than maxTotal bytes in all (errObjectsTooLarge). An object's size
// is read from its header; a delta's result size from the start of the
// delta. Finding the next header means inflating each object, but only
// into a small buffer that is thrown away.
func checkPackSizes(pack io.Reader, maxTotal, maxFile int64) error {
	sc := packfile.NewScanner(pack)
	_, count, err := sc.Header()
	if err != nil {
		return err
	}
	var total int64
	for i := uint32(0); i < count; i++ {
		oh, err := sc.NextObjectHeader()
		if err != nil {
			return err
		}
		if oh.Length > maxTotal-total {
			return errObjectsTooLarge
		}
		var size int64
		if oh.Type.IsDelta() {
			var dh deltaHead
			if _, _, err := sc.NextObject(&dh); err != nil {
				return err
			}
			size = dh.targetSize()
			if size > maxFile {
				return &objectTooLargeError{id: fmt.Sprintf("at offset %d of the pack (a delta)", oh.Offset), size: size, max: maxFile}
			}
		} else {
			size = oh.Length
			if size > maxFile {
				return &objectTooLargeError{id: objectID(sc, oh), size: size, max: maxFile}
			}
			if _, _, err := sc.NextObject(io.Discard); err != nil {
				return err
			}
		}
		if size < 0 || size > maxTotal-total {
			return errObjectsTooLarge
		}
		total += size
	}
	return nil
}

// objectID names the object whose header was just read: its SHA, hashed
// as it streams by, or its place in the pack when its content does not
// match its header.
func objectID(sc *packfile.Scanner, oh *packfile.ObjectHeader) string {
	h := plumbing.NewHasher(oh.Type, oh.Length)
	n, _, err := sc.NextObject(h)
	if err != nil || n != oh.Length {
		return fmt.Sprintf("at offset %d of the pack", oh.Offset)
	}
	return h.Sum().String()
}

// deltaHead keeps the first bytes of a delta: two varints, the sizes of
// the base and of the result.
type deltaHead struct {
	b [20]byte
	n int
}

func (d *deltaHead) Write(p []byte) (int, error) {
	d.n += copy(d.b[min(d.n, len(d.b)):], p)
	return len(p), nil
}

// targetSize decodes the second varint, or returns -1 if it is malformed.
func (d *deltaHead) targetSize() int64 {
	b := d.b[:min(d.n, len(d.b))]
	for v := 0; v < 2; v++ {
		var size int64
		var shift uint
		for {
			if len(b) == 0 || shift > 56 {
				return -1
			}
			c := b[0]
			b = b[1:]
			size |= int64(c&0x7f) << shift
			shift += 7
			if c&0x80 == 0 {
				break
			}
		}
		if v == 1 {
			return size
		}
	}
	return -1
}

// packReader reads the objects of an indexed pack file. It is safe for
// concurrent use.
type packReader struct {
	idx  *idxfile.MemoryIndex
	mu   sync.Mutex // guards pack, whose scanner is shared, and file
	pack *packfile.Packfile
	file *os.File
}

// openPack indexes the pack of size bytes in f. Indexing inflates every
// object once (an object's SHA is the hash of its content), one object at
// a time: memory grows with the largest object, which checkPackSizes has
// bounded, not with the pack.
func openPack(f *os.File, size int64) (*packReader, error) {
	w := new(idxfile.Writer)
	p, err := packfile.NewParser(packfile.NewScanner(io.NewSectionReader(f, 0, size)), w)
	if err != nil {
		return nil, err
	}
	if _, err := p.Parse(); err != nil {
		return nil, err
	}
	idx, err := w.Index()
	if err != nil {
		return nil, err
	}
	fsys := &packFS{Filesystem: memfs.New(), f: f, size: size}
	pack := packfile.NewPackfileWithCache(idx, fsys, fsys.handle(), cache.NewObjectLRU(objectCacheBytes), largeObjectBytes)
	return &packReader{idx: idx, pack: pack, file: f}, nil
}

// object returns the object h of type t (or of any type for AnyObject).
// Objects over largeObjectBytes stream from the file when read.
func (r *packReader) object(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if ok, _ := r.idx.Contains(h); !ok {
		return nil, plumbing.ErrObjectNotFound
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.file == nil {
		return nil, os.ErrClosed
	}
	obj, err := r.pack.Get(h)
	if err != nil {
		return nil, err
	}
	if t != plumbing.AnyObject && obj.Type() != t {
		return nil, plumbing.ErrObjectNotFound
	}
	return obj, nil
}

func (r *packReader) size(h plumbing.Hash) (int64, error) {
	off, err := r.idx.FindOffset(h)
	if err != nil {
		return 0, plumbing.ErrObjectNotFound
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.file == nil {
		return 0, os.ErrClosed
	}
	return r.pack.GetSizeByOffset(off)
}

// close closes the pack's file; it may be called again.
func (r *packReader) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.file == nil {
		return nil
	}
	err := r.file.Close()
	r.file = nil
	return err
}

// packFS lets go-git's pack reader open the pack again for each large
// object it streams (it opens files by name): every open is a new reader
// over the one descriptor, since the file has no name once the fetch is
// over. Anything else go-git might ask of it finds an empty folder in
// memory.
type packFS struct {
	billy.Filesystem
	f    *os.File
	size int64
}

// packName is the name go-git's pack reader opens the pack by.
const packName = "fetched.pack"

func (fsys *packFS) Open(name string) (billy.File, error) {
	if name != packName {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	return fsys.handle(), nil
}

func (fsys *packFS) handle() billy.File {
	return packHandle{SectionReader: io.NewSectionReader(fsys.f, 0, fsys.size)}
}

// packHandle is a read-only billy.File over the pack, with its own offset.
// Reads are pread calls, so handles are safe to use side by side; closing
// one leaves the descriptor open for the others.
type packHandle struct {
	*io.SectionReader
}

var errReadOnly = errors.New("fetched pack: read-only")

func (packHandle) Name() string              { return packName }
func (packHandle) Write([]byte) (int, error) { return 0, errReadOnly }
func (packHandle) Close() error              { return nil }
func (packHandle) Lock() error               { return nil }
func (packHandle) Unlock() error             { return nil }
func (packHandle) Truncate(int64) error      { return errReadOnly }
