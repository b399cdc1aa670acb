package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Bounds of the files secrets are read from: a secret file holds the
// secret alone.
const (
	maxKeyFile    = 64 << 10 // a GitHub App's private key (PEM)
	maxTokenFile  = 4 << 10  // a GitHub token
	maxSecretFile = 4 << 10  // a webhook's shared secret
)

// readSecret reads a secret from file, or else from the environment
// variable env; nil when neither is set. flag names the file's flag in
// errors. Surrounding white space is not part of the secret. A file open
// to others than its owner, or larger than limit bytes, is refused.
// Secrets never come from flag values (they would show in the process
// list); the secret is never printed, and errors say nothing of its
// content.
func readSecret(flag, file, env string, limit int) ([]byte, error) {
	if file == "" {
		if v := bytes.TrimSpace([]byte(os.Getenv(env))); len(v) > 0 {
			return v, nil
		}
		return nil, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s: not a regular file: give the file that holds the secret", flag, file)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s %s: open to others (mode %v): make it private with chmod 600", flag, file, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%s %s: more than %d bytes: give the secret alone", flag, file, limit)
	}
	if b = bytes.TrimSpace(b); len(b) == 0 {
		return nil, fmt.Errorf("%s %s: the file is empty", flag, file)
	}
	return b, nil
}
