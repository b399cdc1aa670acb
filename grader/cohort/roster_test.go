package cohort

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// formJSON returns a form file of the candidate's attempt, as cmcgrader
// form writes it.
func formJSON(candidate string, attempt int) string {
	return fmt.Sprintf(`{
  "version": 1,
  "bank": "cmc-sample",
  "bank_digest": "%s",
  "candidate": %q,
  "attempt": %d,
  "attempts": 3,
  "exams": [{"name": "server", "tasks": ["server-health"]}]
}
`, strings.Repeat("ab", 32), candidate, attempt)
}

// forms are the form files beside every roster of the tests.
var forms = map[string]string{
	"forms/cmc-0001-1/form.json": formJSON("cmc-0001", 1),
	"forms/cmc-0002-2/form.json": formJSON("cmc-0002", 2),
	"forms/broken.json":          "{\"version\": 1,",
}

const goodCSV = "\ufeffID,Repo,branch,Form,attempt,name,EMAIL\r\n" +
	"cmc-0001,https://github.com/alice/meshery,cmc-exam,forms/cmc-0001-1/form.json,1,\"Alice, A.\",alice@example.com\r\n" +
	"cmc-0002,https://github.com/bob/meshery.git,cmc/answers,forms/cmc-0002-2/form.json,2,,\r\n" +
	"\r\n" +
	"cmc 0003,file:///srv/git/carol.git,main,,,\"Carol \"\"C\"\" D\",\r\n"

const goodYAML = `# The cohort of the spring window.
candidates:
  - id: cmc-0001
    repo: https://github.com/alice/meshery
    branch: cmc-exam
    form: forms/cmc-0001-1/form.json
    attempt: 1
    name: Alice, A.
    email: alice@example.com
  - {id: cmc-0002, repo: "https://github.com/bob/meshery.git", branch: cmc/answers, form: forms/cmc-0002-2/form.json, attempt: 2}
  - id: cmc 0003
    repo: file:///srv/git/carol.git
    branch: main
    name: Carol "C" D
    email:
`

func TestLoadRoster(t *testing.T) {
	want := []Candidate{
		{ID: "cmc-0001", Repo: "https://github.com/alice/meshery", Branch: "cmc-exam", Form: "forms/cmc-0001-1/form.json", Attempt: 1, Name: "Alice, A.", Email: "alice@example.com"},
		{ID: "cmc-0002", Repo: "https://github.com/bob/meshery.git", Branch: "cmc/answers", Form: "forms/cmc-0002-2/form.json", Attempt: 2},
		{ID: "cmc 0003", Repo: "file:///srv/git/carol.git", Branch: "main", Name: `Carol "C" D`},
	}
	run := func(t *testing.T, file, content string, lines []int) {
		dir := t.TempDir()
		writeFiles(t, dir, forms)
		writeFiles(t, dir, map[string]string{file: content})
		t.Chdir(dir)
		r, err := LoadRoster(file)
		if err != nil {
			t.Fatalf("LoadRoster: %v", err)
		}
		got := make([]Candidate, len(r.Candidates))
		for i, c := range r.Candidates {
			if c.Line != lines[i] {
				t.Errorf("candidate %s: line %d, want %d", c.ID, c.Line, lines[i])
			}
			c.Line = 0
			got[i] = c
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("candidates\n got %+v\nwant %+v", got, want)
		}
		if r.Path != file {
			t.Errorf("Path %q, want %q", r.Path, file)
		}
		if p := r.FormPath(r.Candidates[0]); p != filepath.FromSlash("forms/cmc-0001-1/form.json") {
			t.Errorf("FormPath = %q", p)
		}
		var out bytes.Buffer
		if err := r.WriteText(&out); err != nil {
			t.Fatal(err)
		}
		golden(t, "roster/"+strings.ReplaceAll(file, ".", "_")+".golden", out.String())
	}
	t.Run("csv", func(t *testing.T) { run(t, "roster.csv", goodCSV, []int{2, 3, 5}) })
	t.Run("yaml", func(t *testing.T) { run(t, "roster.yaml", goodYAML, []int{3, 10, 11}) })
	t.Run("yml", func(t *testing.T) { run(t, "roster.yml", goodYAML, []int{3, 10, 11}) })

	t.Run("digest", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, forms)
		writeFiles(t, dir, map[string]string{"a.csv": goodCSV, "b.csv": goodCSV + "cmc-4,https://h/x.git,main,,,,\n"})
		a, err := LoadRoster(filepath.Join(dir, "a.csv"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := LoadRoster(filepath.Join(dir, "b.csv"))
		if err != nil {
			t.Fatal(err)
		}
		// sha256 of the file's bytes, BOM included.
		if a.Digest != "sha256:"+sha256Hex(goodCSV) || a.Digest == b.Digest {
			t.Errorf("digests %s and %s", a.Digest, b.Digest)
		}
	})
}

// TestLoadRosterErrors loads bad rosters; each must give no roster and
// one error that lists every problem, as in its golden file.
func TestLoadRosterErrors(t *testing.T) {
	run := func(t *testing.T, file, content string) {
		dir := t.TempDir()
		writeFiles(t, dir, forms)
		writeFiles(t, dir, map[string]string{file: content})
		t.Chdir(dir)
		r, err := LoadRoster(file)
		if r != nil || err == nil {
			t.Fatalf("LoadRoster = %v, %v; want an error and no roster", r, err)
		}
		if !errors.Is(err, ErrInvalidRoster) {
			t.Errorf("error %v does not match ErrInvalidRoster", err)
		}
		var p RosterProblem
		if !errors.As(err, &p) {
			t.Errorf("error %v holds no RosterProblem", err)
		}
		golden(t, "roster/"+t.Name()[strings.LastIndexByte(t.Name(), '/')+1:]+".golden", err.Error()+"\n")
	}
	cases := []struct{ name, file, content string }{
		{"rows", "roster.csv", `id,repo,branch,form,attempt,name,email
cmc-0001,https://github.com/alice/meshery,cmc-exam,forms/cmc-0001-1/form.json,1,Alice,alice@example.com
"cmc-0002 ",https://github.com/bob/meshery,main,,,,
cmc-0001,ssh://git@github.com/carol/meshery.git,main,,,,
cmc-0004,carol/meshery.git,a..b,,,,
cmc-0005,,,,,,
cmc-0006,https://github.com/dan/meshery,main,,0,,
cmc-0007,https://github.com/erin/meshery,main,forms/cmc-0001-1/form.json,,,
cmc-0008,https://github.com/frank/meshery,main,forms/cmc-0001-1/form.json,1,,
cmc-0002,https://github.com/bob/meshery,main,forms/cmc-0002-2/form.json,1,,
cmc-0010,https://github.com/gina/meshery,main,forms/none/form.json,1,,
cmc-0011,https://github.com/hal/meshery,main,forms/broken.json,1,,
cmc-0012,https://github.com/ivy/meshery,main,forms,1,,
cmc-0013,https://github.com/jo/meshery,main,,x,,
cmc-0014,https://github.com/kim/meshery,main,,,"Kim
Lee",kim at example.com
cmc-0015,https://github.com/lou/meshery,main,,,,lou@
cmc-0016,https://github.com/max/meshery,main
cmc-0017,https://github.com/ned/meshery,main,,,Ned "the" Nose,
cmc-0018,https://bob:s3cret@github.com/oz/meshery,-main,,,,o z@example.com
`},
		{"header", "roster.csv", "ID,Repo,Branch,Repo,Score\ncmc-1,https://h/x.git,main,https://h/x.git,9\n"},
		{"header_missing", "roster.csv", "id,name\ncmc-1,Alice\n"},
		{"no_header", "roster.csv", "cmc-1,https://h/x.git,main\n"},
		{"empty_csv", "roster.csv", ""},
		{"bom_only", "roster.csv", "\ufeff"},
		{"header_only", "roster.csv", "id,repo,branch\n"},
		{"unclosed_quote", "roster.csv", "id,repo,branch\ncmc-1,https://h/x.git,main\n\"cmc-2,https://h/y.git,main\ncmc-3,https://h/z.git,main\n"},
		{"yaml_rows", "roster.yaml", `candidates:
  - id: cmc-0001
    repo: https://github.com/alice/meshery
    branch: cmc-exam
    attempt: 1
  - id: cmc-0001
    repo: [https://github.com/bob/meshery]
    branch: main
    Branch: main
  - id: cmc-0003
    repo: &r https://github.com/carol/meshery
    branch: main
    branch: other
  - id: cmc-0004
    repo: *r
    branch:
    email: not-an-email
  - just a string
  - id: cmc-0006
    repo: https://github.com/erin/meshery
    branch: main
    form: forms/cmc-0002-2/form.json
    attempt: 2
`},
		{"yaml_top", "roster.yaml", "candidate:\n  - id: x\ncandidates: {id: x}\n"},
		{"yaml_two_keys", "roster.yaml", "candidates: []\ncandidates: []\n"},
		{"yaml_not_mapping", "roster.yml", "- id: cmc-1\n"},
		{"yaml_empty", "roster.yaml", "# nothing\n"},
		{"yaml_no_candidates", "roster.yaml", "candidates:\n"},
		{"yaml_invalid", "roster.yaml", "candidates:\n  - id: [x\n"},
		{"yaml_two_documents", "roster.yaml", "candidates: []\n---\ncandidates: []\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { run(t, c.file, c.content) })
	}
}

func TestLoadRosterBounds(t *testing.T) {
	dir := t.TempDir()
	var many strings.Builder
	many.WriteString("id,repo,branch\n")
	for i := range MaxRosterRows + 1 {
		fmt.Fprintf(&many, "c%d,https://h/x.git,main\n", i)
	}
	big := "id,repo,branch\n" + strings.Repeat("x", MaxRosterBytes)
	writeFiles(t, dir, map[string]string{"many.csv": many.String(), "big.csv": big})
	for name, want := range map[string]string{
		"many.csv": "many.csv: has more than 100000 candidates; split the cohort into several rosters",
		"big.csv":  "big.csv: is larger than 16 MiB; split the cohort into several rosters",
	} {
		_, err := LoadRoster(filepath.Join(dir, name))
		if !errors.Is(err, ErrInvalidRoster) || !strings.HasSuffix(err.Error(), "1 problem\n"+want) {
			t.Errorf("%s: %v; want %q", name, err, want)
		}
	}

	// At most 1,000 problems are listed; all are kept.
	var bad strings.Builder
	bad.WriteString("id,repo,branch\n")
	for i := range 1500 {
		fmt.Fprintf(&bad, "c%d,https://h/x.git,a..b\n", i)
	}
	writeFiles(t, dir, map[string]string{"bad.csv": bad.String()})
	_, err := LoadRoster(filepath.Join(dir, "bad.csv"))
	var rerr *RosterError
	if !errors.As(err, &rerr) || len(rerr.Problems) != 1500 {
		t.Fatalf("err = %v; want a RosterError with 1500 problems", err)
	}
	msg := err.Error()
	if n := strings.Count(msg, "\n"); n != 1001 || !strings.HasSuffix(msg, "\n... and 500 more") {
		t.Errorf("error text has %d lines, ends %q", n+1, msg[len(msg)-40:])
	}
}

func TestLoadRosterFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"roster.txt": goodCSV})
	_, err := LoadRoster(filepath.Join(dir, "roster.txt"))
	if !errors.Is(err, ErrInvalidRoster) || !strings.Contains(err.Error(), "must end in .csv") {
		t.Errorf("roster.txt: %v; want an error naming .csv and .yaml", err)
	}
	_, err = LoadRoster(filepath.Join(dir, "missing.csv"))
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrInvalidRoster) {
		t.Errorf("missing file: %v; want a not-exist error", err)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	// Tests chdir into their temporary folder: find testdata from the
	// package's folder.
	path := filepath.Join(pkgDir, "testdata", filepath.FromSlash(name))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it)\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

var pkgDir = func() string {
	d, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return d
}()

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
