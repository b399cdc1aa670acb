package tasks

import (
	"go/token"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	idRE        = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	goVersionRE = regexp.MustCompile(`^[1-9][0-9]*\.[0-9]+(\.[0-9]+|rc[0-9]+|beta[0-9]+)?$`)
)

func isExam(name string) bool {
	for _, e := range Exams {
		if e == name {
			return true
		}
	}
	return false
}

func examList() string { return strings.Join(Exams, ", ") }

// checkRepoPath returns what is wrong with p as a path relative to the
// repository root, or "".
func checkRepoPath(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case strings.ContainsRune(p, '\\'):
		return "must use / between folders"
	case strings.IndexFunc(p, unicode.IsControl) >= 0:
		return "must not hold control characters"
	case path.IsAbs(p):
		return "must be relative to the repository root, not absolute"
	}
	for _, elem := range strings.Split(p, "/") {
		if elem == ".." {
			return "must not climb out with .."
		}
	}
	if clean := path.Clean(p); clean != p || p == "." {
		return "must be a clean path (no ./, // or trailing /), like " + quote(clean)
	}
	if first, _, _ := strings.Cut(p, "/"); first == ".git" {
		return "must not be inside .git"
	}
	return ""
}

func quote(s string) string { return `"` + s + `"` }

// checkGoPattern returns what is wrong with p as a go test package
// pattern, or "". Patterns are ./dir, ./dir/... or ./... so that go test
// can never read one as a flag.
func checkGoPattern(p string) string {
	rest, ok := strings.CutPrefix(p, "./")
	if !ok {
		return "must start with ./, like ./server/handlers"
	}
	if rest == "..." {
		return ""
	}
	elems := strings.Split(rest, "/")
	for i, e := range elems {
		if e == "..." && i == len(elems)-1 && i > 0 {
			continue
		}
		if e == "" || e == "." || e == ".." || strings.Contains(e, "...") ||
			strings.ContainsRune(e, '\\') || strings.IndexFunc(e, unicode.IsSpace) >= 0 || strings.IndexFunc(e, unicode.IsControl) >= 0 {
			return "must be a clean package path, like ./server/handlers or ./server/..."
		}
	}
	return ""
}

// checkGoTestName returns what is wrong with name as a test name go test
// reports ("TestX" or "TestX/sub"), or "".
func checkGoTestName(name string) string {
	if strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return "must not hold white space; go test reports subtest names with _ in its place"
	}
	top, sub, hasSub := strings.Cut(name, "/")
	if !isTestFunc(top) {
		return "must start with a test function name, TestXxx (or FuzzXxx, ExampleXxx)"
	}
	if hasSub {
		for _, s := range strings.Split(sub, "/") {
			if s == "" {
				return "must not have an empty subtest name"
			}
		}
	}
	return ""
}

// isTestFunc reports whether go test runs a top-level function of this
// name: Test, Fuzz or Example, then nothing or a non-lowercase rune.
func isTestFunc(name string) bool {
	if !token.IsIdentifier(name) {
		return false
	}
	for _, prefix := range []string{"Test", "Fuzz", "Example"} {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		if rest == "" {
			return true
		}
		r, _ := utf8.DecodeRuneInString(rest)
		return !unicode.IsLower(r)
	}
	return false
}

// checkRepoURL returns what is wrong with a base repository URL, or "".
func checkRepoURL(u string) string {
	switch {
	case strings.HasPrefix(u, "-"):
		return "must not start with -"
	case strings.IndexFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "must not hold white space or control characters"
	}
	return ""
}
