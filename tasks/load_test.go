package tasks_test

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/tasks"
)

var update = flag.Bool("update", false, "rewrite golden files")

// banks holds the unit-test banks: good/ and one folder per bad case.
const banks = "../testdata/banks"

func TestLoadGood(t *testing.T) {
	dir := filepath.Join(banks, "good")
	b, err := tasks.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.Dir != dir || b.Name != "unit-good" || b.Go != "1.26.8" || b.Base != (tasks.Base{Ref: "main"}) {
		t.Errorf("bank = %q %q %q %+v", b.Dir, b.Name, b.Go, b.Base)
	}
	wantExams := []tasks.Exam{
		{Name: "server", Threshold: 70},
		{Name: "cli", Threshold: 70},
		{Name: "ui", Threshold: 75},
		{Name: "models", Threshold: 70},
		{Name: "extensibility", Threshold: 70},
	}
	if !reflect.DeepEqual(b.Exams, wantExams) {
		t.Errorf("exams = %+v, want %+v", b.Exams, wantExams)
	}
	var ids []string
	for _, task := range b.Tasks {
		ids = append(ids, task.ID)
	}
	// Exam order first (server, cli, ui), then id.
	if want := []string{"server-api-version", "server-health", "cli-version", "ui-badge"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("task order = %q, want %q", ids, want)
	}
	if len(b.Digest) != 64 {
		t.Errorf("digest = %q, want 64 hex digits", b.Digest)
	}
	if b.Attempts != tasks.DefaultAttempts {
		t.Errorf("attempts = %d, want the default %d", b.Attempts, tasks.DefaultAttempts)
	}

	health := b.Task("server-health")
	if health == nil {
		t.Fatal("Task(server-health) = nil")
	}
	hiddenData, err := os.ReadFile(filepath.Join(dir, "tasks/server-health/hidden/server/handlers/health_hidden_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile(filepath.Join(dir, "tasks/server-health/reference.patch"))
	if err != nil {
		t.Fatal(err)
	}
	wantHealth := &tasks.Task{
		ID:         "server-health",
		Exam:       "server",
		Title:      "Add a health endpoint",
		Difficulty: "easy",
		Points:     3,
		Runner:     tasks.RunnerGo,
		Packages:   []string{"./server/handlers"},
		Tests:      []string{"TestHealthOK", "TestHealthMethod/post"},
		Scoring:    tasks.Partial,
		Timeout:    90 * time.Second,
		Hidden:     []tasks.HiddenFile{{Path: "server/handlers/health_hidden_test.go", Data: hiddenData}},
		Restore:    []string{"go.mod", "go.sum"},
		Reference:  ref,
		Statement:  "# Add a health endpoint\n\nAdd `Health` to `server/handlers`: it answers `200 OK` to `GET` and\n`405 Method Not Allowed` to any other method.\n",
		Dir:        filepath.Join(dir, "tasks", "server-health"),
	}
	if !reflect.DeepEqual(health, wantHealth) {
		t.Errorf("server-health =\n%+v\nwant\n%+v", health, wantHealth)
	}

	// Defaults.
	v := b.Task("server-api-version")
	if v.Points != 2 || v.Difficulty != "medium" || v.Scoring != tasks.AllOrNothing || v.Timeout != 120*time.Second ||
		v.Restore != nil || v.Statement != "" {
		t.Errorf("defaults: points %v difficulty %q scoring %q timeout %v restore %q statement %q",
			v.Points, v.Difficulty, v.Scoring, v.Timeout, v.Restore, v.Statement)
	}
	ui := b.Task("ui-badge")
	if ui.Runner != tasks.RunnerJS || !reflect.DeepEqual(ui.Tests, []string{"badge shows OK", "badge shows DOWN"}) {
		t.Errorf("ui-badge: runner %q tests %q", ui.Runner, ui.Tests)
	}
}

func TestBankHelpers(t *testing.T) {
	b, err := tasks.Load(filepath.Join(banks, "good"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		exam      string
		ids       []string
		threshold float64
	}{
		{"server", []string{"server-api-version", "server-health"}, 70},
		{"cli", []string{"cli-version"}, 70},
		{"ui", []string{"ui-badge"}, 75},
		{"models", nil, 70},
		{"extensibility", nil, 70},
		{"storage", nil, 0},
	}
	run := func(t *testing.T, exam string, ids []string, threshold float64) {
		var got []string
		for _, task := range b.TasksFor(exam) {
			got = append(got, task.ID)
		}
		if !reflect.DeepEqual(got, ids) {
			t.Errorf("TasksFor(%q) = %q, want %q", exam, got, ids)
		}
		if e := b.Exam(exam); e.Threshold != threshold {
			t.Errorf("Exam(%q) = %+v, want threshold %v", exam, e, threshold)
		}
	}
	for _, tt := range tests {
		t.Run(tt.exam, func(t *testing.T) { run(t, tt.exam, tt.ids, tt.threshold) })
	}
	if b.Task("nope") != nil {
		t.Error("Task(nope) != nil")
	}
	if p := b.Task("cli-version").Possible(); p != 4 {
		t.Errorf("Possible() = %v, want 4", p)
	}
}

// where is the file and field of a problem.
type where struct{ File, Field string }

func TestLoadBad(t *testing.T) {
	const T = "tasks/server-health/"
	tests := []struct {
		bank string
		want []where // every problem, in order
	}{
		{"unknown-exam", []where{{T + "task.yaml", "exam"}}},
		{"duplicate-id", []where{{"tasks/server-health-copy/task.yaml", "id"}, {"tasks/server-health-copy/task.yaml", "id"}}},
		{"hidden-missing", []where{{T + "task.yaml", "hidden"}}},
		{"hidden-unlisted", []where{{T + "hidden/server/handlers/extra_test.go", ""}}},
		{"test-not-declared", []where{{T + "task.yaml", "tests"}}},
		{"hidden-parallel", []where{{T + "hidden/server/handlers/health_hidden_test.go", ""}}},
		{"js-test-not-quoted", []where{{T + "task.yaml", "tests"}}},
		{"jest-test-not-quoted", []where{{T + "task.yaml", "tests"}}},
		{"points-zero", []where{{T + "task.yaml", "points"}}},
		{"points-negative", []where{{T + "task.yaml", "points"}}},
		{"timeout-words", []where{{T + "task.yaml", "timeout"}}},
		{"timeout-negative", []where{{T + "task.yaml", "timeout"}}},
		{"timeout-zero", []where{{T + "task.yaml", "timeout"}}},
		{"unknown-runner", []where{{T + "task.yaml", "runner"}}},
		{"unknown-scoring", []where{{T + "task.yaml", "scoring"}}},
		{"bad-difficulty", []where{{T + "task.yaml", "difficulty"}}},
		{"missing-title", []where{{T + "task.yaml", "title"}}},
		{"empty-tests", []where{{T + "task.yaml", "tests"}}},
		{"duplicate-tests", []where{{T + "task.yaml", "tests"}}},
		{"hidden-absolute", []where{{T + "task.yaml", "hidden"}}},
		{"hidden-dotdot", []where{{T + "task.yaml", "hidden"}}},
		{"hidden-not-clean", []where{{T + "task.yaml", "hidden"}}},
		{"hidden-not-test-go", []where{{T + "task.yaml", "hidden"}}},
		{"reference-missing", []where{{T + "reference.patch", ""}}},
		{"reference-empty", []where{{T + "reference.patch", ""}}},
		{"reference-not-diff", []where{{T + "reference.patch", ""}}},
		{"bank-missing", []where{{"bank.yaml", ""}}},
		{"bank-version", []where{{"bank.yaml", "version"}}},
		{"bank-go-missing", []where{{"bank.yaml", "go"}}},
		{"bank-ref-missing", []where{{"bank.yaml", "base.ref"}}},
		{"threshold-zero", []where{{"bank.yaml", "exams.server.threshold"}}},
		{"threshold-over", []where{{"bank.yaml", "exams.cli.threshold"}}},
		{"exams-unknown-key", []where{{"bank.yaml", "exams.storage"}}},
		{"unknown-field-task", []where{{T + "task.yaml", "author"}}},
		{"unknown-field-bank", []where{{"bank.yaml", "base.branch"}}},
		{"exam-tasks-over", []where{{"bank.yaml", "exams.server.tasks"}}},
		{"exam-tasks-zero", []where{{"bank.yaml", "exams.server.tasks"}}},
		{"attempts-zero", []where{{"bank.yaml", "attempts"}}},
		{"js-deps-unknown", []where{{"bank.yaml", "js_deps.source"}}},
		{"js-deps-npm-no-lockfile", []where{{"bank.yaml", "js_deps.lockfile"}}},
		{"js-deps-lockfile-name", []where{{"bank.yaml", "js_deps.lockfile"}}},
		{"js-deps-image-lockfile", []where{{"bank.yaml", "js_deps.lockfile"}}},
		{"malformed-yaml", []where{{T + "task.yaml", ""}}},
		{"no-tasks", []where{{"tasks", ""}}},
		{"many-problems", []where{
			{"bank.yaml", "version"},
			{"tasks/cli-version/reference.patch", ""},
			{"tasks/cli-version/task.yaml", "owner"},
			{"tasks/cli-version/task.yaml", "runner"},
			{"tasks/cli-version/task.yaml", "tests"},
			{"tasks/cli-version/task.yaml", "hidden"},
			{T + "hidden/server/handlers/extra_test.go", ""},
			{T + "task.yaml", "points"},
			{T + "task.yaml", "timeout"},
		}},
	}
	run := func(t *testing.T, bank string, want []where) {
		dir := filepath.Join(banks, bank)
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("fixture: %v", err)
		}
		assertProblems(t, dir, want)
	}
	for _, tt := range tests {
		t.Run(tt.bank, func(t *testing.T) { run(t, tt.bank, tt.want) })
	}
}

// assertProblems loads dir and checks that it is rejected whole with
// exactly the problems in want.
func assertProblems(t *testing.T, dir string, want []where) *tasks.BankError {
	t.Helper()
	b, err := tasks.Load(dir)
	if b != nil {
		t.Errorf("Load returned a bank; want nil")
	}
	if !errors.Is(err, tasks.ErrInvalid) {
		t.Fatalf("err = %v; want one matching ErrInvalid", err)
	}
	var be *tasks.BankError
	if !errors.As(err, &be) {
		t.Fatalf("err = %T; want a *BankError", err)
	}
	got := make([]where, len(be.Problems))
	for i, p := range be.Problems {
		got[i] = where{p.File, p.Field}
		if p.Msg == "" {
			t.Errorf("problem %d has no message", i)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems at %v\nwant %v\nerror:\n%v", got, want, err)
	}
	return be
}

// TestLoadErrorText pins the whole error text of a bank with many
// problems. Run with -update to rewrite it.
func TestLoadErrorText(t *testing.T) {
	_, err := tasks.Load(filepath.Join(banks, "many-problems"))
	if err == nil {
		t.Fatal("Load succeeded")
	}
	// The bank folder differs between machines: show it as BANK.
	got := strings.ReplaceAll(err.Error(), filepath.Join(banks, "many-problems"), "BANK") + "\n"
	golden := filepath.Join(banks, "many-problems.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("error text:\n%s\nwant:\n%s", got, want)
	}
}

func TestLoadNoFolder(t *testing.T) {
	_, err := tasks.Load(filepath.Join(banks, "does-not-exist"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, tasks.ErrInvalid) {
		t.Errorf("err = %v; want fs.ErrNotExist, not ErrInvalid", err)
	}
	_, err = tasks.Load(filepath.Join(banks, "good", "bank.yaml"))
	if err == nil || errors.Is(err, tasks.ErrInvalid) {
		t.Errorf("err = %v; want a not-a-folder error", err)
	}
}

func TestLoadFileTooLarge(t *testing.T) {
	dir := copyBank(t, "good")
	big := strings.Repeat("x", tasks.MaxFileBytes+1)
	if err := os.WriteFile(filepath.Join(dir, "tasks/ui-badge/statement.md"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	assertProblems(t, dir, []where{{"tasks/ui-badge/statement.md", ""}})
}

func TestLoadUnexpectedFiles(t *testing.T) {
	dir := copyBank(t, "good")
	for name, data := range map[string]string{
		"tasks/ui-badge/statment.md": "typo",
		"tasks/README.md":            "notes",
		"README.md":                  "a bank root may hold other files",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	assertProblems(t, dir, []where{{"tasks/README.md", ""}, {"tasks/ui-badge/statment.md", ""}})
}

func TestLoadMoreProblems(t *testing.T) {
	const spec = "tasks/server-health/task.yaml"
	tests := []struct {
		name string
		yaml string // replaces tasks/server-health/task.yaml of the good bank
		want []where
	}{
		{"package not ./", "packages: [server/handlers]", []where{{spec, "packages"}}},
		{"package not selecting hidden", "packages: [./server/api]", []where{{spec, "packages"}}},
		{"test not a test func", "tests: [HealthOK]", []where{{spec, "tests"}}},
		{"test with space", "tests: [TestHealthMethod/with space]", []where{{spec, "tests"}}},
		{"restore overlaps hidden", "restore: [server/handlers/health_hidden_test.go]", []where{{spec, "restore"}}},
		{"restore climbs out", "restore: [../go.mod]", []where{{spec, "restore"}}},
		{"points not a number", "points: many", []where{{spec, "points"}}},
		{"points infinite", "points: .inf", []where{{spec, "points"}}},
		{"tests not a list", "tests: TestHealthOK", []where{{spec, "tests"}}},
		{"field twice", "title: Again", []where{{spec, "title"}}},
		{"bad id", "id: Server_Health", []where{{spec, "id"}}},
	}
	run := func(t *testing.T, line string, want []where) {
		dir := copyBank(t, "good")
		p := filepath.Join(dir, spec)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		key, _, _ := strings.Cut(line, ":")
		var out []string
		replaced := false
		for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if strings.HasPrefix(l, key+":") && key != "title" {
				l, replaced = line, true
			}
			out = append(out, l)
		}
		if !replaced {
			out = append(out, line)
		}
		if err := os.WriteFile(p, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		assertProblems(t, dir, want)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.yaml, tt.want) })
	}
}

// TestLoadSymlink checks that links in a bank are refused, whether they
// stand for a file, a hidden test or a folder. The links are made here
// rather than committed: a checkout or archive may turn a committed link
// into a plain copy, and the case would then test nothing.
func TestLoadSymlink(t *testing.T) {
	const T = "tasks/server-health/"
	tests := []struct {
		name   string
		link   string // path in the good bank, replaced by a link
		target string
		want   []where
	}{
		{"statement", T + "statement.md", "../ui-badge/statement.md", []where{{T + "statement.md", ""}}},
		{"outside the bank", T + "reference.patch", "/etc/hostname", []where{{T + "reference.patch", ""}}},
		{"hidden test", T + "hidden/server/handlers/health_hidden_test.go", "../../../../server-api-version/task.yaml",
			[]where{{T + "hidden/server/handlers/health_hidden_test.go", ""}}},
		{"folder", "tasks/ui-badge", "server-health", []where{{"tasks/ui-badge", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyBank(t, "good")
			p := filepath.Join(dir, tt.link)
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tt.target, p); err != nil {
				t.Fatal(err)
			}
			assertProblems(t, dir, tt.want)
		})
	}
}

// TestLoadSample loads the sample bank the end-to-end tests grade with.
func TestLoadSample(t *testing.T) {
	b, err := tasks.Load(filepath.Join("..", "testdata", "sample", "bank"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Tasks) < 10 {
		t.Errorf("sample bank has %d tasks, want >= 10", len(b.Tasks))
	}
	for _, e := range tasks.Exams {
		if n := len(b.TasksFor(e)); n < 2 {
			t.Errorf("exam %s has %d tasks, want >= 2", e, n)
		}
	}
}

// copyBank copies testdata bank name to a temporary folder.
func copyBank(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(banks, name))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadJSDeps checks js_deps: the image's jest by default, and with
// npm every jest task restores the lockfile and its package.json and
// finds the base's packages beside the lockfile.
func TestLoadJSDeps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sample")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "testdata", "sample", "bank"))); err != nil {
		t.Fatal(err)
	}
	b, err := tasks.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	task := func(b *tasks.Bank) *tasks.Task {
		for _, x := range b.Tasks {
			if x.ID == "ui-health-summary" {
				return x
			}
		}
		t.Fatal("no ui-health-summary in the sample bank")
		return nil
	}
	if b.JSDeps.Source != tasks.JSDepsImage || task(b).NodeModules != "" || !reflect.DeepEqual(task(b).Restore, []string{"ui/package.json"}) {
		t.Errorf("default js_deps %+v, task %q %q; want the image's jest", b.JSDeps, task(b).NodeModules, task(b).Restore)
	}
	yml := filepath.Join(dir, "bank.yaml")
	data, err := os.ReadFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, "js_deps: {source: npm, lockfile: ui/package-lock.json}\n"...)
	if err := os.WriteFile(yml, data, 0o644); err != nil {
		t.Fatal(err)
	}
	npm, err := tasks.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	jt := task(npm)
	if jt.NodeModules != "ui/node_modules" || !reflect.DeepEqual(jt.Restore, []string{"ui/package.json", "ui/package-lock.json"}) {
		t.Errorf("npm: task node_modules %q, restore %q", jt.NodeModules, jt.Restore)
	}
	if npm.Digest == b.Digest {
		t.Error("js_deps does not change the bank's digest")
	}
	for _, x := range npm.Tasks {
		if x.Runner != tasks.RunnerJest && x.NodeModules != "" {
			t.Errorf("%s (%s) got node_modules %q", x.ID, x.Runner, x.NodeModules)
		}
	}
}
