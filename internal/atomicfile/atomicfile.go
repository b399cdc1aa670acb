// Package atomicfile replaces files so that a reader sees the old content
// or the new, never half of it, and a pair of files (a report and its
// signature) stays together.
package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes name through a temporary file in the same folder, synced
// to disk, and renames it into place.
func Write(name string, write func(io.Writer) error) error {
	tmp, err := writeTemp(name, write)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Rename(tmp, name)
}

// WriteBytes is Write of data.
func WriteBytes(name string, data []byte) error {
	return Write(name, bytesWriter(data))
}

// writeTemp writes a temporary file in name's folder, synced to disk, and
// returns its name; the caller renames or removes it.
func writeTemp(name string, write func(io.Writer) error) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return "", err
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// WritePair replaces the file name with data and its companion file
// companion (a signature of it) with cdata so that, whenever it returns,
// the two on disk belong together: both new, or both as they were.
//
// Both are written to temporary files first, so a full disk or a failed
// write changes nothing. Then the companion is renamed into place, then
// the file. If the file cannot be renamed, the old companion is put back
// (or the new one removed when there was none); an old companion over
// maxOld bytes is not one of ours and is not kept for that. A crash
// between the two renames leaves the old file beside the new companion:
// for a signature, one that refuses the file, never one that vouches for
// it wrongly.
func WritePair(name string, data []byte, companion string, cdata []byte, maxOld int64) error {
	old, err := ReadBounded(companion, maxOld+1)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	case err != nil:
		return fmt.Errorf("%w (it would be replaced)", err)
	case int64(len(old)) > maxOld:
		old = nil
	}
	tmp, err := writeTemp(name, bytesWriter(data))
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	tmpC, err := writeTemp(companion, bytesWriter(cdata))
	if err != nil {
		return err
	}
	defer os.Remove(tmpC)
	if err := os.Rename(tmpC, companion); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		undo := os.Remove(companion)
		if old != nil {
			undo = WriteBytes(companion, old)
		}
		if undo != nil {
			return fmt.Errorf("%w; and %s could not be restored (%v): it does not match %s", err, companion, undo, name)
		}
		return err
	}
	return nil
}

// ReadBounded reads at most max bytes of name. The error wraps
// fs.ErrNotExist when there is no such file.
func ReadBounded(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}

func bytesWriter(b []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(b))
		return err
	}
}
