// Package protocol is what every sandbox backend says to the supervisor
// in the grading image (sandbox/docker/supervise), and how it reads the
// answer, so that all backends run a sandbox.Spec the same way:
//
//   - the container's user, entrypoint and arguments (SupervisorUser,
//     Entrypoint, Args) and its environment (Env);
//   - on stdin, the private section (PrivateFiles) ahead of the
//     workspace tar;
//   - on stderr, the ready marker (Preamble) and the run's record behind
//     its nonce (RecordCutter), both taken out of what the candidate
//     printed.
//
// What is left of stdout and stderr is kept within Limits.OutputBytes by
// package internal/capture, whose marker the test output parsers know.
//
// Example, reading a run's stderr:
//
//	stderr := capture.New(int(lim.OutputBytes))
//	rec := protocol.NewRecordCutter(stderr, nonce)
//	pre := protocol.NewPreamble(protocol.ReadyMarker, rec, protocol.PreambleMax)
//	// ... copy the container's stderr to pre, then:
//	_ = rec.Flush()
//	exits := rec.Exits()
//	if ok, _ := pre.Found(); !ok {
//		// setup failed: pre.Before() holds the supervisor's message
//	}
package protocol
