package tasks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTaskDigestFields(t *testing.T) {
	base := func() *Task {
		return &Task{
			ID: "t", Exam: "server", Title: "T", Difficulty: "easy", Points: 2,
			Runner: RunnerGo, Packages: []string{"./a"}, Tests: []string{"TestA"},
			Scoring: AllOrNothing, Timeout: time.Minute,
			Hidden:    []HiddenFile{{Path: "a/a_test.go", Data: []byte("package a")}},
			Restore:   []string{"go.mod"},
			Reference: []byte("diff --git a/x b/x"),
			Statement: "s",
			Dir:       "bank/tasks/t",
		}
	}
	want := base().Digest()
	tests := []struct {
		name   string
		change func(*Task)
		same   bool
	}{
		{"dir", func(t *Task) { t.Dir = "elsewhere" }, true},
		{"hidden order", func(t *Task) {
			t.Hidden = append([]HiddenFile{{Path: "0_test.go"}}, t.Hidden...)
		}, false},
		{"points", func(t *Task) { t.Points = 2.5 }, false},
		{"timeout", func(t *Task) { t.Timeout = time.Hour }, false},
		{"scoring", func(t *Task) { t.Scoring = Partial }, false},
		{"title", func(t *Task) { t.Title = "U" }, false},
		{"statement", func(t *Task) { t.Statement = "" }, false},
		// Moving bytes across a field boundary must change the digest.
		{"hidden boundary", func(t *Task) {
			t.Hidden = []HiddenFile{{Path: "a/a_test.gopackage", Data: []byte(" a")}}
		}, false},
		{"list boundary", func(t *Task) { t.Packages, t.Tests = nil, []string{"./a", "TestA"} }, false},
	}
	run := func(t *testing.T, change func(*Task), same bool) {
		task := base()
		change(task)
		if got := task.Digest(); (got == want) != same {
			t.Errorf("digest same = %v, want %v", got == want, same)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.change, tt.same) })
	}

	// Hidden files are digested in path order, whatever the listing order.
	a, b := base(), base()
	a.Hidden = []HiddenFile{{Path: "x_test.go"}, {Path: "y_test.go"}}
	b.Hidden = []HiddenFile{{Path: "y_test.go"}, {Path: "x_test.go"}}
	if a.Digest() != b.Digest() {
		t.Error("digest depends on the listing order of hidden files")
	}
}

func TestBankDigestBoundaries(t *testing.T) {
	task := func(id, ref string) loaded {
		return loaded{task: &Task{ID: id, Reference: []byte(ref)}, spec: []byte("s")}
	}
	a := bankDigest([]byte("b"), []loaded{task("ab", "c")})
	b := bankDigest([]byte("b"), []loaded{task("a", "bc")})
	c := bankDigest([]byte("ba"), []loaded{task("b", "c")})
	if a == b || a == c || b == c {
		t.Errorf("digests collide across field boundaries: %s %s %s", a, b, c)
	}
}

// TestLoadTotalLimit loads the good bank with a total limit it passes.
func TestLoadTotalLimit(t *testing.T) {
	dir := filepath.Join("..", "testdata", "banks", "good")
	if _, err := load(dir, MaxFileBytes, MaxBankBytes); err != nil {
		t.Fatal(err)
	}
	b, err := load(dir, MaxFileBytes, 1000)
	var be *BankError
	if b != nil || !errors.As(err, &be) {
		t.Fatalf("load = %v, %v; want a *BankError", b, err)
	}
	if len(be.Problems) != 1 || be.Problems[0].Field != "" {
		t.Errorf("problems = %v; want one, about the file that passed the limit", be.Problems)
	}
	// A per-file limit smaller than a file.
	b, err = load(dir, 100, MaxBankBytes)
	if b != nil || !errors.As(err, &be) || len(be.Problems) == 0 {
		t.Fatalf("load = %v, %v; want problems", b, err)
	}
}

func TestCheckRepoPath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"server/handlers/x_test.go", true},
		{"go.mod", true},
		{".github/workflows/ci.yml", true},
		{"", false},
		{"/abs", false},
		{"a/../b", false},
		{"..", false},
		{"./a", false},
		{"a//b", false},
		{"a/", false},
		{".", false},
		{`a\b`, false},
		{"a\x00b", false},
		{".git/config", false},
	}
	for _, tt := range tests {
		if got := checkRepoPath(tt.path) == ""; got != tt.ok {
			t.Errorf("checkRepoPath(%q) ok = %v, want %v (%s)", tt.path, got, tt.ok, checkRepoPath(tt.path))
		}
	}
}

func TestCheckGoPattern(t *testing.T) {
	tests := []struct {
		pattern string
		ok      bool
	}{
		{"./server/handlers", true},
		{"./server/...", true},
		{"./...", true},
		{"server/handlers", false},
		{"-run=x", false},
		{"./", false},
		{"./../x", false},
		{"./a/.../b", false},
		{"./a//b", false},
		{"./a b", false},
	}
	for _, tt := range tests {
		if got := checkGoPattern(tt.pattern) == ""; got != tt.ok {
			t.Errorf("checkGoPattern(%q) ok = %v, want %v", tt.pattern, got, tt.ok)
		}
	}
}

func TestCheckGoTestName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"TestX", true},
		{"Test", true},
		{"Test_x", true},
		{"TestX/sub_case", true},
		{"TestX/a/b", true},
		{"FuzzX", true},
		{"ExampleX", true},
		{"Testing", false},
		{"HealthOK", false},
		{"TestX/", false},
		{"TestX//b", false},
		{"TestX/with space", false},
		{"Test-X", false},
	}
	for _, tt := range tests {
		if got := checkGoTestName(tt.name) == ""; got != tt.ok {
			t.Errorf("checkGoTestName(%q) ok = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

// TestLoadBankYAMLShapes covers bank.yaml decoding cases without fixtures.
func TestLoadBankYAMLShapes(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		field string // of the single expected problem ("" = the file)
	}{
		{"empty", "", ""},
		{"two documents", "version: 1\n---\nversion: 1\n", ""},
		{"not a mapping", "- version\n", ""},
		{"version not a number", "version: one\nname: n\ngo: \"1.26.8\"\nbase: {ref: main}\n", "version"},
		{"go with prefix", "version: 1\nname: n\ngo: go1.26.8\nbase: {ref: main}\n", "go"},
		{"bad ref", "version: 1\nname: n\ngo: \"1.26.8\"\nbase: {ref: a..b}\n", "base.ref"},
		{"full ref name", "version: 1\nname: n\ngo: \"1.26.8\"\nbase: {ref: refs/heads/main}\n", "base.ref"},
		{"base not a mapping", "version: 1\nname: n\ngo: \"1.26.8\"\nbase: main\n", "base"},
		{"threshold unknown field", "version: 1\nname: n\ngo: \"1.26.8\"\nbase: {ref: main}\nexams: {ui: {pass: 70}}\n", "exams.ui.pass"},
		{"missing name", "version: 1\ngo: \"1.26.8\"\nbase: {ref: main}\n", "name"},
	}
	run := func(t *testing.T, yaml, field string) {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "testdata", "banks", "good"))); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bank.yaml"), []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(dir)
		var be *BankError
		if !errors.As(err, &be) {
			t.Fatalf("err = %v; want a *BankError", err)
		}
		if len(be.Problems) != 1 || be.Problems[0].File != "bank.yaml" || be.Problems[0].Field != field {
			t.Errorf("problems = %v; want one at bank.yaml field %q", be.Problems, field)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.yaml, tt.field) })
	}
}

func TestSubset(t *testing.T) {
	b := &Bank{Name: "b", Digest: "d", Tasks: []*Task{{ID: "a"}, {ID: "b"}, {ID: "c"}}}
	sub, err := b.Subset([]string{"c", "a", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Tasks) != 2 || sub.Tasks[0].ID != "a" || sub.Tasks[1].ID != "c" || sub.Digest != "d" {
		t.Errorf("Subset = %+v", sub.Tasks)
	}
	if len(b.Tasks) != 3 {
		t.Errorf("Subset changed the bank: %d tasks", len(b.Tasks))
	}
	if _, err := b.Subset([]string{"z"}); err == nil || !strings.Contains(err.Error(), `"z"`) || !strings.Contains(err.Error(), "a, b, c") {
		t.Errorf("Subset(z) error = %v", err)
	}
}
