// Package gitref checks the names of commits the grader is given (a
// submission's commit, a bank's base ref), the same way wherever they
// come in: the task bank, the command line and the fetch. It imports no
// git library, so that packages which must know nothing of git (tasks)
// can use it.
//
// Example:
//
//	if gitref.IsCommit(ref) {
//		opts.Commit = ref
//	} else {
//		opts.Branch = ref
//	}
package gitref

// IsCommit reports whether s is a full commit SHA as the grader takes
// one: 40 lower-case hexadecimal digits. Abbreviated SHAs cannot be
// fetched; upper-case ones are not git's spelling (callers that accept
// them lower them first).
func IsCommit(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
