package report

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/testout"
	"github.com/cmcgrader/cmcgrader/sandbox"
)

func TestReceiptTasks(t *testing.T) {
	bank := testGradeBank()
	extra := *bank.Tasks[0]
	extra.ID = "server-i"
	bank.Tasks = append(bank.Tasks, &extra)
	rc := &Receipt{Bank: ReceiptBank{Name: "b", Digest: "d", Tasks: []TaskDigest{{ID: "server-i", Digest: extra.Digest()}}}}

	sub, err := rc.Tasks(bank)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Tasks) != 1 || sub.Tasks[0].ID != "server-i" {
		t.Errorf("Tasks() kept %v, want server-i only", sub.Tasks)
	}

	changed := testGradeBank()
	changed.Digest = "e"
	changed.Tasks[0].Hidden[0].Data = []byte("package handlers // changed\n")
	rc2 := &Receipt{Bank: ReceiptBank{Name: "b", Digest: "d", Tasks: []TaskDigest{
		{ID: "server-h", Digest: testGradeBank().Tasks[0].Digest()}, {ID: "gone"},
	}}}
	_, err = rc2.Tasks(changed)
	if !errors.Is(err, ErrBankMismatch) {
		t.Fatalf("changed bank: err = %v, want ErrBankMismatch", err)
	}
	for _, want := range []string{"gone is missing", "server-h changed", "regrade with the bank"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// signedSample returns a report signed with a new key, its bytes and the
// public key.
func signedSample(t *testing.T) (*Report, []byte, ed25519.PublicKey) {
	t.Helper()
	privPEM, pubPEM, err := NewSignKey()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParseSignKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	rep := sampleReport()
	if err := rep.Sign(priv); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return rep, buf.Bytes(), pub
}

func sampleReport() *Report {
	start := time.Date(2026, 11, 26, 17, 0, 0, 123456789, time.UTC)
	return &Report{
		Version: ReportVersion, GraderVersion: "v0.1.0", Repository: "https://example.com/alice/meshery.git",
		Branch: "cmc", Commit: strings.Repeat("c", 40), Tree: strings.Repeat("7", 40),
		Base:      BaseInfo{Repository: "https://example.com/meshery/meshery.git", Ref: "main", Commit: strings.Repeat("b", 40)},
		Bank:      BankInfo{Name: "cmc", Digest: strings.Repeat("d", 64)},
		Image:     sandbox.Image{Ref: "cmcgrader-sandbox:go1.26.8", ID: "sha256:" + strings.Repeat("e", 64)},
		StartedAt: start, FinishedAt: start.Add(3 * time.Minute),
		Summary: Summary{
			Exams:   []ExamResult{{Name: "server", Points: 1.5, Possible: 2, Percent: 75, Threshold: 70, Verdict: Pass, Tasks: 1}},
			Overall: 15, Verdict: Fail,
		},
		Tasks: []TaskResult{{
			ID: "server-health", Exam: "server", Title: "Health <endpoint> & more", Status: Failed, Points: 1.5, Possible: 2,
			Reason: "1 of 2 tests failed", Attempts: 1, Duration: 4 * time.Second, ExitCode: 1,
			Tests: []TestOutcome{{Name: "TestA", Status: testout.Pass}, {Name: "TestB", Status: testout.Fail, Output: "want \"ok\"\n\tgot <nil>\n"}},
		}},
		Tampering: []TamperFlag{},
		Receipt: &Receipt{
			Repository: "https://example.com/alice/meshery.git", Commit: strings.Repeat("c", 40), Tree: strings.Repeat("7", 40),
			Base:  ReceiptBase{Repository: "https://example.com/meshery/meshery.git", Ref: "main", Commit: strings.Repeat("b", 40)},
			Bank:  ReceiptBank{Name: "cmc", Digest: strings.Repeat("d", 64), Tasks: []TaskDigest{{ID: "server-health", Digest: strings.Repeat("f", 64), Timeout: time.Minute}}},
			Image: ReceiptImage{Ref: "cmcgrader-sandbox:go1.26.8", ID: "sha256:" + strings.Repeat("e", 64), Go: "go1.26.8", Node: "v20.19.2"},
			Limits: ReceiptLimits{MemoryBytes: 2 << 30, CPUs: 2, Pids: 512, WorkspaceBytes: 512 << 20, TmpBytes: 1 << 30,
				OutputBytes: 8 << 20, Recheck: true},
			GraderVersion: "v0.1.0",
		},
	}
}

func TestSignVerify(t *testing.T) {
	rep, data, pub := signedSample(t)
	v, err := VerifyReport(data, nil)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if v.KeyFingerprint != KeyFingerprint(pub) || !strings.HasPrefix(v.KeyFingerprint, "sha256:") {
		t.Errorf("fingerprint %s, want %s", v.KeyFingerprint, KeyFingerprint(pub))
	}
	if v.Report.Tasks[0].Points != 1.5 || v.Report.Receipt.Signature.Value == "" {
		t.Errorf("parsed report %+v", v.Report.Tasks[0])
	}
	if _, err := VerifyReport(data, pub); err != nil {
		t.Errorf("verify with the signer's key: %v", err)
	}

	_, otherPEM, _ := NewSignKey()
	other, _ := ParsePublicKey(otherPEM)
	if _, err := VerifyReport(data, other); !errors.Is(err, ErrWrongKey) {
		t.Errorf("verify with another key: err = %v, want ErrWrongKey", err)
	}

	// An edited score, written back the way the grader writes.
	rep.Tasks[0].Points = 2
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyReport(buf.Bytes(), nil); !errors.Is(err, ErrBadSignature) {
		t.Errorf("edited score: err = %v, want ErrBadSignature", err)
	}

	// The same content laid out otherwise.
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyReport(compact.Bytes(), nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("re-laid out: err = %v, want ErrMalformed", err)
	}
}

func TestVerifyUnsigned(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Report)
	}{
		{"no signature", func(*Report) {}},
		{"no receipt", func(r *Report) { r.Receipt = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := sampleReport()
			tc.edit(rep)
			var buf bytes.Buffer
			if err := rep.WriteJSON(&buf); err != nil {
				t.Fatal(err)
			}
			if _, err := VerifyReport(buf.Bytes(), nil); !errors.Is(err, ErrUnsigned) {
				t.Errorf("err = %v, want ErrUnsigned", err)
			}
		})
	}
	if err := (&Report{}).Sign(make(ed25519.PrivateKey, ed25519.PrivateKeySize)); err == nil {
		t.Error("Sign of a report without receipt: no error")
	}
}

// Every byte of a signed report matters: changing any one of them makes
// the file unreadable or its signature fail.
func TestVerifyEveryByteFlip(t *testing.T) {
	_, data, _ := signedSample(t)
	flips := 0
	try := func(i int, mask byte) {
		edited := bytes.Clone(data)
		edited[i] ^= mask
		if _, err := VerifyReport(edited, nil); err == nil {
			t.Errorf("byte %d (%q) xor %#x: still verifies; context %q", i, data[i], mask, data[max(0, i-30):min(len(data), i+30)])
		}
		flips++
	}
	for i := range data {
		try(i, 0x01) // every position, lowest bit
		if i%7 == 0 {
			try(i, 0x20) // letter case, space/NUL
			try(i, 0x80) // invalid UTF-8
		}
	}
	// Case of hex digits in \u escapes: the same string in JSON, but
	// not the same bytes.
	for i := 0; i+6 <= len(data); i++ {
		if data[i] == '\\' && data[i+1] == 'u' {
			for j := i + 2; j < i+6; j++ {
				if c := data[j]; c >= 'a' && c <= 'f' {
					try(j, 0x20)
				}
			}
		}
	}
	if !bytes.Contains(data, []byte(`\u003c`)) {
		t.Error("sample report has no escaped character: the escape case is not tested")
	}
	t.Logf("%d single-byte edits of a %d-byte report, all caught", flips, len(data))
}

func TestSignKeyFiles(t *testing.T) {
	privPEM, pubPEM, err := NewSignKey()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParseSignKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Error("public key file does not match the private key")
	}
	for _, tc := range []struct {
		name string
		data []byte
		pub  bool
		want string
	}{
		{"public as private", pubPEM, false, `want "PRIVATE KEY"`},
		{"private as public", privPEM, true, `want "PUBLIC KEY"`},
		{"not PEM", []byte("hello"), false, "no PEM block"},
		{"two blocks", append(bytes.Clone(pubPEM), pubPEM...), true, "more than one PEM block"},
		{"bad DER", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), false, "not a PKCS #8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.pub {
				_, err = ParsePublicKey(tc.data)
			} else {
				_, err = ParseSignKey(tc.data)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}
