package tasks

import (
	"regexp"
	"strings"
)

var (
	regoIdentRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	regoPackageRE = regexp.MustCompile(`(?m)^[ \t]*package[ \t]+([A-Za-z_][A-Za-z0-9_.]*)[ \t]*(?:#.*)?\r?$`)
)

// checkRegoTestName returns what is wrong with name as an opa task's test,
// or "": a test rule by its full path, data.<package>.test_<name>, with a
// package of plain identifiers.
func checkRegoTestName(name string) string {
	const want = "want a test rule by its full path, like data.models.policy.test_allow"
	rest, ok := strings.CutPrefix(name, "data.")
	if !ok {
		return want
	}
	parts := strings.Split(rest, ".")
	if len(parts) < 2 {
		return want
	}
	for _, p := range parts {
		if !regoIdentRE.MatchString(p) {
			return want + " (package and rule names are identifiers: letters, digits, _)"
		}
	}
	if !strings.HasPrefix(parts[len(parts)-1], "test_") {
		return "opa runs only rules whose name starts with test_; " + want
	}
	return ""
}

// splitRegoTest splits a valid test name into its package and rule.
func splitRegoTest(name string) (pkg, rule string) {
	rest := strings.TrimPrefix(name, "data.")
	i := strings.LastIndexByte(rest, '.')
	return rest[:i], rest[i+1:]
}

// regoRuleIn reports whether a file of files declares name's package and
// starts a line with its rule.
func regoRuleIn(name string, files []HiddenFile) bool {
	pkg, rule := splitRegoTest(name)
	ruleRE := regexp.MustCompile(`(?m)^[ \t]*` + regexp.QuoteMeta(rule) + `\b`)
	for _, f := range files {
		m := regoPackageRE.FindSubmatch(f.Data)
		if m != nil && string(m[1]) == pkg && ruleRE.Match(f.Data) {
			return true
		}
	}
	return false
}
