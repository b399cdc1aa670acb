package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cmcgrader/cmcgrader/grader/report"
)

// writeFileAtomic writes name through a temporary file in the same folder
// and renames it into place, so a reader never sees half a report.
func writeFileAtomic(name string, write func(io.Writer) error) error {
	tmp, err := writeTemp(name, write)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Rename(tmp, name)
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

// writeSignedFiles replaces the file name and its signature file sigName
// so that, whenever it returns, the two on disk belong together: both
// new, or both as they were.
//
// Both are written to temporary files first, so that a full disk or a
// failed write changes nothing. Then the signature is renamed into place,
// then the file. If the file cannot be renamed, the old signature file is
// put back (or the new one removed when there was none). A crash between
// the two renames leaves the old file beside the new signature, which
// fails verification: a report is never left beside a signature that
// vouches for it wrongly, at worst beside one that refuses it.
func writeSignedFiles(name string, data []byte, sigName string, sig []byte) error {
	old, err := readSignature(sigName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	case err != nil:
		return fmt.Errorf("%w (it would be replaced)", err)
	case len(old) > report.MaxSignatureSize:
		old = nil // no signature of the grader's: nothing to put back
	}
	tmp, err := writeTemp(name, bytesWriter(data))
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	tmpSig, err := writeTemp(sigName, bytesWriter(sig))
	if err != nil {
		return err
	}
	defer os.Remove(tmpSig)
	if err := os.Rename(tmpSig, sigName); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		undo := os.Remove(sigName)
		if old != nil {
			undo = writeFileAtomic(sigName, bytesWriter(old))
		}
		if undo != nil {
			return fmt.Errorf("%w; and %s could not be restored (%v): it does not match %s", err, sigName, undo, name)
		}
		return err
	}
	return nil
}

func bytesWriter(b []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(b))
		return err
	}
}

// readSignature reads a signature file, at most one byte more than
// report.MaxSignatureSize (VerifyReport refuses a larger one). The error
// wraps fs.ErrNotExist when there is none.
func readSignature(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, report.MaxSignatureSize+1))
	if err != nil {
		return nil, err
	}
	return data, nil
}
