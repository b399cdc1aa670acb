// Package gitref checks the names of commits and branches the grader is
// given (a submission's branch or commit, a bank's base ref), the same way
// wherever they come in: the task bank, the command line and the fetch.
// It imports no git library, so that packages which must know nothing of
// git (tasks) can use it.
//
// Example:
//
//	switch {
//	case gitref.IsCommit(ref):
//		opts.Commit = ref
//	case gitref.IsBranch(ref):
//		opts.Branch = ref
//	default:
//		return fmt.Errorf("%q is neither a branch name nor a full commit SHA", ref)
//	}
package gitref
