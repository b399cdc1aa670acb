package report

import (
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteReportFiles checks that a report and its signature file are
// replaced together, or not at all.
func TestWriteReportFiles(t *testing.T) {
	priv, _, err := NewSignKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParseSignKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	rep := sampleReport()
	entries := func(dir string) []string {
		t.Helper()
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}
	verifies := func(name string) error {
		data, sig, err := ReadFile(name)
		if err != nil {
			return err
		}
		_, err = VerifyReport(data, sig, key.Public().(ed25519.PublicKey))
		return err
	}

	t.Run("signed, then unsigned", func(t *testing.T) {
		dir := t.TempDir()
		name := filepath.Join(dir, "r.json")
		if err := WriteFile(name, rep, key); err != nil {
			t.Fatal(err)
		}
		if err := verifies(name); err != nil {
			t.Fatal(err)
		}
		// An unsigned report over it takes the old signature file away:
		// it is unsigned, not edited.
		if err := WriteFile(name, rep, nil); err != nil {
			t.Fatal(err)
		}
		if err := verifies(name); !errors.Is(err, ErrUnsigned) {
			t.Errorf("err = %v, want ErrUnsigned", err)
		}
		if got := entries(dir); len(got) != 1 {
			t.Errorf("folder holds %v, want r.json only", got)
		}
	})

	// The report cannot be renamed into place (a folder has its name):
	// the signature file is as it was.
	t.Run("report not replaced", func(t *testing.T) {
		for _, old := range []string{"old signature\n", ""} {
			dir := t.TempDir()
			name := filepath.Join(dir, "r.json")
			if err := os.MkdirAll(filepath.Join(name, "x"), 0o755); err != nil {
				t.Fatal(err)
			}
			if old != "" {
				if err := os.WriteFile(name+".sig", []byte(old), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFile(name, rep, key); err == nil {
				t.Fatal("no error")
			}
			got, err := os.ReadFile(name + ".sig")
			switch {
			case old == "" && !errors.Is(err, fs.ErrNotExist):
				t.Errorf("no signature file before, %q after (%v)", got, err)
			case old != "" && string(got) != old:
				t.Errorf("signature file %q, want it back as %q (%v)", got, old, err)
			}
			want := 1 // the folder r.json
			if old != "" {
				want++ // and r.json.sig
			}
			if got := entries(dir); len(got) != want {
				t.Errorf("folder holds %v: temporary files left", got)
			}
		}
	})

	// The signature file cannot be replaced: the report is as it was.
	t.Run("signature not replaced", func(t *testing.T) {
		dir := t.TempDir()
		name := filepath.Join(dir, "r.json")
		if err := os.WriteFile(name, []byte("old report\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(name+".sig", "x"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(name, rep, key); err == nil {
			t.Fatal("no error")
		}
		if got := mustRead(t, name); got != "old report\n" {
			t.Errorf("report %q, want it unchanged", got)
		}
		if got := entries(dir); len(got) != 2 {
			t.Errorf("folder holds %v: temporary files left", got)
		}
	})
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
