// Package plan decides how a candidate's tasks share sandboxes, and gives
// each task its own results back from a run it shared.
//
// Go tasks run together, in one sandbox and one go test invocation over
// all their packages, when nothing of one task can change what another
// sees: their hidden files agree, they restore the same files from the
// base, and no two of them declare a test of the same name in the same
// folder. Every other task (JavaScript, OPA) runs alone. Results are
// attributed by package: a task keeps the results reported by the test
// binaries of the folders that hold its hidden tests, never a result of
// another binary, whatever its name.
//
//	units := plan.Units(bank.Tasks)           // [][]int, by index
//	merged := plan.Merge(tasksOf(units[0]))   // one task that runs them all
//	// ... run merged; pkgs maps each hidden folder to its import path
//	perTask := plan.Split(tasksOf(units[0]), results, pkgs)
package plan
