package report

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
)

// Key files are PEM: the private key a "PRIVATE KEY" block (PKCS #8), the
// public key a "PUBLIC KEY" block (PKIX), as openssl writes them for
// ed25519 keys (`openssl genpkey -algorithm ed25519`).
const (
	pemPrivate = "PRIVATE KEY"
	pemPublic  = "PUBLIC KEY"
)

// NewSignKey makes an ed25519 key pair and returns the PEM private and
// public key files.
func NewSignKey() (private, public []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("encode private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivate, Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: pubDER}), nil
}

// ParseSignKey reads a PEM private key file made by NewSignKey (or
// openssl).
func ParseSignKey(data []byte) (ed25519.PrivateKey, error) {
	der, err := onePEM(data, pemPrivate)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS #8 private key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an ed25519 key; make one with `cmcgrader receipt keygen`", k)
	}
	return priv, nil
}

// ParsePublicKey reads a PEM public key file made by NewSignKey (or
// openssl).
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	der, err := onePEM(data, pemPublic)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a PKIX public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an ed25519 key", k)
	}
	return pub, nil
}

// onePEM returns the bytes of the single PEM block of type typ in data.
func onePEM(data []byte, typ string) ([]byte, error) {
	b, rest := pem.Decode(data)
	switch {
	case b == nil:
		return nil, errors.New("no PEM block: want a " + typ + " file")
	case b.Type != typ:
		return nil, fmt.Errorf("a PEM %q block, want %q", b.Type, typ)
	case len(b.Headers) > 0:
		return nil, fmt.Errorf("the PEM %s block has headers (an encrypted key?); want a plain one", typ)
	}
	if extra, _ := pem.Decode(rest); extra != nil {
		return nil, fmt.Errorf("more than one PEM block; want one %s", typ)
	}
	return b.Bytes, nil
}

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
