package protocol

import (
	"archive/tar"
	"bytes"
	"io"
)

// WorkspaceReadError marks a failure to read sandbox.Spec.Workspace while
// it was sent: the grader's fault, unlike a failed write to a sandbox
// that already ended.
type WorkspaceReadError struct{ Err error }

func (e *WorkspaceReadError) Error() string { return "read workspace: " + e.Err.Error() }

// Unwrap returns the read error.
func (e *WorkspaceReadError) Unwrap() error { return e.Err }

// Stdin is what a backend writes to the supervisor's standard input: the
// private section (PrivateFiles), then the workspace tar, or an empty
// archive when ws is nil. An error reading ws comes out as a
// *WorkspaceReadError.
func Stdin(private []byte, ws io.Reader) io.Reader {
	if ws == nil {
		var empty bytes.Buffer
		_ = tar.NewWriter(&empty).Close()
		ws = &empty
	}
	return markReadErrors{io.MultiReader(bytes.NewReader(private), ws)}
}

// markReadErrors wraps r's errors, but io.EOF, in WorkspaceReadError.
type markReadErrors struct{ r io.Reader }

func (m markReadErrors) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if err != nil && err != io.EOF {
		err = &WorkspaceReadError{err}
	}
	return n, err
}
