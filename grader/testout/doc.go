// Package testout parses what test runners print: the stream of
// `go test -json` (ParseGo) and JUnit XML (ParseJUnit, as Node's test
// runner with the cmcgrader reporter, Vitest and jest-junit write it). Both
// return Results: every reported Test with its Status (Pass, Fail or Skip),
// its duration and, for a failure, its output; whether the build failed and
// what the compiler said; and whether the stream ended early.
//
// The input is untrusted: candidate code runs the tests and can print
// anything. What a parser keeps is bounded (a failure's output to
// MaxTestOutput, build output to MaxBuildOutput, each with a marker where it
// was cut), a test that never reported a result counts as failed, and odd
// input is data, not an error: ParseGo fails only when its reader does, and
// ParseJUnit also when the document is malformed or not JUnit.
//
// Scoring is not done here; package grader compares Results with a task's
// hidden tests.
//
//	res, err := testout.ParseGo(stdout)
//	if err != nil {
//		return err // the output could not be read
//	}
//	for _, t := range res.Tests {
//		fmt.Println(t.Status, t.Name)
//	}
package testout
