package gitref

import (
	"strings"
	"unicode"
)

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

// IsBranch reports whether name is a short branch name (main,
// cmc/answers) that git and go-git accept as refs/heads/NAME:
//
//   - no part (between slashes) is empty or "@", starts with "." or ends
//     with ".lock";
//   - it holds no "..", "@{", space, control character or any of
//     ~^:?*[\ and does not end with ".".
//
// It must not start with "-" (it would read as an option) nor with
// "refs/" (a full name, not a short one).
func IsBranch(name string) bool {
	switch {
	case name == "",
		strings.HasPrefix(name, "-"), strings.HasPrefix(name, "refs/"),
		strings.HasSuffix(name, "."),
		strings.Contains(name, ".."), strings.Contains(name, "@{"),
		strings.ContainsAny(name, " ~^:?*[\\"),
		strings.IndexFunc(name, unicode.IsControl) >= 0:
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "@" || strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return false
		}
	}
	return true
}
