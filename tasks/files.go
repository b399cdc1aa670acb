package tasks

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Size limits of a bank's files. Load reads nothing past them.
const (
	// MaxFileBytes is the largest file Load reads.
	MaxFileBytes = 1 << 20
	// MaxBankBytes is the most Load reads of one bank in total.
	MaxBankBytes = 64 << 20
)

// files indexes the plain files and folders of a bank and reads them with
// size limits. Symlinks and other non-regular files are refused: a bank is
// read as plain files.
type files struct {
	root     string                 // bank folder
	regular  map[string]fs.FileInfo // regular files by slash path
	dirs     map[string]bool        // folders by slash path
	refused  map[string]bool        // symlinks and special files, reported
	maxFile  int64
	maxTotal int64
	total    int64
	full     bool // maxTotal was passed
	probs    *problems
}

// index walks bank.yaml and tasks/ below root. Problems (symlinks, special
// files, unreadable folders) go to probs; they do not stop the walk.
func index(root string, maxFile, maxTotal int64, probs *problems) *files {
	fl := &files{
		root:     root,
		regular:  map[string]fs.FileInfo{},
		dirs:     map[string]bool{},
		refused:  map[string]bool{},
		maxFile:  maxFile,
		maxTotal: maxTotal,
		probs:    probs,
	}
	if fi, err := os.Lstat(filepath.Join(root, bankFile)); err == nil {
		fl.note(bankFile, fi)
	} else if !errors.Is(err, fs.ErrNotExist) {
		probs.add(bankFile, "", "cannot read: %v", err)
	}
	err := filepath.WalkDir(filepath.Join(root, tasksDir), func(p string, d fs.DirEntry, err error) error {
		rel := fl.rel(p)
		if err != nil {
			if !(rel == tasksDir && errors.Is(err, fs.ErrNotExist)) {
				probs.add(rel, "", "cannot read: %v", err)
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			probs.add(rel, "", "cannot read: %v", err)
			return nil
		}
		fl.note(rel, fi)
		return nil
	})
	if err != nil { // the walk function returns no error
		probs.add(tasksDir, "", "cannot read: %v", err)
	}
	return fl
}

func (fl *files) rel(p string) string {
	r, err := filepath.Rel(fl.root, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(r)
}

// note records one walked entry, refusing anything but files and folders.
func (fl *files) note(rel string, fi fs.FileInfo) {
	switch m := fi.Mode(); {
	case m&fs.ModeSymlink != 0:
		fl.refused[rel] = true
		fl.probs.add(rel, "", "is a symlink; a bank is read as plain files: replace the link with a copy of its target")
	case m.IsDir():
		fl.dirs[rel] = true
	case m.IsRegular():
		fl.regular[rel] = fi
	default:
		fl.refused[rel] = true
		fl.probs.add(rel, "", "is not a regular file (%v); a bank holds only plain files and folders", m.Type())
	}
}

// exists reports whether rel is a regular file of the bank.
func (fl *files) exists(rel string) bool {
	_, ok := fl.regular[rel]
	return ok
}

// children returns the names of the files and folders directly in folder
// dir, sorted.
func (fl *files) children(dir string) (names []string) {
	prefix := dir + "/"
	seen := map[string]bool{}
	add := func(p string) {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok || rest == "" {
			return
		}
		name, _, _ := strings.Cut(rest, "/")
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	for p := range fl.regular {
		add(p)
	}
	for p := range fl.dirs {
		add(p)
	}
	sort.Strings(names)
	return names
}

// under returns the regular files below folder dir, as paths relative to
// dir, sorted.
func (fl *files) under(dir string) []string {
	prefix := dir + "/"
	var out []string
	for p := range fl.regular {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			out = append(out, rest)
		}
	}
	sort.Strings(out)
	return out
}

// read returns the content of regular file rel. It reports a problem and
// returns false when the file is too large, the bank as a whole is too
// large, or the file cannot be read.
func (fl *files) read(rel string) ([]byte, bool) {
	fi, ok := fl.regular[rel]
	if !ok {
		return nil, false
	}
	if fi.Size() > fl.maxFile {
		fl.probs.add(rel, "", "is %d bytes, more than the %d a bank file may have", fi.Size(), fl.maxFile)
		return nil, false
	}
	if fl.full {
		return nil, false
	}
	f, err := os.Open(filepath.Join(fl.root, filepath.FromSlash(rel)))
	if err != nil {
		fl.probs.add(rel, "", "cannot read: %v", err)
		return nil, false
	}
	defer f.Close()
	// The file must still be the one indexed: a symlink swapped in since
	// the walk would be followed by Open.
	if now, err := f.Stat(); err != nil || !os.SameFile(fi, now) {
		fl.probs.add(rel, "", "changed while the bank was loading; load it again")
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(f, fl.maxFile+1))
	if err != nil {
		fl.probs.add(rel, "", "cannot read: %v", err)
		return nil, false
	}
	if int64(len(data)) > fl.maxFile {
		fl.probs.add(rel, "", "is more than the %d bytes a bank file may have", fl.maxFile)
		return nil, false
	}
	fl.total += int64(len(data))
	if fl.total > fl.maxTotal {
		fl.full = true
		fl.probs.add(rel, "", "the bank passes %d bytes in total here, more than a bank may have; make hidden files smaller", fl.maxTotal)
		return nil, false
	}
	return data, true
}
