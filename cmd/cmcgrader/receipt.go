package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/escape"
)

func (a *app) receiptCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "receipt",
		Short: "Make signing keys and verify signed reports",
		Long: `Every JSON report carries a receipt: the inputs of the grading (commit,
tree, base, bank and task digests, image, limits, versions). Signed with
grade --sign-key, the report REPORT gets a signature file REPORT.sig that
signs its exact bytes, so that editing any byte of it is caught by
receipt verify.`,
		Args: noArgs,
	}
	var out string
	keygen := &cobra.Command{
		Use:   "keygen --out KEYFILE",
		Short: "Make an ed25519 key pair: KEYFILE (private, mode 0600) and KEYFILE.pub",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if out == "" {
				return usageError{errors.New("--out is required: the private key file to write")}
			}
			return a.keygen(out)
		},
	}
	keygen.Flags().StringVar(&out, "out", "", "private key file to write; the public key goes to this name plus .pub (required)")

	var pub string
	verify := &cobra.Command{
		Use:   "verify [--pub KEYFILE.pub] REPORT",
		Short: "Check the signature of a JSON report",
		Long: `Verify checks that REPORT.sig signs REPORT, byte for byte: exit status 0
and "signature OK" when it does, 1 with what failed otherwise. With --pub
the report must be signed by that key. Without --pub the key written in
REPORT.sig is used, which shows only that the two files belong together
(anyone can sign an edited report with a key of their own): compare the
fingerprint it prints with the grader's.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("%s takes one report file, got %d arguments", cmd.CommandPath(), len(args))}
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error { return a.verify(args[0], pub) },
	}
	verify.Flags().StringVar(&pub, "pub", "", "public key file (PEM) the report must be signed by")
	cmd.AddCommand(keygen, verify)
	return cmd
}

func (a *app) keygen(out string) error {
	pubOut := out + ".pub"
	for _, f := range []string{out, pubOut} {
		if _, err := os.Lstat(f); err == nil {
			return fmt.Errorf("%s exists: remove it or choose another --out; a key is never overwritten", f)
		}
	}
	priv, pub, err := report.NewSignKey()
	if err != nil {
		return err
	}
	key, _ := report.ParsePublicKey(pub)
	if err := writeNew(out, priv, 0o600); err != nil {
		return err
	}
	if err := writeNew(pubOut, pub, 0o644); err != nil {
		os.Remove(out)
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %s (private: keep it secret) and %s\nkey %s\n", out, pubOut, report.KeyFingerprint(key))
	return nil
}

// writeNew writes a file that must not exist yet.
func writeNew(name string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write key: %w (does its folder exist?)", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}

func (a *app) verify(file, pubFile string) error {
	trusted, err := loadPublicKey(pubFile)
	if err != nil {
		return err
	}
	data, sig, err := report.ReadFile(file)
	if err != nil {
		return err
	}
	v, err := report.VerifyReport(data, sig, trusted)
	if err != nil {
		return fmt.Errorf("%s: verification failed: %w", file, err)
	}
	by := "the key in " + pubFile
	if trusted == nil {
		by = "the key in " + report.SignaturePath(file) + ", not checked"
	}
	// The name of the file proves nothing: say whose report it is.
	rep := v.Report
	about := "repository " + escape.Line(rep.Repository)
	if rep.Form != nil {
		about += fmt.Sprintf(", candidate %s attempt %d", escape.Line(rep.Form.Candidate), rep.Form.Attempt)
	}
	fmt.Fprintf(a.stdout, "signature OK: %s, signed by %s (%s); %s, commit %s, verdict %s\n",
		escape.Line(file), v.KeyFingerprint, escape.Line(by), about, escape.Line(rep.Commit), escape.Line(string(rep.Verdict)))
	if trusted == nil {
		fmt.Fprintf(a.stdout, "this shows only that the report is intact: anyone can sign an edited report with a key of their own; compare %s with the grader's key, or verify with --pub\n", v.KeyFingerprint)
	}
	return nil
}

// loadPublicKey reads a public key file (--pub); no name means no key.
func loadPublicKey(name string) (ed25519.PublicKey, error) {
	if name == "" {
		return nil, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--pub: %w", err)
	}
	key, err := report.ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("--pub %s: %w", name, err)
	}
	return key, nil
}

// loadSignKey reads a private key file, which only its owner may read;
// no name means no key.
func loadSignKey(name string) (ed25519.PrivateKey, error) {
	if name == "" {
		return nil, nil
	}
	key, err := report.ReadSignKeyFile(name)
	if err != nil {
		return nil, fmt.Errorf("--sign-key: %w", err)
	}
	return key, nil
}
