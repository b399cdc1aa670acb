package tamper

// What Scan flags by path, and the build files it looks into.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// checkGoMod flags replace directives added, changed or removed.
func (r *tamperRun) checkGoMod(c treeChange) error {
	cand, base, big, err := r.bothSides(c)
	if err != nil || big != "" {
		if big != "" {
			r.flag(report.TamperBuildFile, c.path, "", "go.mod "+changeVerb(c)+"; not checked: "+big)
		}
		return err
	}
	cr, br := replaceLines(cand), replaceLines(base)
	var added, removed []string
	for _, l := range cr {
		if !slices.Contains(br, l) {
			added = append(added, l)
		}
	}
	for _, l := range br {
		if !slices.Contains(cr, l) {
			removed = append(removed, l)
		}
	}
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "replace added: "+strings.Join(added, "; "))
	}
	if len(removed) > 0 {
		parts = append(parts, "replace removed: "+strings.Join(removed, "; "))
	}
	if len(parts) > 0 {
		r.flag(report.TamperBuildFile, c.path, "", "go.mod "+strings.Join(parts, "; "))
	}
	return nil
}

// replaceLines returns the replace directives of a go.mod, one per
// replacement, with spaces normalized and comments dropped.
func replaceLines(gomod []byte) []string {
	var out []string
	block := false
	for _, line := range strings.Split(string(gomod), "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case block && f[0] == ")":
			block = false
		case block:
			out = append(out, "replace "+strings.Join(f, " "))
		case f[0] == "replace" && len(f) >= 2 && f[1] == "(":
			block = true
		case f[0] == "replace" || strings.HasPrefix(f[0], "replace("):
			out = append(out, strings.Join(f, " "))
		}
	}
	return out
}

// lockfiles are the package managers' lockfiles, by file name.
var lockfiles = []string{"package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "bun.lock"}

// checkPackageJSON flags changes to the "scripts" of a package.json, and
// to the keys that configure jest and Vitest or choose packages.
func (r *tamperRun) checkPackageJSON(c treeChange) error {
	cand, base, big, err := r.bothSides(c)
	if err != nil || big != "" {
		if big != "" {
			r.flag(report.TamperBuildFile, c.path, "", "package.json "+changeVerb(c)+"; not checked: "+big)
		}
		return err
	}
	cs, cerr := jsonScripts(cand)
	bs, _ := jsonScripts(base)
	if cerr != nil {
		r.flag(report.TamperBuildFile, c.path, "", "package.json "+changeVerb(c)+" and not valid JSON: "+cerr.Error())
		return nil
	}
	var changed []string
	for _, k := range slices.Sorted(maps.Keys(cs)) {
		if bv, ok := bs[k]; !ok || !bytes.Equal(bv, cs[k]) {
			changed = append(changed, strconv.Quote(k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(bs)) {
		if _, ok := cs[k]; !ok {
			changed = append(changed, strconv.Quote(k)+" (removed)")
		}
	}
	if len(changed) > 0 {
		r.flag(report.TamperBuildFile, c.path, "", "package.json scripts changed: "+strings.Join(changed, ", "))
	}
	ck, bk := jsonKeys(cand), jsonKeys(base)
	var keys []string
	for _, k := range packageKeys {
		if !bytes.Equal(ck[k], bk[k]) {
			keys = append(keys, strconv.Quote(k))
		}
	}
	if len(keys) > 0 {
		r.flag(report.TamperBuildFile, c.path, "", "package.json "+strings.Join(keys, ", ")+" changed; grading uses the base commit's")
	}
	return nil
}

// packageKeys are the keys of a package.json that configure the test
// runners or choose the packages installed.
var packageKeys = []string{"jest", "vitest", "dependencies", "devDependencies", "peerDependencies", "optionalDependencies",
	"overrides", "resolutions", "imports", "exports", "type", "main", "workspaces"}

// jsonKeys returns packageKeys of a package.json, each as compact raw
// JSON; nil for data that is not a JSON object.
func jsonKeys(data []byte) map[string][]byte {
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &raw) != nil {
		return nil
	}
	out := map[string][]byte{}
	for _, k := range packageKeys {
		var b bytes.Buffer
		if v, ok := raw[k]; ok && json.Compact(&b, v) == nil {
			out[k] = b.Bytes()
		}
	}
	return out
}

// jsonScripts returns the "scripts" of a package.json, each as raw JSON
// with spaces removed. Nil data (no such file) has none.
func jsonScripts(data []byte) (map[string]json.RawMessage, error) {
	if data == nil {
		return nil, nil
	}
	var pkg struct {
		Scripts map[string]json.RawMessage `json:"scripts"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return nil, err
	}
	for k, v := range pkg.Scripts {
		var b bytes.Buffer
		if json.Compact(&b, v) == nil {
			pkg.Scripts[k] = b.Bytes()
		}
	}
	return pkg.Scripts, nil
}

// hiddenPaths maps every hidden file path to the tasks that put it there.
func hiddenPaths(bank *tasks.Bank) map[string][]string {
	m := map[string][]string{}
	if bank == nil {
		return m
	}
	for _, t := range bank.Tasks {
		for _, h := range t.Hidden {
			if !slices.Contains(m[h.Path], t.ID) {
				m[h.Path] = append(m[h.Path], t.ID)
			}
		}
	}
	return m
}

func oneTask(ids []string) string {
	if len(ids) == 1 {
		return ids[0]
	}
	return ""
}

// Test files: names and folders.
var (
	testSuffixes = []string{"_test.go"}
	testInfixes  = []string{".test.", ".spec."}
	testDirs     = []string{"testdata", "__tests__", "__mocks__", "__snapshots__", "__fixtures__", "testutil", "testutils", "testhelper", "testhelpers"}
	testConfigs  = []string{"jest.config.", "vitest.config.", "karma.conf.", "playwright.config.", "cypress.config.", ".mocharc", "setuptests.", "jest.setup."}
)

// isTestPath reports whether p is a test file, a test helper, test
// configuration or test data.
func isTestPath(p string) bool {
	parts := strings.Split(p, "/")
	for _, d := range parts[:len(parts)-1] {
		if slices.Contains(testDirs, strings.ToLower(d)) {
			return true
		}
	}
	base := strings.ToLower(parts[len(parts)-1])
	for _, s := range testSuffixes {
		if strings.HasSuffix(base, s) {
			return true
		}
	}
	for _, s := range testInfixes {
		if i := strings.Index(base, s); i > 0 && !strings.Contains(base[i+len(s):], "/") {
			return true
		}
	}
	for _, s := range testConfigs {
		if strings.HasPrefix(base, s) {
			return true
		}
	}
	return false
}

// CI configuration: files and folders.
var (
	ciFiles = []string{".gitlab-ci.yml", ".travis.yml", "azure-pipelines.yml", "jenkinsfile", ".drone.yml", "appveyor.yml", "bitbucket-pipelines.yml", ".woodpecker.yml", "cloudbuild.yaml", "cloudbuild.yml"}
	ciDirs  = []string{".github/workflows/", ".github/actions/", ".circleci/", ".buildkite/", ".woodpecker/", ".gitlab/ci/", ".tekton/"}
)

// isCIPath reports whether p is CI configuration.
func isCIPath(p string) bool {
	lp := strings.ToLower(p)
	if slices.Contains(ciFiles, lp) {
		return true
	}
	for _, d := range ciDirs {
		if strings.HasPrefix(lp, d) {
			return true
		}
	}
	return false
}

func isMakefile(base string) bool {
	switch base {
	case "Makefile", "makefile", "GNUmakefile":
		return true
	}
	return strings.HasSuffix(base, ".mk")
}

// vendorRoot returns the vendor folder p is in (the first one from the
// root), if any.
func vendorRoot(p string) (string, bool) {
	parts := strings.Split(p, "/")
	for i, c := range parts[:len(parts)-1] {
		if c == "vendor" {
			return strings.Join(parts[:i+1], "/"), true
		}
	}
	return "", false
}

// vendorChange counts the changes under one vendor folder.
type vendorChange struct{ added, modified, deleted int }

func (v *vendorChange) count(c treeChange) {
	switch {
	case !c.base.present():
		v.added++
	case !c.cand.present():
		v.deleted++
	default:
		v.modified++
	}
}

func (v *vendorChange) detail(baseHas bool) string {
	if !baseHas {
		return fmt.Sprintf("vendor folder added (%d files): vendored code replaces the modules the base's go.mod requires", v.added)
	}
	return fmt.Sprintf("vendored code changed: %d files added, %d modified, %d deleted", v.added, v.modified, v.deleted)
}

// displayPath writes a path for reports, Go-quoted when it is not
// printable UTF-8.
func displayPath(p string) string {
	if !utf8.ValidString(p) || strings.IndexFunc(p, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0 {
		return strconv.Quote(p)
	}
	return p
}

func displayDir(dir string) string {
	if dir == "" {
		return "the root folder"
	}
	return displayPath(dir)
}
