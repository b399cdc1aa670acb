package main

import (
	"bytes"
	"crypto/ed25519"
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
		Summary: report.Summary{Exams: []report.ExamScore{{Name: "server", Threshold: 70}}},
		Tasks: []report.TaskGrade{{
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
	if err := report.WriteFile(alice, heldReport("https://example.com/alice/meshery.git"), key); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteFile(bob, heldReport("https://example.com/bob/meshery.git"), key); err != nil {
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
	if err := report.WriteFile(name, heldReport("https://example.com/alice/meshery.git"), key); err != nil {
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
