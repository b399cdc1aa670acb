package report

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/gradertest"
	"github.com/cmcgrader/cmcgrader/grader/testout"
	"github.com/cmcgrader/cmcgrader/sandbox"
)

func TestReceiptTasks(t *testing.T) {
	bank := gradertest.Bank()
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

	changed := gradertest.Bank()
	changed.Digest = "e"
	changed.Tasks[0].Hidden[0].Data = []byte("package handlers // changed\n")
	rc2 := &Receipt{Bank: ReceiptBank{Name: "b", Digest: "d", Tasks: []TaskDigest{
		{ID: "server-h", Digest: gradertest.Bank().Tasks[0].Digest()}, {ID: "gone"},
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

// signedSample returns a sample report file, its signature file and the
// key that signed it.
func signedSample(t *testing.T) (data, sig []byte, key ed25519.PrivateKey) {
	t.Helper()
	privPEM, _, err := NewSignKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err = ParseSignKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	data = reportBytes(t, sampleReport())
	sig, err = SignReport(data, key)
	if err != nil {
		t.Fatal(err)
	}
	return data, sig, key
}

func reportBytes(t *testing.T, rep *Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
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
			Exams:   []ExamScore{{Name: "server", Points: 1.5, Possible: 2, Percent: 75, Threshold: 70, Verdict: Pass, Tasks: 1}},
			Overall: 15, Verdict: Fail,
		},
		Tasks: []TaskGrade{{
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
	data, sig, key := signedSample(t)
	pub := key.Public().(ed25519.PublicKey)
	v, err := VerifyReport(data, sig, nil)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if v.KeyFingerprint != KeyFingerprint(pub) || !strings.HasPrefix(v.KeyFingerprint, "sha256:") {
		t.Errorf("fingerprint %s, want %s", v.KeyFingerprint, KeyFingerprint(pub))
	}
	if v.Report.Tasks[0].Points != 1.5 || v.Report.Commit != strings.Repeat("c", 40) {
		t.Errorf("parsed report %+v", v.Report.Tasks[0])
	}
	if _, err := VerifyReport(data, sig, pub); err != nil {
		t.Errorf("verify with the signer's key: %v", err)
	}
	if bytes.Contains(data, []byte("signature")) {
		t.Error("the signed report mentions its signature; it should not change when signed")
	}

	// The signature file is the documented layout.
	var fields map[string]string
	if err := json.Unmarshal(sig, &fields); err != nil {
		t.Fatal(err)
	}
	if len(fields) != 4 || fields["algorithm"] != "ed25519" || fields["key_fingerprint"] != KeyFingerprint(pub) ||
		fields["public_key"] != base64.StdEncoding.EncodeToString(pub) {
		t.Errorf("signature file %s", sig)
	}
	// It signs the domain line and the file's bytes: ed25519 alone
	// checks it, without this package.
	raw, _ := base64.StdEncoding.DecodeString(fields["signature"])
	if !ed25519.Verify(pub, append([]byte("cmcgrader report signature v2\n"), data...), raw) {
		t.Error("the signature is not over the domain line and the file's bytes")
	}

	if _, err := VerifyReport(data, nil, nil); !errors.Is(err, ErrUnsigned) {
		t.Errorf("no signature file: err = %v, want ErrUnsigned", err)
	}
	if _, err := SignReport(data, make(ed25519.PrivateKey, 10)); err == nil {
		t.Error("SignReport with a short key: no error")
	}
	if _, err := SignReport([]byte("not a report"), key); !errors.Is(err, ErrMalformed) {
		t.Errorf("SignReport of bytes that are no report: err = %v, want ErrMalformed", err)
	}
}

// TestVerifyAttacks edits the report, the signature file or both, as
// someone who holds them but not the grader's key would.
func TestVerifyAttacks(t *testing.T) {
	data, sig, key := signedSample(t)
	pub := key.Public().(ed25519.PublicKey)
	_, otherPEM, _ := NewSignKey()
	other, _ := ParsePublicKey(otherPEM)
	attackerPEM, _, _ := NewSignKey()
	attacker, _ := ParseSignKey(attackerPEM)

	edited := sampleReport()
	edited.Tasks[0].Points = 2
	editedData := reportBytes(t, edited)
	bob := sampleReport()
	bob.Repository = "https://example.com/bob/meshery.git"
	bobData := reportBytes(t, bob)
	bobSig, err := SignReport(bobData, key)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		t.Fatal(err)
	}
	var s Signature
	if err := json.Unmarshal(sig, &s); err != nil {
		t.Fatal(err)
	}
	// with returns the signature file with one field changed.
	with := func(edit func(*Signature)) []byte {
		c := s
		edit(&c)
		return c.encode()
	}
	raw, _ := base64.StdEncoding.DecodeString(s.Value)
	resigned := func(msg []byte) func(*Signature) {
		return func(c *Signature) { c.Value = base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg)) }
	}

	for _, tc := range []struct {
		name      string
		data, sig []byte
		trusted   ed25519.PublicKey
		want      error // nil: it verifies
	}{
		{name: "intact", data: data, sig: sig},
		{name: "intact, trusted key", data: data, sig: sig, trusted: pub},
		{name: "another trusted key", data: data, sig: sig, trusted: other, want: ErrWrongKey},
		{name: "score edited", data: editedData, sig: sig, want: ErrBadSignature},
		{name: "re-indented", data: compact.Bytes(), sig: sig, want: ErrBadSignature},
		{name: "final newline dropped", data: data[:len(data)-1], sig: sig, want: ErrBadSignature},
		{name: "truncated to half", data: data[:len(data)/2], sig: sig, want: ErrBadSignature},
		{name: "empty report", data: []byte{}, sig: sig, want: ErrBadSignature},
		{name: "report with trailing newline", data: append(bytes.Clone(data), '\n'), sig: sig, want: ErrBadSignature},
		{name: "report with a second object", data: append(bytes.Clone(data), "{}\n"...), sig: sig, want: ErrBadSignature},
		{name: "signature of another report", data: data, sig: bobSig, want: ErrBadSignature},
		{name: "another report with this signature", data: bobData, sig: sig, want: ErrBadSignature},
		{name: "no domain line", data: data, sig: with(resigned(data)), want: ErrBadSignature},
		{name: "earlier domain line", data: data, sig: with(resigned(append([]byte("cmcgrader report signature v1\n"), data...))), want: ErrBadSignature},
		{
			// Whoever edits a report can sign it with a key of their
			// own: the embedded key shows only that the files belong
			// together, the trusted key refuses them.
			name: "edited and signed again by another key, embedded key",
			data: editedData, sig: mustSign(t, editedData, attacker),
		},
		{name: "edited and signed again by another key, trusted key", data: editedData, sig: mustSign(t, editedData, attacker), trusted: pub, want: ErrWrongKey},
		{name: "public key swapped, fingerprint kept", data: data, sig: with(func(c *Signature) { c.PublicKey = base64.StdEncoding.EncodeToString(other) }), want: ErrMalformed},
		{name: "fingerprint of another key", data: data, sig: with(func(c *Signature) { c.KeyFingerprint = KeyFingerprint(other) }), want: ErrMalformed},
		{name: "key and fingerprint of another key", data: data, sig: with(func(c *Signature) {
			c.PublicKey, c.KeyFingerprint = base64.StdEncoding.EncodeToString(other), KeyFingerprint(other)
		}), want: ErrBadSignature},
		{name: "unknown algorithm", data: data, sig: with(func(c *Signature) { c.Algorithm = "ed448" }), want: ErrMalformed},
		{name: "algorithm in capitals", data: data, sig: with(func(c *Signature) { c.Algorithm = "Ed25519" }), want: ErrMalformed},
		{name: "no algorithm", data: data, sig: with(func(c *Signature) { c.Algorithm = "" }), want: ErrMalformed},
		{name: "signature not base64", data: data, sig: with(func(c *Signature) { c.Value = "!" + c.Value[1:] }), want: ErrMalformed},
		{name: "signature in URL base64", data: data, sig: with(func(c *Signature) {
			// A signature whose encoding has no + or / reads the same in
			// both alphabets: put a URL-alphabet character in it then.
			if c.Value = base64.URLEncoding.EncodeToString(raw); !strings.ContainsAny(c.Value, "-_") {
				c.Value = "-" + c.Value[1:]
			}
		}), want: ErrMalformed},
		{name: "signature without padding", data: data, sig: with(func(c *Signature) { c.Value = strings.TrimRight(c.Value, "=") }), want: ErrMalformed},
		{name: "signature with a line break", data: data, sig: with(func(c *Signature) { c.Value = c.Value[:40] + "\n" + c.Value[40:] }), want: ErrMalformed},
		{name: "signature padding bits set", data: data, sig: with(func(c *Signature) { c.Value = nonzeroPadding(c.Value) }), want: ErrMalformed},
		{name: "signature cut short", data: data, sig: with(func(c *Signature) { c.Value = base64.StdEncoding.EncodeToString(raw[:63]) }), want: ErrMalformed},
		{name: "signature extended", data: data, sig: with(func(c *Signature) { c.Value = base64.StdEncoding.EncodeToString(append(bytes.Clone(raw), 0)) }), want: ErrMalformed},
		{name: "public key cut short", data: data, sig: with(func(c *Signature) { c.PublicKey = base64.StdEncoding.EncodeToString(pub[:31]) }), want: ErrMalformed},
		{name: "signature file empty", data: data, sig: []byte{}, want: ErrMalformed},
		{name: "signature file null", data: data, sig: []byte("null\n"), want: ErrMalformed},
		{name: "signature file an array", data: data, sig: []byte("[]\n"), want: ErrMalformed},
		{name: "signature file with trailing data", data: data, sig: append(bytes.Clone(sig), "{}\n"...), want: ErrMalformed},
		{name: "signature file with trailing newline", data: data, sig: append(bytes.Clone(sig), '\n'), want: ErrMalformed},
		{name: "signature file compacted", data: data, sig: compacted(t, sig), want: ErrMalformed},
		{name: "signature file with an unknown field", data: data, sig: bytes.Replace(sig, []byte("{\n"), []byte("{\n  \"trusted\": true,\n"), 1), want: ErrMalformed},
		{name: "signature file with a field twice", data: data, sig: bytes.Replace(sig, []byte("{\n"), []byte("{\n  \"algorithm\": \"ed448\",\n"), 1), want: ErrMalformed},
		{name: "signature file key in capitals", data: data, sig: bytes.Replace(sig, []byte(`"algorithm"`), []byte(`"Algorithm"`), 1), want: ErrMalformed},
		{name: "signature file escape", data: data, sig: bytes.Replace(sig, []byte(`"ed25519"`), []byte(`"\u0065d25519"`), 1), want: ErrMalformed},
		{name: "signature file too large", data: data, sig: append(bytes.Clone(sig), bytes.Repeat([]byte(" "), MaxSignatureSize)...), want: ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyReport(tc.data, tc.sig, tc.trusted)
			switch {
			case tc.want == nil && err != nil:
				t.Errorf("err = %v, want it to verify", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func mustSign(t *testing.T, data []byte, key ed25519.PrivateKey) []byte {
	t.Helper()
	sig, err := SignReport(data, key)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func compacted(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// nonzeroPadding returns the padded base64 text s with the lowest unused
// bit of its last character set: the same bytes to a lenient decoder.
func nonzeroPadding(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := len(strings.TrimRight(s, "=")) - 1
	return s[:i] + string(alphabet[strings.IndexByte(alphabet, s[i])|1]) + s[i+1:]
}

// Every byte of a signed report and of its signature file matters:
// changing any one of them, removing it, or cutting the file short there
// makes the signature fail.
func TestVerifyEveryByteFlip(t *testing.T) {
	data, sig, _ := signedSample(t)
	edits := 0
	check := func(what string, i int, d, s []byte) {
		t.Helper()
		if _, err := VerifyReport(d, s, nil); err == nil {
			t.Errorf("%s at byte %d: still verifies", what, i)
		}
		edits++
	}
	flip := func(b []byte, i int, mask byte) []byte {
		c := bytes.Clone(b)
		c[i] ^= mask
		return c
	}
	for i := range data {
		check("report: flip 0x01", i, flip(data, i, 0x01), sig)
		if i%7 == 0 {
			check("report: flip 0x20", i, flip(data, i, 0x20), sig) // letter case, space/NUL
			check("report: flip 0x80", i, flip(data, i, 0x80), sig) // invalid UTF-8
		}
		if i%5 == 0 {
			check("report: cut", i, data[:i], sig)
			check("report: byte removed", i, append(bytes.Clone(data[:i]), data[i+1:]...), sig)
		}
	}
	// Case of hex digits in \u escapes: the same string in JSON, but
	// not the same bytes.
	for i := 0; i+6 <= len(data); i++ {
		if data[i] == '\\' && data[i+1] == 'u' {
			for j := i + 2; j < i+6; j++ {
				if c := data[j]; c >= 'a' && c <= 'f' {
					check("report: \\u escape case", j, flip(data, j, 0x20), sig)
				}
			}
		}
	}
	if !bytes.Contains(data, []byte(`\u003c`)) {
		t.Error("sample report has no escaped character: the escape case is not tested")
	}
	// The signature file is small: every bit of every byte.
	for i := range sig {
		for bit := range 8 {
			check("signature file: flip", i, data, flip(sig, i, 1<<bit))
		}
		check("signature file: cut", i, data, sig[:i])
		check("signature file: byte removed", i, data, append(bytes.Clone(sig[:i]), sig[i+1:]...))
	}
	t.Logf("%d edits of a %d-byte report and its %d-byte signature file, all caught", edits, len(data), len(sig))
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

// TestSignFileDomains checks that a signature made for one kind of file
// never verifies as one of another kind: a report's is no freeze's, and
// the reverse, whatever the bytes.
func TestSignFileDomains(t *testing.T) {
	data, reportSig, key := signedSample(t)
	pub := key.Public().(ed25519.PublicKey)
	const freeze = "cmcgrader freeze signature v1\n"
	const other = "cmcgrader roster signature v1\n"

	freezeSig, err := SignFile(freeze, data, key)
	if err != nil {
		t.Fatalf("SignFile: %v", err)
	}
	if fp, err := VerifyFile(freeze, data, freezeSig, pub); err != nil || fp != KeyFingerprint(pub) {
		t.Errorf("VerifyFile of its own signature = %q, %v; want the signer's fingerprint", fp, err)
	}
	// The signature is over the freeze's domain line and the bytes.
	var s Signature
	if err := json.Unmarshal(freezeSig, &s); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(s.Value)
	if !ed25519.Verify(pub, append([]byte(freeze), data...), raw) {
		t.Error("the signature is not over the freeze domain line and the file's bytes")
	}

	for _, tc := range []struct {
		name   string
		verify func() error
		want   error
	}{
		{"report signature as a freeze's", func() error { _, err := VerifyFile(freeze, data, reportSig, nil); return err }, ErrBadSignature},
		{"freeze signature as a report's", func() error { _, err := VerifyReport(data, freezeSig, nil); return err }, ErrBadSignature},
		{"freeze signature as another kind's", func() error { _, err := VerifyFile(other, data, freezeSig, pub); return err }, ErrBadSignature},
		{"freeze signature, another key trusted", func() error {
			otherPub, _, _ := ed25519.GenerateKey(nil)
			_, err := VerifyFile(freeze, data, freezeSig, otherPub)
			return err
		}, ErrWrongKey},
		{"freeze edited", func() error { _, err := VerifyFile(freeze, append(bytes.Clone(data), ' '), freezeSig, nil); return err }, ErrBadSignature},
		{"no signature file", func() error { _, err := VerifyFile(freeze, data, nil, nil); return err }, ErrUnsigned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.verify()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "report") && !strings.Contains(tc.name, "as a report") {
				t.Errorf("error %q speaks of a report", err)
			}
		})
	}

	// A report's domain, or one that is not a domain line, is refused.
	for _, bad := range []string{signatureDomain, "cmcgrader report signature v1\n", "cmcgrader freeze signature v1", "freeze\n", "cmcgrader Freeze signature v1\n", "cmcgrader freeze signature v1\nx\n", ""} {
		if _, err := SignFile(bad, data, key); err == nil {
			t.Errorf("SignFile with domain %q: no error", bad)
		}
		if _, err := VerifyFile(bad, data, freezeSig, nil); err == nil {
			t.Errorf("VerifyFile with domain %q: no error", bad)
		}
	}
}
