package report

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/cmcgrader/cmcgrader/internal/jsonout"
)

// SignatureAlgorithm is the only algorithm of Signature.
const SignatureAlgorithm = "ed25519"

// signatureDomain opens every signed message, so that a report signature
// can never be taken for a signature of something else.
const signatureDomain = "cmcgrader report signature v1\n"

// Signature signs a whole report. It is kept in the report's receipt.
//
// The signed message is signatureDomain followed by the report's JSON in
// compact form (insignificant whitespace removed, nothing else changed)
// with the signature's "value" emptied. A signed report file must also be
// laid out exactly as the grader writes it (two-space indent, one
// trailing newline), so that no byte of the file can change unnoticed.
type Signature struct {
	// Algorithm is "ed25519".
	Algorithm string `json:"algorithm"`
	// PublicKey is the signer's raw 32-byte ed25519 key, in standard
	// base64.
	PublicKey string `json:"public_key"`
	// KeyFingerprint is KeyFingerprint(PublicKey).
	KeyFingerprint string `json:"key_fingerprint"`
	// Value is the 64-byte signature in standard base64.
	Value string `json:"value"`
}

// Errors of VerifyReport; test with errors.Is.
var (
	// ErrUnsigned means the report has no receipt or no signature.
	ErrUnsigned = errors.New("report is not signed")
	// ErrBadSignature means the signature does not match the report.
	ErrBadSignature = errors.New("signature does not match")
	// ErrWrongKey means the report was signed by another key than the
	// one trusted.
	ErrWrongKey = errors.New("signed by another key")
	// ErrMalformed means the file is not a report the grader wrote.
	ErrMalformed = errors.New("malformed signed report")
)

// b64 is strict: a base64 text has exactly one reading, so that no edit
// of a key or signature decodes to the same bytes.
var b64 = base64.StdEncoding.Strict()

// KeyFingerprint returns "sha256:" and the hex SHA-256 of the key in PKIX
// DER form, the bytes of the PEM public key file: `openssl pkey -pubin
// -in KEY.pub -outform DER | sha256sum` prints the same digest.
func KeyFingerprint(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		// Only a key of the wrong length fails; callers check lengths.
		return "sha256:invalid-key"
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Sign signs the report with key: it puts a Signature in the receipt.
// WriteJSON then writes the signed report; change nothing after signing.
func (r *Report) Sign(key ed25519.PrivateKey) error {
	if r.Receipt == nil {
		return errors.New("sign report: it has no receipt")
	}
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("sign report: the key has %d bytes, an ed25519 private key has %d", len(key), ed25519.PrivateKeySize)
	}
	pub := key.Public().(ed25519.PublicKey)
	sig := &Signature{
		Algorithm:      SignatureAlgorithm,
		PublicKey:      b64.EncodeToString(pub),
		KeyFingerprint: KeyFingerprint(pub),
	}
	r.Receipt.Signature = sig
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		r.Receipt.Signature = nil
		return fmt.Errorf("sign report: %w", err)
	}
	msg, _, err := signedMessage(buf.Bytes())
	if err != nil {
		r.Receipt.Signature = nil
		return fmt.Errorf("sign report: %w", err)
	}
	sig.Value = b64.EncodeToString(ed25519.Sign(key, msg))
	// Check what will be written, so that a report that could not be
	// verified is never handed out.
	buf.Reset()
	if err := r.WriteJSON(&buf); err != nil {
		return fmt.Errorf("sign report: %w", err)
	}
	if _, err := VerifyReport(buf.Bytes(), pub); err != nil {
		r.Receipt.Signature = nil
		return fmt.Errorf("sign report: the signed report does not verify: %w", err)
	}
	return nil
}

// Verified is what VerifyReport found.
type Verified struct {
	// Report is the parsed report.
	Report *Report
	// KeyFingerprint names the key that signed it.
	KeyFingerprint string
}

// VerifyReport checks the signature of a report file's bytes. With a
// trusted key, the report must be signed by that key; without one, by the
// key it embeds (whose fingerprint the caller should check). The error
// wraps ErrMalformed, ErrUnsigned, ErrWrongKey or ErrBadSignature and says
// what failed.
func VerifyReport(data []byte, trusted ed25519.PublicKey) (*Verified, error) {
	msg, value, err := signedMessage(data)
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if rep.Receipt == nil {
		return nil, fmt.Errorf("%w: it has no receipt", ErrUnsigned)
	}
	sig := rep.Receipt.Signature
	if sig == nil || value == nil {
		return nil, fmt.Errorf("%w: its receipt has no signature; grade with --sign-key to sign", ErrUnsigned)
	}
	if sig.Algorithm != SignatureAlgorithm {
		return nil, fmt.Errorf("%w: signature algorithm %q, want %q", ErrMalformed, sig.Algorithm, SignatureAlgorithm)
	}
	pub, err := b64.DecodeString(sig.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: receipt.signature.public_key is not a base64 ed25519 key", ErrMalformed)
	}
	if fp := KeyFingerprint(pub); fp != sig.KeyFingerprint {
		return nil, fmt.Errorf("%w: receipt.signature.key_fingerprint %s does not match its public key (%s)", ErrBadSignature, sig.KeyFingerprint, fp)
	}
	if trusted != nil && !bytes.Equal(pub, trusted) {
		return nil, fmt.Errorf("%w: the report was signed by %s, not by the trusted key %s", ErrWrongKey, sig.KeyFingerprint, KeyFingerprint(trusted))
	}
	raw, err := b64.DecodeString(*value)
	if err != nil || len(raw) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: receipt.signature.value is not a base64 ed25519 signature", ErrMalformed)
	}
	if !ed25519.Verify(pub, msg, raw) {
		return nil, fmt.Errorf("%w: the report was changed after it was signed by %s", ErrBadSignature, sig.KeyFingerprint)
	}
	return &Verified{Report: &rep, KeyFingerprint: sig.KeyFingerprint}, nil
}

// signedMessage returns the message a report file's signature signs and
// the signature value found in it (nil when there is none). It fails
// unless data is laid out exactly as WriteJSON writes.
func signedMessage(data []byte) ([]byte, *string, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		return nil, nil, fmt.Errorf("%w: not JSON: %v", ErrMalformed, err)
	}
	layout, err := jsonout.Layout(compact.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !bytes.Equal(layout, data) {
		at := firstDiff(layout, data)
		return nil, nil, fmt.Errorf("%w: byte %d: whitespace differs from the layout the grader writes (the file was re-indented or edited)", ErrMalformed, at)
	}
	c := compact.Bytes()
	start, end, err := signatureValue(c)
	if err != nil {
		return nil, nil, err
	}
	msg := append([]byte(signatureDomain), c...)
	if start < 0 {
		return msg, nil, nil
	}
	var value string
	if err := json.Unmarshal(c[start:end], &value); err != nil {
		return nil, nil, fmt.Errorf("%w: receipt.signature.value: %v", ErrMalformed, err)
	}
	msg = append(append(append([]byte(signatureDomain), c[:start]...), `""`...), c[end:]...)
	return msg, &value, nil
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// signatureValue finds, in compact JSON, the bytes [start, end) of the
// string at receipt.signature.value; start is -1 when there is none. A
// path that occurs twice, or holds no string, is an error.
func signatureValue(compact []byte) (start, end int, err error) {
	start, end = -1, -1
	dec := json.NewDecoder(bytes.NewReader(compact))
	dec.UseNumber()
	var stack []level
	want := []string{"receipt", "signature", "value"}
	onPath := func() bool {
		if len(stack) != len(want) {
			return false
		}
		for i, l := range stack {
			if !l.object || l.key != want[i] {
				return false
			}
		}
		return true
	}
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			return start, end, nil
		}
		if err != nil {
			return -1, -1, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].atKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				markValue(stack)
				continue
			}
			stack[n-1].key, stack[n-1].atKey = tok.(string), false
			continue
		}
		// tok is a value (or the end of an array).
		if onPath() {
			if _, ok := tok.(string); !ok {
				return -1, -1, fmt.Errorf("%w: receipt.signature.value is not a string", ErrMalformed)
			}
			if start >= 0 {
				return -1, -1, fmt.Errorf("%w: receipt.signature.value occurs twice", ErrMalformed)
			}
			// In compact JSON the value starts after the key's colon.
			start, end = int(before)+1, int(dec.InputOffset())
			if compact[before] != ':' || compact[start] != '"' {
				return -1, -1, fmt.Errorf("%w: cannot locate receipt.signature.value", ErrMalformed)
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{object: true, atKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, level{})
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		markValue(stack)
	}
}

// level is one open container while walking JSON tokens.
type level struct {
	object bool   // an object (else an array)
	key    string // the key whose value is being read (objects)
	atKey  bool   // the next token is a key or the closing brace
}

// markValue notes that a value of the innermost container was read.
func markValue(stack []level) {
	if n := len(stack); n > 0 && stack[n-1].object {
		stack[n-1].atKey = true
	}
}
