package tasks_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/tasks"
)

// pool is how many tasks of each difficulty an exam of a generated bank
// holds.
type pool struct{ easy, medium, hard int }

// genBank writes and loads a bank with the given tasks per exam. head is
// added to bank.yaml (exams, attempts).
func genBank(t *testing.T, head string, pools map[string]pool) *tasks.Bank {
	t.Helper()
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("bank.yaml", "version: 1\nname: generated\ngo: \"1.26.8\"\nbase: {ref: main}\n"+head)
	n := 0
	for _, exam := range tasks.Exams {
		p := pools[exam]
		for _, lv := range []struct {
			name  string
			count int
		}{{"easy", p.easy}, {"medium", p.medium}, {"hard", p.hard}} {
			for i := range lv.count {
				n++
				id := fmt.Sprintf("%s-%s-%02d", exam, lv.name, i)
				test := fmt.Sprintf("TestGen%03d", n)
				hidden := fmt.Sprintf("pkg/t%03d/gen_test.go", n)
				write("tasks/"+id+"/task.yaml", fmt.Sprintf(
					"id: %s\nexam: %s\ntitle: Task %s\ndifficulty: %s\nrunner: go\npackages: [./pkg/t%03d]\ntests: [%s]\nhidden: [%s]\n",
					id, exam, id, lv.name, n, test, hidden))
				write("tasks/"+id+"/hidden/"+hidden, "package t\n\nimport \"testing\"\n\nfunc "+test+"(t *testing.T) {}\n")
				write("tasks/"+id+"/reference.patch", "diff --git a/x b/x\n")
				write("tasks/"+id+"/statement.md", "# Task "+id+"\n\nDo what the title says.\n")
			}
		}
	}
	b, err := tasks.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bigPools is five exams of ten tasks: 3 easy, 4 medium, 3 hard.
func bigPools() map[string]pool {
	m := map[string]pool{}
	for _, e := range tasks.Exams {
		m[e] = pool{3, 4, 3}
	}
	return m
}

const drawThree = `exams:
  server: {tasks: 3}
  cli: {tasks: 3}
  ui: {tasks: 3}
  models: {tasks: 3}
  extensibility: {tasks: 3}
`

func draw(t *testing.T, b *tasks.Bank, candidate string, attempt int) *tasks.Form {
	t.Helper()
	f, err := tasks.Draw(b, candidate, attempt)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDrawSameInputsSameForm(t *testing.T) {
	b := genBank(t, drawThree, bigPools())
	if b.Exam("ui").Draw != 3 || b.Attempts != 3 {
		t.Fatalf("ui draw %d, attempts %d; want 3 and 3", b.Exam("ui").Draw, b.Attempts)
	}
	first := draw(t, b, "cmc-0042", 2)
	for range 3 {
		if again := draw(t, b, "cmc-0042", 2); !reflect.DeepEqual(again, first) {
			t.Fatalf("second draw %+v differs from first %+v", again, first)
		}
	}
	if first.Candidate != "cmc-0042" || first.Attempt != 2 || first.Attempts != 3 || first.Bank != "generated" || first.BankDigest != b.Digest {
		t.Errorf("form header = %+v", first)
	}
	if len(first.Exams) != 5 {
		t.Fatalf("form has %d exams, want 5", len(first.Exams))
	}
	for i, e := range first.Exams {
		if e.Name != tasks.Exams[i] || len(e.Tasks) != 3 || !slices.IsSorted(e.Tasks) {
			t.Errorf("exam %d = %+v; want %s with 3 sorted tasks", i, e, tasks.Exams[i])
		}
		for _, id := range e.Tasks {
			if task := b.Task(id); task == nil || task.Exam != e.Name {
				t.Errorf("exam %s holds %s, not one of its tasks", e.Name, id)
			}
		}
	}

	// The same bank loaded from another folder has the same digest and
	// draws the same form.
	if other := genBank(t, drawThree, bigPools()); !reflect.DeepEqual(draw(t, other, "cmc-0042", 2).Exams, first.Exams) {
		t.Error("the same bank in another folder draws another form")
	}
}

// TestDrawPinned pins one draw, so that the algorithm (and thus every
// candidate's form) cannot change unnoticed, with a Go release or an edit.
func TestDrawPinned(t *testing.T) {
	b := genBank(t, drawThree, bigPools())
	got := strings.Join(draw(t, b, "cmc-0001", 1).TaskIDs(), " ")
	golden := filepath.Join(banks, "form-pinned.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got+"\n" != string(want) {
		t.Errorf("draw of cmc-0001, attempt 1:\n%s\nwant:\n%s", got, want)
	}
}

func TestDrawCandidatesDiffer(t *testing.T) {
	b := genBank(t, drawThree, bigPools())
	forms := map[string]bool{}
	for i := range 50 {
		forms[strings.Join(draw(t, b, fmt.Sprintf("cmc-%04d", i), 1).TaskIDs(), " ")] = true
	}
	// Each exam has 36 balanced draws of 3 (one task of each difficulty);
	// five exams give 36^5 forms, so 50 candidates all but never share one.
	t.Logf("50 candidates drew %d distinct forms", len(forms))
	if len(forms) < 45 {
		t.Errorf("50 candidates drew %d distinct forms, want at least 45", len(forms))
	}
	attempts := map[string]bool{}
	for a := 1; a <= 3; a++ {
		attempts[strings.Join(draw(t, b, "cmc-0007", a).TaskIDs(), " ")] = true
	}
	if len(attempts) < 2 {
		t.Errorf("three attempts of one candidate drew %d distinct forms, want at least 2", len(attempts))
	}
}

// TestDrawBalance checks the balance rule over many candidates: the counts
// of two difficulties differ by at most one unless the smaller one gave
// every task it has, and ties go to every difficulty in turn.
func TestDrawBalance(t *testing.T) {
	tests := []struct {
		name string
		pool pool
		draw int
	}{
		{"even", pool{3, 4, 3}, 3},
		{"one extra", pool{3, 4, 3}, 4},
		{"two extra", pool{3, 4, 3}, 5},
		{"no hard tasks", pool{5, 5, 0}, 3},
		{"few easy", pool{1, 6, 6}, 6},
		{"only medium", pool{0, 7, 0}, 2},
		{"all but one", pool{2, 2, 3}, 6},
		{"all", pool{2, 2, 3}, 7},
	}
	run := func(t *testing.T, p pool, n int) {
		b := genBank(t, fmt.Sprintf("exams:\n  server: {tasks: %d}\n", n), map[string]pool{"server": p})
		size := map[string]int{"easy": p.easy, "medium": p.medium, "hard": p.hard}
		extra := map[string]int{} // how often a difficulty got more than the least
		for i := range 60 {
			f := draw(t, b, fmt.Sprintf("candidate %d", i), 1)
			count := map[string]int{}
			for _, id := range f.TaskIDs() {
				count[b.Task(id).Difficulty]++
			}
			if got := len(f.TaskIDs()); got != n {
				t.Fatalf("drew %d tasks, want %d", got, n)
			}
			low := n
			for _, d := range tasks.Difficulties {
				if count[d] > size[d] {
					t.Fatalf("drew %d %s tasks of %d", count[d], d, size[d])
				}
				if count[d] < size[d] {
					low = min(low, count[d])
				}
			}
			for _, d := range tasks.Difficulties {
				if count[d] > low+1 {
					t.Fatalf("counts %v of pool %+v: %s has %d, more than one above %d", count, p, d, count[d], low)
				}
				if count[d] == low+1 {
					extra[d]++
				}
			}
		}
		if p == (pool{3, 4, 3}) && n%3 != 0 {
			for _, d := range tasks.Difficulties {
				if extra[d] == 0 {
					t.Errorf("draws of %d from %+v never gave %s the extra task: ties are not shared", n, p, d)
				}
			}
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.pool, tt.draw) })
	}
}

func TestDrawDefaults(t *testing.T) {
	// No tasks: in bank.yaml: every task; an exam without tasks is left out.
	b := genBank(t, "", map[string]pool{"server": {1, 1, 1}, "ui": {0, 2, 0}})
	f := draw(t, b, "alice", 1)
	want := []tasks.FormExam{
		{Name: "server", Tasks: []string{"server-easy-00", "server-hard-00", "server-medium-00"}},
		{Name: "ui", Tasks: []string{"ui-medium-00", "ui-medium-01"}},
	}
	if !reflect.DeepEqual(f.Exams, want) {
		t.Errorf("exams = %+v, want %+v", f.Exams, want)
	}
	// The zero Bank allows the default number of attempts.
	if _, err := tasks.Draw(&tasks.Bank{Name: "zero"}, "alice", tasks.DefaultAttempts); err != nil {
		t.Errorf("zero bank, last attempt: %v", err)
	}
}

func TestDrawAttempts(t *testing.T) {
	three := genBank(t, "", map[string]pool{"server": {1, 1, 1}})
	one := genBank(t, "attempts: 1\n", map[string]pool{"server": {1, 1, 1}})
	tests := []struct {
		name    string
		bank    *tasks.Bank
		attempt int
		want    string // in the error; "" for no error
	}{
		{"first", three, 1, ""},
		{"last", three, 3, ""},
		{"fourth", three, 4, "attempt 4 is not allowed: bank generated allows 3 attempts, numbered 1 to 3"},
		{"zero", three, 0, "allows 3 attempts"},
		{"negative", three, -1, "allows 3 attempts"},
		{"one allowed", one, 1, ""},
		{"second of one", one, 2, "allows 1 attempts, numbered 1 to 1"},
	}
	run := func(t *testing.T, b *tasks.Bank, attempt int, want string) {
		f, err := tasks.Draw(b, "alice", attempt)
		switch {
		case want == "" && err != nil:
			t.Fatalf("Draw: %v", err)
		case want == "" && f.Attempt != attempt:
			t.Fatalf("form attempt %d, want %d", f.Attempt, attempt)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Fatalf("err = %v, want one containing %q", err, want)
		case want != "" && f != nil:
			t.Fatal("Draw returned a form with its error")
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.bank, tt.attempt, tt.want) })
	}
}

func TestCheckCandidate(t *testing.T) {
	tests := []struct {
		id   string
		want string // in the error; "" for a good id
	}{
		{"cmc-0042", ""},
		{"Zoë Müller (LF 2026)", ""},
		{strings.Repeat("a", tasks.MaxCandidateBytes), ""},
		{"", "empty"},
		{strings.Repeat("a", tasks.MaxCandidateBytes+1), "at most 128"},
		{" alice", "spaces at an end"},
		{"alice\n", "spaces at an end"},
		{"al\x00ice", "not printable"},
		{"al\tice", "not printable"},
		{"al\u202eice", "not printable"},
		{"\xff", "not valid UTF-8"},
	}
	for _, tt := range tests {
		err := tasks.CheckCandidate(tt.id)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckCandidate(%q) = %v, want %q", tt.id, err, tt.want)
		}
		if tt.want != "" {
			if _, err := tasks.Draw(&tasks.Bank{}, tt.id, 1); err == nil {
				t.Errorf("Draw accepted candidate %q", tt.id)
			}
		}
	}
}

func TestFormFileRoundTrip(t *testing.T) {
	b := genBank(t, drawThree, bigPools())
	f := draw(t, b, "cmc-0042", 1)
	var buf bytes.Buffer
	if err := f.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "form.json")
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := tasks.LoadForm(name)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Fatalf("read back %+v, want %+v", got, f)
	}
	if err := got.Check(b); err != nil {
		t.Errorf("Check: %v", err)
	}
	sub, err := b.Subset(got.TaskIDs())
	if err != nil || len(sub.Tasks) != 15 {
		t.Fatalf("Subset: %d tasks, %v; want 15", len(sub.Tasks), err)
	}
}

func TestFormCheckRefuses(t *testing.T) {
	b := genBank(t, drawThree, bigPools())
	f := draw(t, b, "cmc-0042", 1)

	edited := *f
	edited.Exams = slices.Clone(f.Exams)
	ids := b.TasksFor("server")
	for _, task := range ids {
		if !slices.Contains(f.Exams[0].Tasks, task.ID) {
			edited.Exams[0] = tasks.FormExam{Name: "server", Tasks: append(slices.Clone(f.Exams[0].Tasks[:2]), task.ID)}
			slices.Sort(edited.Exams[0].Tasks)
			break
		}
	}
	if err := edited.Check(b); err == nil || !strings.Contains(err.Error(), "the form was edited") {
		t.Errorf("edited form: err = %v", err)
	}

	other := *f
	other.Candidate = "cmc-0043"
	if err := other.Check(b); err == nil || !strings.Contains(err.Error(), `not those drawn for candidate "cmc-0043"`) {
		t.Errorf("form of another candidate: err = %v", err)
	}

	bigger := genBank(t, "exams:\n  server: {tasks: 3}\n", map[string]pool{"server": {3, 4, 4}})
	err := f.Check(bigger)
	if err == nil || !strings.Contains(err.Error(), f.BankDigest) || !strings.Contains(err.Error(), bigger.Digest) {
		t.Errorf("form of another bank: err = %v; want both digests named", err)
	}

	late := *f
	late.Attempt = 4
	if err := late.Check(b); err == nil || !strings.Contains(err.Error(), "allows 3 attempts") {
		t.Errorf("attempt 4: err = %v", err)
	}
}

func TestReadFormRefuses(t *testing.T) {
	digest := strings.Repeat("ab", 32)
	good := `{"version": 1, "bank": "b", "bank_digest": "` + digest + `", "candidate": "alice", "attempt": 1, "attempts": 3, "exams": [{"name": "server", "tasks": ["a"]}]}`
	if _, err := tasks.ReadForm(strings.NewReader(good)); err != nil {
		t.Fatalf("good form: %v", err)
	}
	tests := []struct {
		name, json, want string
	}{
		{"a report", `{"version": 1, "grader_version": "v1", "commit": "x"}`, `unknown field "grader_version"`},
		{"not json", `version: 1`, "not a form"},
		{"two documents", good + good, "data after the form"},
		{"version", strings.Replace(good, `"version": 1`, `"version": 2`, 1), "version: must be 1"},
		{"digest", strings.Replace(good, digest, "abc", 1), "bank_digest"},
		{"candidate", strings.Replace(good, `"alice"`, `""`, 1), "candidate: the candidate id is empty"},
		{"attempt", strings.Replace(good, `"attempt": 1`, `"attempt": 0`, 1), "attempt: must be at least 1"},
		{"exam", strings.Replace(good, `"server"`, `"storage"`, 1), `"storage" is not one of`},
		{"no tasks", strings.Replace(good, `["a"]`, `[]`, 1), "server lists no tasks"},
		{"no exams", strings.Replace(good, `[{"name": "server", "tasks": ["a"]}]`, `[]`, 1), "holds no tasks"},
		{"too large", `{"bank": "` + strings.Repeat("x", 1<<20) + `"}`, "larger than"},
	}
	for _, tt := range tests {
		if _, err := tasks.ReadForm(strings.NewReader(tt.json)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestFormMarkdownSample writes the candidate's form for the sample bank:
// titles, points and statements, never a hidden test name, hidden path or
// hidden file's content. Run with -update to rewrite the golden file.
func TestFormMarkdownSample(t *testing.T) {
	b, err := tasks.Load(filepath.Join("..", "testdata", "sample", "bank"))
	if err != nil {
		t.Fatal(err)
	}
	f := draw(t, b, "cmc-0042", 1)
	var buf bytes.Buffer
	if err := f.WriteMarkdown(&buf, b); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, task := range b.Tasks {
		if !strings.Contains(md, ". "+task.Title+" (") {
			t.Errorf("form lacks the title of %s", task.ID)
		}
		for _, name := range task.Tests {
			if strings.Contains(md, name) {
				t.Errorf("form shows hidden test name %q", name)
			}
		}
		for _, h := range task.Hidden {
			if strings.Contains(md, h.Path) || strings.Contains(md, string(h.Data)) {
				t.Errorf("form shows hidden file %s", h.Path)
			}
		}
		if strings.Contains(md, task.ID) {
			t.Errorf("form shows task id %s", task.ID)
		}
	}
	for _, s := range []string{"TestCMC", "cmc_", "/hidden/"} {
		if strings.Contains(md, s) {
			t.Errorf("form shows %q", s)
		}
	}
	golden := filepath.Join(banks, "form-sample.md.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if md != string(want) {
		t.Errorf("form.md:\n%s\nwant:\n%s", md, want)
	}
}

func TestFormMarkdownRefusesLeaks(t *testing.T) {
	tests := []struct {
		name, statement, want string
	}{
		{"test name", "Make TestGen001 pass.", `names hidden test "TestGen001" of task server-easy-00`},
		{"another task's test", "Unlike TestGen002, ...", `names hidden test "TestGen002" of task server-medium-00`},
		{"hidden path", "See pkg/t001/gen_test.go.", "names hidden file pkg/t001/gen_test.go"},
	}
	run := func(t *testing.T, statement, want string) {
		b := genBank(t, "", map[string]pool{"server": {1, 1, 0}})
		f := draw(t, b, "alice", 1)
		b.Task("server-easy-00").Statement = statement
		var buf bytes.Buffer
		err := f.WriteMarkdown(&buf, b)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want %q", err, want)
		}
		if buf.Len() != 0 {
			t.Error("WriteMarkdown wrote part of the form before failing")
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.statement, tt.want) })
	}
}

func TestStatementHeadings(t *testing.T) {
	b := genBank(t, "", map[string]pool{"cli": {1, 0, 0}})
	b.Tasks[0].Statement = "\n# Title\n\nIntro.\n\n## Details\n\n```sh\n# a shell comment\n```\n\n#hashtag\n"
	var buf bytes.Buffer
	if err := draw(t, b, "alice", 1).WriteMarkdown(&buf, b); err != nil {
		t.Fatal(err)
	}
	want := "### 1. Task cli-easy-00 (2 points)\n\nIntro.\n\n##### Details\n\n```sh\n# a shell comment\n```\n\n#hashtag\n"
	if !strings.HasSuffix(buf.String(), want) {
		t.Errorf("markdown ends:\n%s\nwant:\n%s", buf.String(), want)
	}
}
