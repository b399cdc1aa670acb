package report

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/cmcgrader/cmcgrader/internal/atomicfile"
)

// Encode returns rep's JSON bytes, as WriteFile writes them, and, when key
// is given, the bytes of their signature file; sig is nil without a key.
func Encode(rep *Report, key ed25519.PrivateKey) (data, sig []byte, err error) {
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		return nil, nil, fmt.Errorf("write report: %w", err)
	}
	if key == nil {
		return buf.Bytes(), nil, nil
	}
	sig, err = SignReport(buf.Bytes(), key)
	if err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), sig, nil
}

// WriteFile writes rep as JSON to the file name and, when key is given,
// its signature file (SignaturePath) over the exact bytes written. The
// two are replaced together (see atomicfile.WritePair). An unsigned
// report removes a signature file left there by an earlier report, which
// would only say that this one was edited.
func WriteFile(name string, rep *Report, key ed25519.PrivateKey) error {
	data, sig, err := Encode(rep, key)
	if err != nil {
		return err
	}
	sigName := SignaturePath(name)
	if key == nil {
		if err := atomicfile.WriteBytes(name, data); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		if err := os.Remove(sigName); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write report: remove the old signature file: %w", err)
		}
		return nil
	}
	if err := atomicfile.WritePair(name, data, sigName, sig, MaxSignatureSize); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// ReadFile reads a report file and its signature file, bounded to one
// byte over MaxSignatureSize (VerifyReport refuses a larger one); sig is
// nil when there is none.
func ReadFile(name string) (data, sig []byte, err error) {
	data, err = os.ReadFile(name)
	if err != nil {
		return nil, nil, err
	}
	sig, err = atomicfile.ReadBounded(SignaturePath(name), MaxSignatureSize+1)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return data, nil, nil
	case err != nil:
		return nil, nil, err
	}
	return data, sig, nil
}

// ReadSignKeyFile reads a private key file (see NewSignKey), which only
// its owner may read.
func ReadSignKeyFile(name string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: readable by others (mode %v): make it private with chmod 600", name, fi.Mode().Perm())
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	key, err := ParseSignKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return key, nil
}
