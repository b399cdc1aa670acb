// Package tamper compares a candidate's tree with the base's and finds
// what a proctor should review (Scan): changed test files, test helpers
// and testdata; changed build files and CI configuration; build
// constraints; and capabilities, what changed code can do to a test
// process's output, exit status or test framework. Go is parsed and
// type-checked with go/parser and go/types from the objects in memory
// (never from files on the grader's disk); JavaScript with a JavaScript
// parser. Each capability names the tasks whose tests reach it, through
// Go imports within the module or JS imports.
//
// It reads the trees through package repo and never imports git itself;
// its findings are report.TamperFlag values. A finding never changes a
// score on its own: a reached capability holds the task for review (see
// report.Hold).
package tamper
