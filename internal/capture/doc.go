// Package capture keeps a bounded part of a stream the grader reads,
// however much is written: the head, the tail or both, with one marker
// line where bytes were dropped. Every cap on captured output goes
// through it: a sandbox's stdout and stderr, a failed test's output and
// the compiler's, the tail of a build tool's messages.
//
// The marker is the same everywhere, "[cmcgrader: 1234 bytes cut]" on a
// line of its own, and every note the grader writes into captured output
// starts with Mark, so readers of that output (such as
// testout.Results.FirstError) skip such lines.
//
// Example:
//
//	out := capture.New(8 << 20) // the first and the last 4 MiB
//	io.Copy(out, stream)
//	if out.Truncated() {
//		// out.Bytes() holds the head, the marker and the tail
//	}
package capture
