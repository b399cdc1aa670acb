// Package jsentry writes the entry modules of JavaScript runs: the ES
// module node reads on its standard input (node --input-type=module),
// which the grader keeps private to the run (sandbox.Spec.Private), so
// that candidate code can read neither it nor the token it holds.
//
// For `node --test` (NodeTest) the entry imports a guard first, then the
// hidden test files, then declares the check test. For jest (Jest) it
// hands the test files, the check test's name and the token to the
// image's jest driver (sandbox.JestDriverPath), which runs them with the
// grader's configuration and reports the check test when jest ran to its
// end.
//
// Example:
//
//	src := jsentry.Jest([]string{"ui/hidden/bytes.test.js"}, "zz 1f2e", token, "")
//	spec.Private["entry.mjs"], spec.Stdin = src, "entry.mjs"
package jsentry
