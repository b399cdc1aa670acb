package main

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/report"
)

// keyFiles writes a key pair to dir as receipt keygen does and returns the
// private key file's name and the key.
func keyFiles(t *testing.T, dir, name string) (string, ed25519.PrivateKey) {
	t.Helper()
	priv, pub, err := report.NewSignKey()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file+".pub", pub, 0o644); err != nil {
		t.Fatal(err)
	}
	key, err := report.ParseSignKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return file, key
}

// heldReport is a report with one task held for review.
func heldReport(repository string) *report.Report {
	return &report.Report{
		Version: report.ReportVersion, Repository: repository, Commit: strings.Repeat("c", 40),
		Summary: report.Summary{Exams: []report.ExamResult{{Name: "server", Threshold: 70}}},
		Tasks: []report.TaskResult{{
			ID: "server-health", Exam: "server", Status: report.Passed, Points: 2, Possible: 2,
			Hold: &report.Hold{Flags: []string{"server/x.go:3 stdio: writes os.Stdout itself"}},
		}},
		Tampering: []report.TamperFlag{},
		Receipt:   &report.Receipt{Repository: repository},
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReviewSignedReport(t *testing.T) {
	dir := t.TempDir()
	keyFile, key := keyFiles(t, dir, "grader.key")
	otherFile, _ := keyFiles(t, dir, "other.key")
	alice := filepath.Join(dir, "alice.json")
	bob := filepath.Join(dir, "bob.json")
	if err := writeReport(alice, heldReport("https://example.com/alice/meshery.git"), key); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(bob, heldReport("https://example.com/bob/meshery.git"), key); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(args, strings.NewReader(""), &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	copyPair := func(name, report, sig string) {
		t.Helper()
		if err := os.WriteFile(name, []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
		if sig != "" {
			if err := os.WriteFile(name+".sig", []byte(sig), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	review := func(file string, key ...string) []string {
		return append([]string{"review", "reject", "--report", file, "--task", "server-health", "--reason", "rewrites stdout"}, key...)
	}

	aliceData, aliceSig := readFile(t, alice), readFile(t, alice+".sig")
	for _, tc := range []struct {
		name, report, sig string
		key               []string
		want              string
	}{
		{"edited", strings.Replace(aliceData, `"points": 2,`, `"points": 3,`, 1), aliceSig, []string{"--sign-key", keyFile}, "signature does not match"},
		{"another report's signature", aliceData, readFile(t, bob+".sig"), []string{"--sign-key", keyFile}, "signature does not match"},
		{"signed, no key", aliceData, aliceSig, nil, "is signed: give --sign-key"},
		{"signed by another key", aliceData, aliceSig, []string{"--sign-key", otherFile}, "signed by another key"},
		{"signature file removed", aliceData, "", []string{"--sign-key", keyFile}, "is not signed (there is no " + filepath.Join(dir, "edited.json.sig")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edited := filepath.Join(dir, "edited.json")
			os.Remove(edited + ".sig")
			copyPair(edited, tc.report, tc.sig)
			code, out := run(review(edited, tc.key...)...)
			if code != 1 || !strings.Contains(out, tc.want) {
				t.Errorf("exit status %d, output %q; want 1 and %q", code, out, tc.want)
			}
			if got := readFile(t, edited); got != tc.report {
				t.Error("the refused review changed the report")
			}
		})
	}

	// The grader's report, unchanged: verified, decided, signed again.
	if code, out := run(review(alice, "--sign-key", keyFile)...); code != 0 {
		t.Fatalf("review: exit status %d: %s", code, out)
	}
	if readFile(t, alice+".sig") == aliceSig {
		t.Error("the signature file was not replaced")
	}
	code, out := run("receipt", "verify", "--pub", keyFile+".pub", alice)
	if code != 0 || !strings.Contains(out, "signature OK") || !strings.Contains(out, "repository https://example.com/alice/meshery.git") {
		t.Errorf("verify after review: exit status %d: %s", code, out)
	}
	// The old signature does not cover the decision.
	copyPair(alice, readFile(t, alice), aliceSig)
	if code, out := run("receipt", "verify", alice); code != 1 || !strings.Contains(out, "signature does not match") {
		t.Errorf("verify with the signature from before the review: exit status %d: %s", code, out)
	}
}

func TestVerifyEmbeddedKeySaysSo(t *testing.T) {
	dir := t.TempDir()
	keyFile, key := keyFiles(t, dir, "grader.key")
	name := filepath.Join(dir, "report.json")
	if err := writeReport(name, heldReport("https://example.com/alice/meshery.git"), key); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"receipt", "verify", name}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d: %s", code, stderr.String())
	}
	for _, want := range []string{"(the key in " + name + ".sig, not checked)", "shows only that the report is intact", "or verify with --pub"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	stdout.Reset()
	if code := run([]string{"receipt", "verify", "--pub", keyFile + ".pub", name}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d: %s", code, stderr.String())
	}
	if strings.Contains(stdout.String(), "not checked") || strings.Contains(stdout.String(), "only that") {
		t.Errorf("with --pub, the output still warns:\n%s", stdout.String())
	}
}

func TestWriteReportFiles(t *testing.T) {
	_, key := keyFiles(t, t.TempDir(), "k")
	rep := heldReport("https://example.com/alice/meshery.git")
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
		data, sig, err := readReport(name)
		if err != nil {
			return err
		}
		_, err = report.VerifyReport(data, sig, key.Public().(ed25519.PublicKey))
		return err
	}

	t.Run("signed, then unsigned", func(t *testing.T) {
		dir := t.TempDir()
		name := filepath.Join(dir, "r.json")
		if err := writeReport(name, rep, key); err != nil {
			t.Fatal(err)
		}
		if err := verifies(name); err != nil {
			t.Fatal(err)
		}
		// An unsigned report over it takes the old signature file away:
		// it is unsigned, not edited.
		if err := writeReport(name, rep, nil); err != nil {
			t.Fatal(err)
		}
		if err := verifies(name); !errors.Is(err, report.ErrUnsigned) {
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
			if err := writeReport(name, rep, key); err == nil {
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
		if err := writeReport(name, rep, key); err == nil {
			t.Fatal("no error")
		}
		if got := readFile(t, name); got != "old report\n" {
			t.Errorf("report %q, want it unchanged", got)
		}
		if got := entries(dir); len(got) != 2 {
			t.Errorf("folder holds %v: temporary files left", got)
		}
	})
}
