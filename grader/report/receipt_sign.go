package report

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// A signed report is two files: the report as the grader wrote it, and
// next to it a signature file (SignaturePath: the report's name plus
// ".sig") that signs the report file's exact bytes. Nothing in the report
// refers to its signature, so the report is never parsed, re-encoded or
// edited to be verified: the bytes read from disk are the bytes checked,
// and any change to them, to a single bit, a trailing newline or the
// order of keys, fails the check.
//
// The signature file is a small JSON object in one exact layout, as
// (Signature).encode writes it:
//
//	{
//	  "algorithm": "ed25519",
//	  "key_fingerprint": "sha256:<hex>",
//	  "public_key": "<base64 of the raw 32-byte key>",
//	  "signature": "<base64 of the 64-byte signature>"
//	}
//
// and the message signed is signatureDomain followed by the report file's
// bytes, unchanged. The design, against someone who may edit either file:
//
//   - Domain separation: the message opens with a line that names this
//     use and its version, so that a signature made with the same key
//     for anything else (another file, a report signature of the earlier
//     embedded form, which began "cmcgrader report signature v1") is
//     never a valid report signature, and the reverse. Other kinds of
//     file (a cohort's freeze) are signed the same way with a domain line
//     of their own (SignFile, VerifyFile), so that neither kind of
//     signature ever vouches for the other.
//   - Exact bytes, whole file: the signed message ends with the file, so
//     a report edited, re-indented, cut short or extended after signing
//     fails, and a signature file moved next to another report (another
//     candidate's, or a later version of the same) fails, because that
//     report's bytes differ. The file's name is not signed: a report
//     says itself whose it is (repository, commit, form), and a verifier
//     reads that from the verified report, not from the name.
//   - Which key: the signature file carries the public key only so that
//     a report can be checked for integrity without the key at hand.
//     Whoever edits a report can also sign it again with a key of their
//     own and embed that key: a check against the embedded key proves
//     only that the two files belong together. Proof of who signed needs
//     the trusted key (VerifyReport's trusted argument: receipt verify
//     --pub), or a comparison of the fingerprint with the grader's.
//   - One spelling: the signature file is refused unless it is exactly
//     the bytes the grader writes for its fields (no other whitespace,
//     key case or order, escapes, unknown fields or trailing data), its
//     base64 is canonical (strict padding, no line breaks), the key
//     fingerprint is the public key's, and the algorithm is "ed25519";
//     any other algorithm name is refused rather than guessed at. The
//     file is small and read with a bound (MaxSignatureSize).
//   - Order: the signature is checked before the report is parsed at
//     all; the report is parsed only to say what it is about.
//
// The signature file is evidence about the report, which stays the
// authoritative record: a report with no signature file is unsigned, and
// one whose signature file does not match is not to be trusted.

// SignatureAlgorithm is the only algorithm of signature files.
const SignatureAlgorithm = "ed25519"

// signatureDomain opens every signed message (see above).
const signatureDomain = "cmcgrader report signature v2\n"

// MaxSignatureSize bounds a signature file: the grader's are about 250
// bytes. Read at most this many bytes plus one, and let VerifyReport
// refuse a larger file.
const MaxSignatureSize = 1 << 10

// SignaturePath returns the name of the signature file of the report file
// name: name plus ".sig".
func SignaturePath(name string) string { return name + ".sig" }

// Signature is the content of a signature file.
type Signature struct {
	// Algorithm is "ed25519".
	Algorithm string `json:"algorithm"`
	// KeyFingerprint is KeyFingerprint of the public key.
	KeyFingerprint string `json:"key_fingerprint"`
	// PublicKey is the signer's raw 32-byte ed25519 key, in standard
	// base64.
	PublicKey string `json:"public_key"`
	// Value is the 64-byte ed25519 signature of signatureDomain and the
	// report file's bytes, in standard base64.
	Value string `json:"signature"`
}

// encode returns the signature file's bytes: the only layout accepted.
func (s *Signature) encode() []byte {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(err) // four strings always encode
	}
	return append(b, '\n')
}

// Errors of VerifyReport; test with errors.Is.
var (
	// ErrUnsigned means there is no signature file.
	ErrUnsigned = errors.New("report is not signed")
	// ErrBadSignature means the signature does not match the report.
	ErrBadSignature = errors.New("signature does not match")
	// ErrWrongKey means the report was signed by another key than the
	// one trusted.
	ErrWrongKey = errors.New("signed by another key")
	// ErrMalformed means the signature file is not one the grader
	// writes, or what it signs is not a report.
	ErrMalformed = errors.New("malformed signature")
)

// b64 is strict: trailing padding bits must be zero. It still skips line
// breaks, so decodeExact also checks that the text is the canonical
// encoding of what it decodes to.
var b64 = base64.StdEncoding.Strict()

// signer is one use of signature files: the domain line its messages
// open with, and what its files are called in errors.
type signer struct{ domain, noun string }

// reportSigner signs and checks report files.
var reportSigner = signer{domain: signatureDomain, noun: "report"}

// message returns the message a signature of data signs.
func (s signer) message(data []byte) []byte {
	msg := make([]byte, 0, len(s.domain)+len(data))
	return append(append(msg, s.domain...), data...)
}

// sign returns the bytes of the signature file of data.
func (s signer) sign(data []byte, key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign %s: the key has %d bytes, an ed25519 private key has %d", s.noun, len(key), ed25519.PrivateKeySize)
	}
	pub := key.Public().(ed25519.PublicKey)
	sig := Signature{
		Algorithm:      SignatureAlgorithm,
		KeyFingerprint: KeyFingerprint(pub),
		PublicKey:      b64.EncodeToString(pub),
		Value:          b64.EncodeToString(ed25519.Sign(key, s.message(data))),
	}
	return sig.encode(), nil
}

// verify checks that sig signs data (see VerifyReport) and returns the
// fingerprint of the key that signed it.
func (s signer) verify(data, sig []byte, trusted ed25519.PublicKey) (string, error) {
	if sig == nil {
		return "", unsignedError{s.noun}
	}
	parsed, err := parseSignature(sig)
	if err != nil {
		return "", err
	}
	pub, _ := decodeExact(parsed.PublicKey, ed25519.PublicKeySize) // parseSignature checked it
	value, _ := decodeExact(parsed.Value, ed25519.SignatureSize)
	if trusted != nil && !bytes.Equal(pub, trusted) {
		return "", fmt.Errorf("%w: the %s was signed by %s, not by the trusted key %s", ErrWrongKey, s.noun, parsed.KeyFingerprint, KeyFingerprint(trusted))
	}
	if !ed25519.Verify(pub, s.message(data), value) {
		return "", fmt.Errorf("%w: the %s's bytes are not the ones %s signed: the %s was changed after signing, or the signature file is another %s's",
			ErrBadSignature, s.noun, parsed.KeyFingerprint, s.noun, s.noun)
	}
	return parsed.KeyFingerprint, nil
}

// unsignedError is ErrUnsigned for a file of another kind than a report.
type unsignedError struct{ noun string }

func (e unsignedError) Error() string {
	if e.noun == reportSigner.noun {
		return ErrUnsigned.Error() + ": it has no signature file; grade with --sign-key to sign"
	}
	return e.noun + " is not signed: it has no signature file; sign it with --sign-key"
}

func (e unsignedError) Is(target error) bool { return target == ErrUnsigned }

// SignReport signs the exact bytes of a report file (as WriteJSON wrote
// them) and returns the bytes of its signature file. Write both, and
// change neither after signing: the signature fails for any other bytes.
func SignReport(data []byte, key ed25519.PrivateKey) ([]byte, error) {
	out, err := reportSigner.sign(data, key)
	if err != nil {
		return nil, err
	}
	// Check what will be written, so that a signature that could not be
	// verified (of bytes that are not a report) is never handed out.
	if _, err := VerifyReport(data, out, key.Public().(ed25519.PublicKey)); err != nil {
		return nil, fmt.Errorf("sign report: the signature does not verify: %w", err)
	}
	return out, nil
}

// Verified is what VerifyReport found.
type Verified struct {
	// Report is the parsed report, read from the verified bytes.
	Report *Report
	// KeyFingerprint names the key that signed it.
	KeyFingerprint string
}

// VerifyReport checks that sig, the bytes of a signature file, signs
// data, the bytes of a report file. A nil sig means there is no
// signature file (ErrUnsigned). With a trusted key the report must be
// signed by that key; without one, by the key the signature file embeds,
// which proves only that the two files belong together (see above): the
// caller should then compare the fingerprint with the grader's. The
// error wraps ErrMalformed, ErrUnsigned, ErrWrongKey or ErrBadSignature
// and says what failed.
func VerifyReport(data, sig []byte, trusted ed25519.PublicKey) (*Verified, error) {
	fp, err := reportSigner.verify(data, sig, trusted)
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("%w: the signed file is not a JSON report: %v", ErrMalformed, err)
	}
	return &Verified{Report: &rep, KeyFingerprint: fp}, nil
}

// SignFile signs the exact bytes of a file of another kind than a report,
// with a domain line of its own (see above), and returns the bytes of its
// signature file, in the report's layout. domain names the kind of file
// and the version of its signatures, as one line:
// "cmcgrader KIND signature vN\n" (for instance "cmcgrader freeze
// signature v1\n"); a report's is refused: reports are signed with
// SignReport. A signature made for one domain never verifies for another.
func SignFile(domain string, data []byte, key ed25519.PrivateKey) ([]byte, error) {
	s, err := fileSigner(domain)
	if err != nil {
		return nil, err
	}
	out, err := s.sign(data, key)
	if err != nil {
		return nil, err
	}
	if _, err := s.verify(data, out, key.Public().(ed25519.PublicKey)); err != nil {
		return nil, fmt.Errorf("sign %s: the signature does not verify: %w", s.noun, err)
	}
	return out, nil
}

// VerifyFile checks that sig, the bytes of a signature file, signs data
// for domain (see SignFile), as VerifyReport checks a report's, and
// returns the fingerprint of the key that signed it. The error wraps
// ErrMalformed, ErrUnsigned, ErrWrongKey or ErrBadSignature.
func VerifyFile(domain string, data, sig []byte, trusted ed25519.PublicKey) (string, error) {
	s, err := fileSigner(domain)
	if err != nil {
		return "", err
	}
	return s.verify(data, sig, trusted)
}

// fileSigner returns the signer of domain, which must be a line
// "cmcgrader KIND signature vN\n" whose KIND is a lower-case word other
// than report.
func fileSigner(domain string) (signer, error) {
	line, ok := strings.CutSuffix(domain, "\n")
	kind, version, ok2 := strings.Cut(strings.TrimPrefix(line, "cmcgrader "), " signature v")
	switch {
	case !ok || !ok2 || !strings.HasPrefix(line, "cmcgrader ") || !isWord(kind) || !isDigits(version):
		return signer{}, fmt.Errorf("signature domain %q: want one line \"cmcgrader KIND signature vN\"", domain)
	case kind == reportSigner.noun:
		return signer{}, fmt.Errorf("signature domain %q: reports are signed with SignReport", domain)
	}
	return signer{domain: domain, noun: kind}, nil
}

func isWord(s string) bool {
	for _, r := range s {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return s != ""
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// parseSignature reads a signature file and checks that it is exactly
// one the grader writes, with a well-formed key and signature.
func parseSignature(b []byte) (*Signature, error) {
	if len(b) > MaxSignatureSize {
		return nil, fmt.Errorf("%w: the signature file has more than %d bytes", ErrMalformed, MaxSignatureSize)
	}
	var s Signature
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: not a signature file: %v", ErrMalformed, err)
	}
	if s.Algorithm != SignatureAlgorithm {
		return nil, fmt.Errorf("%w: algorithm %q: only %q signatures are made and checked", ErrMalformed, s.Algorithm, SignatureAlgorithm)
	}
	pub, ok := decodeExact(s.PublicKey, ed25519.PublicKeySize)
	if !ok {
		return nil, fmt.Errorf("%w: public_key is not the base64 of a %d-byte ed25519 key", ErrMalformed, ed25519.PublicKeySize)
	}
	if _, ok := decodeExact(s.Value, ed25519.SignatureSize); !ok {
		return nil, fmt.Errorf("%w: signature is not the base64 of a %d-byte ed25519 signature", ErrMalformed, ed25519.SignatureSize)
	}
	if fp := KeyFingerprint(pub); fp != s.KeyFingerprint {
		return nil, fmt.Errorf("%w: key_fingerprint %q is not the fingerprint of public_key (%s)", ErrMalformed, s.KeyFingerprint, fp)
	}
	if !bytes.Equal(s.encode(), b) {
		return nil, fmt.Errorf("%w: the signature file is not laid out as the grader writes it (spacing, key order or case, escapes or trailing data differ)", ErrMalformed)
	}
	return &s, nil
}

// decodeExact decodes the canonical standard base64 of exactly n bytes.
func decodeExact(s string, n int) ([]byte, bool) {
	b, err := b64.DecodeString(s)
	if err != nil || len(b) != n || b64.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}
