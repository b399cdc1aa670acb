package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadSecret refuses what is not a private file holding a secret
// alone, saying what to do, and never quotes the file's content.
func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, file, want string // want: the secret, or "error: TEXT"
	}{
		{"trimmed", write("ok", "  hunter2-secret\n", 0o600), "hunter2-secret"},
		{"open to others", write("open", "hunter2-secret", 0o644), "error: make it private with chmod 600"},
		{"too large", write("large", strings.Repeat("hunter2-", 100), 0o600), "error: more than 64 bytes: give the secret alone"},
		{"empty", write("empty", " \n", 0o600), "error: the file is empty"},
		{"a folder", dir, "error: not a regular file"},
		{"missing", filepath.Join(dir, "missing"), "error: --flag-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readSecret("--flag-file", tc.file, "CMCGRADER_TEST_UNSET", 64)
			if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got %q %v, want an error with %q", got, err, want)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error quotes the secret: %v", err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("got %q %v, want %q", got, err, tc.want)
			}
		})
	}
}
