package tamper

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// tamperBank tests ./server/handlers (server-health, whose hidden file is
// server/handlers/cmc_health_test.go), ./server/extensions/... (ext) and
// one JS file (ui).
var tamperBank = &tasks.Bank{Tasks: []*tasks.Task{
	{ID: "server-health", Runner: tasks.RunnerGo, Packages: []string{"./server/handlers"},
		Hidden: []tasks.HiddenFile{{Path: "server/handlers/cmc_health_test.go"}}},
	{ID: "ext", Runner: tasks.RunnerGo, Packages: []string{"./server/extensions/..."},
		Hidden: []tasks.HiddenFile{{Path: "server/extensions/cmc_ext_test.go"}}},
	{ID: "ui", Runner: tasks.RunnerJS, Packages: []string{"ui/src/hidden/cmc.test.mjs"},
		Hidden: []tasks.HiddenFile{{Path: "ui/src/hidden/cmc.test.mjs"}}},
}}

// tamperBase is the base tree of every case.
var tamperBase = map[string]string{
	"go.mod":                           "module example.com/meshery\n\ngo 1.26\n\nrequire example.com/dep v1.0.0\n",
	"go.sum":                           "example.com/dep v1.0.0 h1:x\n",
	"Makefile":                         "test:\n\tgo test ./...\n",
	"ui/package.json":                  `{"name": "ui", "version": "1.0.0", "scripts": {"test": "node --test"}}` + "\n",
	"server/handlers/h.go":             "package handlers\n\nfunc init() {}\n\nfunc H() {}\n",
	"server/handlers/h_test.go":        "package handlers\n\nimport \"testing\"\n\nfunc TestH(t *testing.T) {}\n",
	"server/extensions/hooks/hooks.go": "package hooks\n\nfunc Chain() {}\n",
	"server/other/o.go":                "package other\n",
	"server/helpers/helpers.go":        "//go:build linux\n\npackage helpers\n",
	".github/workflows/ci.yml":         "on: push\n",
	"README.md":                        "# meshery\n",
}

// Special contents in a case's changes.
const (
	deleted = "\x00delete" // remove the path
	linkTo  = "\x00link:"  // a symlink to the rest
)

// tamperSnapshots commits tamperBase on main and base with changes on
// branch cand, and fetches both.
func tamperSnapshots(t *testing.T, changes map[string]string) (cand, base *repo.Snapshot) {
	t.Helper()
	work := gittest.InitWork(t)
	gittest.WriteFiles(t, work, tamperBase)
	gittest.CommitAll(t, work, "base")
	gittest.Git(t, work, "checkout", "-q", "-b", "cand")
	files := map[string]string{}
	for p, c := range changes {
		full := filepath.Join(work, filepath.FromSlash(p))
		switch {
		case c == deleted:
			if err := os.RemoveAll(full); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(c, linkTo):
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			os.Remove(full)
			if err := os.Symlink(strings.TrimPrefix(c, linkTo), full); err != nil {
				t.Fatal(err)
			}
		default:
			files[p] = c
		}
	}
	gittest.WriteFiles(t, work, files)
	gittest.CommitAll(t, work, "candidate")
	bare := gittest.Publish(t, work, t.TempDir(), "fork")
	fetch := func(branch string) *repo.Snapshot {
		s, err := repo.Fetch(context.Background(), gittest.Log(t), repo.FetchOptions{URL: bare, Branch: branch})
		if err != nil {
			t.Fatalf("fetch %s: %v", branch, err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return fetch("cand"), fetch("main")
}

// flagStrings writes flags as "kind path [task]: detail".
func flagStrings(flags []report.TamperFlag) []string {
	var out []string
	for _, f := range flags {
		s := string(f.Kind) + " " + f.Path
		if f.Task != "" {
			s += " [" + f.Task + "]"
		}
		out = append(out, s+": "+f.Detail)
	}
	return out
}

func TestTamperReport(t *testing.T) {
	bigGo := "package handlers\n\nvar Big = `" + strings.Repeat("x", ParseBytes) + "`\n"
	tests := []struct {
		name    string
		changes map[string]string
		// want holds "kind path [task]" prefixes, one per flag, in order;
		// a ": detail" part must be contained in the flag's detail.
		want []string
	}{
		{name: "no change", changes: map[string]string{}, want: nil},
		{name: "a plain solution", changes: map[string]string{
			"server/handlers/h.go":     "package handlers\n\nfunc init() {}\n\nfunc H() { println() }\n",
			"server/handlers/new.go":   "package handlers\n\nfunc New() {}\n",
			"README.md":                "# meshery, solved\n",
			"ui/src/lib/format.mjs":    "export const f = 1;\n",
			"server/other/o.go":        "package other\n\nfunc init() {}\n", // not under test
			"go.mod":                   "module example.com/meshery\n\ngo 1.26\n\nrequire example.com/dep v1.1.0\n",
			"go.sum":                   "example.com/dep v1.1.0 h1:y\n",
			"ui/package.json":          `{"name": "ui", "version": "1.0.1", "scripts": {"test":  "node --test"}}`,
			"server/handlers/h_doc.md": "docs\n",
		}, want: []string{"init-code server/other/o.go: init function"}},
		{name: "test files", changes: map[string]string{
			"server/handlers/h_test.go":            "package handlers\n",
			"server/handlers/cmc_health_test.go":   "package handlers\n",
			"server/handlers/testdata/golden.json": "{}\n",
			"ui/src/__tests__/a.js":                "x\n",
			"ui/src/lib/format.spec.ts":            "x\n",
			"ui/src/lib/format.test.mjs":           "x\n",
			"ui/jest.config.js":                    "x\n",
			"server/internal/testutil/helpers.go":  "package testutil\n",
		}, want: []string{
			"test-file server/handlers/cmc_health_test.go [server-health]: added; grading puts the hidden file of server-health here instead",
			"test-file server/handlers/h_test.go: test file modified",
			"test-file server/handlers/testdata/golden.json: added",
			"test-file server/internal/testutil/helpers.go: added",
			"test-file ui/jest.config.js: added",
			"test-file ui/src/__tests__/a.js: added",
			"test-file ui/src/lib/format.spec.ts: added",
			"test-framework ui/src/lib/format.spec.ts: not analysed: file type not analysed",
			"test-file ui/src/lib/format.test.mjs: added",
		}},
		{name: "deleted test file", changes: map[string]string{"server/handlers/h_test.go": deleted},
			want: []string{"test-file server/handlers/h_test.go: test file deleted"}},
		{name: "symlink at a hidden test's path", changes: map[string]string{
			"server/handlers/cmc_health_test.go": linkTo + "h_test.go",
		}, want: []string{"test-file server/handlers/cmc_health_test.go [server-health]: added as a symlink; grading puts"}},
		{name: "build files", changes: map[string]string{
			"Makefile":          "test:\n\ttrue\n",
			"tools/build.mk":    "x:\n",
			"go.work":           "go 1.26\n\nuse .\n",
			"ui/.npmrc":         "registry=http://evil\n",
			"mesheryctl/go.mod": "module example.com/ctl\n\nreplace (\n\texample.com/dep => ../dep // local\n\texample.com/b v1.0.0 => example.com/c v1.0.0\n)\n",
		}, want: []string{
			"build-file Makefile: Makefile modified",
			"build-file go.work: go.work added",
			"build-file mesheryctl/go.mod: go.mod replace added: replace example.com/dep => ../dep; replace example.com/b v1.0.0 => example.com/c v1.0.0",
			"build-file tools/build.mk: Makefile added",
			"build-file ui/.npmrc: package manager configuration added",
		}},
		{name: "go.mod replace", changes: map[string]string{
			"go.mod": "module example.com/meshery\n\ngo 1.26\n\nrequire example.com/dep v1.0.0\n\nreplace example.com/dep   =>   ./fake\n",
		}, want: []string{"build-file go.mod: go.mod replace added: replace example.com/dep => ./fake"}},
		{name: "package.json scripts", changes: map[string]string{
			"ui/package.json":       `{"name": "ui", "scripts": {"test": "echo ok", "pretest": "node x.js"}}`,
			"ui/other/package.json": `{"scripts": {"build": "x"}}`,
			"ui/bad/package.json":   `{"scripts": `,
		}, want: []string{
			"build-file ui/bad/package.json: package.json added and not valid JSON",
			"build-file ui/other/package.json: package.json scripts changed: \"build\"",
			"build-file ui/package.json: package.json scripts changed: \"pretest\", \"test\"",
		}},
		{name: "package.json jest configuration and lockfiles", changes: map[string]string{
			"ui/package.json":      `{"name": "ui", "version": "1.0.0", "scripts": {"test": "node --test"}, "jest": {"setupFiles": ["./pass-all.js"]}, "dependencies": {"left-pad": "1.0.0"}}`,
			"ui/package-lock.json": `{"lockfileVersion": 3}`,
			"yarn.lock":            "# yarn lockfile v1\n",
		}, want: []string{
			"build-file ui/package-lock.json: lockfile added; grading installs the base commit's packages",
			"build-file ui/package.json: package.json \"jest\", \"dependencies\" changed; grading uses the base commit's",
			"build-file yarn.lock: lockfile added; grading installs the base commit's packages",
		}},
		{name: "vendor folder", changes: map[string]string{
			"vendor/modules.txt":                 "# example.com/dep v1.0.0\n",
			"vendor/example.com/dep/dep.go":      "package dep\n",
			"vendor/example.com/dep/dep_test.go": "package dep\n",
		}, want: []string{"build-file vendor: vendor folder added (3 files)"}},
		{name: "CI", changes: map[string]string{
			".github/workflows/ci.yml": "on: pull_request\n",
			".gitlab-ci.yml":           "test: {}\n",
			".circleci/config.yml":     "version: 2\n",
			".github/CODEOWNERS":       "* @me\n",
		}, want: []string{
			"ci-config .circleci/config.yml: CI configuration added",
			"ci-config .github/workflows/ci.yml: CI configuration modified",
			"ci-config .gitlab-ci.yml: CI configuration added",
		}},
		{name: "build constraints", changes: map[string]string{
			"server/other/o.go":         "//go:build ignore\n\npackage other\n",
			"server/other/new.go":       "// +build linux\n\npackage other\n",
			"server/helpers/helpers.go": "package helpers\n",
			"server/handlers/h.go":      "// Package handlers.\n//go:build   !cmc\n\npackage handlers\n\nfunc init() {}\n\nfunc H() {}\n",
			"server/other/late.go":      "package other\n\n//go:build ignore\n",
		}, want: []string{
			"build-tag server/handlers/h.go: build constraint added: //go:build !cmc",
			"build-tag server/helpers/helpers.go: build constraint removed: //go:build linux",
			"build-tag server/other/new.go: build constraint added: // +build linux",
			"build-tag server/other/o.go: build constraint added: //go:build ignore",
		}},
		{name: "TestMain and init", changes: map[string]string{
			"server/handlers/main_test.go":          "package handlers\n\nimport (\"os\"; \"testing\")\n\nfunc TestMain(m *testing.M) { os.Exit(0) }\n",
			"server/handlers/x.go":                  "package handlers\n\nfunc init() { println() }\nfunc init() {}\n",
			"server/extensions/hooks/evil.go":       "package hooks\n\nfunc init() {}\n",
			"server/extensions/hooks/method.go":     "package hooks\n\ntype T struct{}\n\nfunc (T) init() {}\nfunc TestMain() {}\n",
			"server/extensions/testdata/fixture.go": "package fixture\n\nfunc init() {}\n",
			"server/extensions/hooks/_ignored.go":   "package hooks\n\nfunc init() {}\n",
			"server/extensions/hooks/ext_test.go":   "package hooks_test\n\nimport \"testing\"\n\nfunc TestMain(m *testing.M) {}\n",
		}, want: []string{
			"init-code server/extensions/hooks/evil.go: init function",
			"init-func server/extensions/hooks/evil.go [ext]: 1 more init function(s) than the base in package hooks",
			"test-file server/extensions/hooks/ext_test.go: added",
			"test-framework server/extensions/hooks/ext_test.go: TestMain function",
			"test-main server/extensions/hooks/ext_test.go [ext]: new TestMain in package hooks_test in server/extensions/hooks, tested by ext",
			"test-file server/extensions/testdata/fixture.go: added",
			"exit server/handlers/main_test.go: calls os.Exit",
			"test-file server/handlers/main_test.go: added",
			"test-framework server/handlers/main_test.go: TestMain function",
			"test-main server/handlers/main_test.go [server-health]: new TestMain in package handlers in server/handlers",
			"init-code server/handlers/x.go: init function",
			"init-code server/handlers/x.go: init function",
			"init-func server/handlers/x.go [server-health]: 2 more init function(s) than the base",
		}},
		{name: "init moved within the package", changes: map[string]string{
			"server/handlers/h.go":    "package handlers\n\nfunc H() {}\n",
			"server/handlers/init.go": "package handlers\n\nfunc init() {}\n",
		}, want: nil},
		{name: "a Go symlink into a package under test", changes: map[string]string{
			"server/other/payload.go": "package handlers\n\nfunc init() {}\n",
			"server/handlers/zz.go":   linkTo + "../other/payload.go",
			"server/handlers/out.go":  linkTo + "../../../outside.go",
		}, want: []string{
			"init-func server/handlers/out.go [server-health]: Go file added as a symlink in a package tested by server-health; not checked: a symlink out of the repository",
			"init-code server/handlers/zz.go: init function",
			"init-func server/handlers/zz.go [server-health]: 1 more init function(s)",
			"init-code server/other/payload.go: init function",
		}},
		{name: "a Go file over the parse limit", changes: map[string]string{
			"server/handlers/big.go": bigGo,
		}, want: []string{
			"build-tag server/handlers/big.go: Go file added; build constraints not checked: the candidate's is 1.0 MiB, over the 1 MiB parse limit",
			"init-func server/handlers/big.go [server-health]: TestMain and init functions not checked",
			"unsafe-code server/handlers/big.go: not analysed",
		}},
		{name: "a name that is not UTF-8", changes: map[string]string{
			"server/handlers/\xff_test.go": "package handlers\n",
		}, want: []string{`test-file "server/handlers/\xff_test.go": added`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cand, base := tamperSnapshots(t, tt.changes)
			flags, err := Scan(context.Background(), cand, base, tamperBank)
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			got := flagStrings(flags)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d flags, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				head, detail, _ := strings.Cut(w, ": ")
				g := got[i]
				if !strings.HasPrefix(g, head+": ") || !strings.Contains(g[len(head)+2:], detail) {
					t.Errorf("flag %d:\n got %s\nwant %s", i, g, w)
				}
			}
			again, err := Scan(context.Background(), cand, base, tamperBank)
			if err != nil || !slices.Equal(flagStrings(again), got) {
				t.Errorf("second report differs: %v\n%s", err, strings.Join(flagStrings(again), "\n"))
			}
		})
	}
}

func TestTamperReportErrors(t *testing.T) {
	if _, err := Scan(context.Background(), nil, nil, tamperBank); err == nil {
		t.Error("nil snapshots accepted")
	}
}

func TestReplaceLines(t *testing.T) {
	got := replaceLines([]byte("module m\n\nreplace a => b // why\nreplace (\n  c v1 => d v2\n\n)\n// replace e => f\nrequire replace v1\n"))
	want := []string{"replace a => b", "replace c v1 => d v2"}
	if !slices.Equal(got, want) {
		t.Errorf("replaceLines = %q, want %q", got, want)
	}
}

func TestCapFlags(t *testing.T) {
	var flags []report.TamperFlag
	for i := range FlagsPerKind + 5 {
		flags = append(flags, report.TamperFlag{Kind: report.TamperTestFile, Path: fmt.Sprintf("t/%03d_test.go", FlagsPerKind+5-i), Detail: "added"})
	}
	flags = append(flags, report.TamperFlag{Kind: report.TamperCI, Path: ".gitlab-ci.yml", Detail: "added"})
	got := capFlags(flags)
	if len(got) != FlagsPerKind+2 {
		t.Fatalf("got %d flags, want %d", len(got), FlagsPerKind+2)
	}
	if got[0].Kind != report.TamperCI || got[1].Path != "t/001_test.go" {
		t.Errorf("not sorted by path: %v, %v", got[0], got[1])
	}
	last := got[len(got)-1]
	if last.Kind != report.TamperTestFile || last.Detail != "5 more findings of this kind not listed" {
		t.Errorf("last flag %+v, want the count of the rest", last)
	}
}

func TestIsTestPath(t *testing.T) {
	for p, want := range map[string]bool{
		"a/b_test.go":             true,
		"a/b.go":                  false,
		"ui/x.test.mjs":           true,
		"ui/x.spec.tsx":           true,
		"ui/contest.js":           false,
		"ui/test.js":              false,
		"a/testdata/x":            true,
		"a/testdata":              false, // a file named testdata
		"ui/__tests__/x.js":       true,
		"ui/vitest.config.ts":     true,
		"pkg/testutil/helpers.go": true,
		"x.test":                  false,
	} {
		if got := isTestPath(p); got != want {
			t.Errorf("isTestPath(%q) = %v, want %v", p, got, want)
		}
	}
}
