package protocol

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestStdin(t *testing.T) {
	private := PrivateFiles(map[string][]byte{"a": []byte("x")}, "nonce")

	// A nil workspace is an empty archive after the private section.
	got, err := io.ReadAll(Stdin(private, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, private) {
		t.Fatal("the private section does not come first")
	}
	if _, err := tar.NewReader(bytes.NewReader(got[len(private):])).Next(); err != io.EOF {
		t.Errorf("after the private section: %v, want an empty archive", err)
	}

	// A workspace that cannot be read is the grader's fault, and says so.
	boom := errors.New("disk gone")
	_, err = io.ReadAll(Stdin(private, iotest.ErrReader(boom)))
	var rerr *WorkspaceReadError
	if !errors.As(err, &rerr) || !errors.Is(err, boom) {
		t.Errorf("read error = %v, want a WorkspaceReadError wrapping %v", err, boom)
	}
}
