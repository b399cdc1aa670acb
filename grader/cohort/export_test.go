package cohort

import (
	"bytes"
	"crypto/sha1"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// update rewrites the golden files of the package's tests.
var update = flag.Bool("update", false, "rewrite golden files under testdata")

// goldenDir holds the golden exports of the sample cohort.
const goldenDir = "../../testdata/cohort"

// checkGolden compares got with a golden file, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", name, got)
	}
}

// sampleBank has two exams of two tasks each.
func sampleBank() *tasks.Bank {
	return &tasks.Bank{
		Name:  "sample",
		Exams: []tasks.Exam{{Name: "server", Threshold: 70}, {Name: "cli", Threshold: 60}},
		Tasks: []*tasks.Task{
			{ID: "server-etag", Exam: "server", Title: "Entity tags", Points: 3},
			{ID: "server-health", Exam: "server", Title: "Health check", Points: 2},
			{ID: "cli-status", Exam: "cli", Title: "System status", Points: 2},
			{ID: "cli-version", Exam: "cli", Title: "Version", Points: 1},
		},
	}
}

// The hostile strings of the sample cohort.
const (
	hostileID     = `=HYPERLINK("http://evil.example/x","click")`
	hostileName   = "+cmd|' /C calc'!A0"
	hostileEmail  = "@SUM(1+1)"
	hostileRepo   = "-https://evil.example/r.git"
	hostileBranch = "\tfix"
	scriptID      = `<script>alert("x")</script>`
	bidiName      = "\"quoted\" 'name' \u202egnp.exe"
	hostileReason = "2 of 3 tests failed: \x1b[31m<script>alert(1)</script>\x00\uFFFE & \"done\"\r\nforged line"
)

// grade is one task's grade in the sample.
func grade(id string, st report.Status, points float64) report.TaskGrade {
	t := sampleBank().Task(id)
	reason := ""
	switch st {
	case report.Passed:
		reason = "3 of 3 tests passed"
	case report.Failed:
		reason = "1 of 3 tests failed"
	}
	return report.TaskGrade{ID: id, Exam: t.Exam, Title: t.Title, Status: st, Points: points, Possible: t.Points,
		Reason: reason, Duration: 1500 * time.Millisecond}
}

// commitOf makes up a commit SHA for a candidate.
func commitOf(id string) string { return fmt.Sprintf("%x", sha1.Sum([]byte(id))) }

// sampleEntry grades a candidate of sampleBank.
func sampleEntry(c Candidate, grades ...report.TaskGrade) Entry {
	r := &report.Report{
		Version:    report.ReportVersion,
		Repository: c.Repo,
		Branch:     c.Branch,
		Commit:     commitOf(c.ID),
		StartedAt:  time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC),
		FinishedAt: time.Date(2025, 6, 1, 9, 4, 30, 0, time.FixedZone("CEST", 2*3600)),
		Tasks:      grades,
	}
	r.Summary = report.Summarize(sampleBank(), grades)
	return Entry{Candidate: c, Report: r}
}

// sampleCohort is a small cohort with every kind of result, and hostile
// strings in candidate-provided fields.
func sampleCohort() []Entry {
	alice := Candidate{ID: "cmc-0001", Name: "Alice Example", Email: "alice@example.com",
		Repo: "https://git.example.com/alice/meshery.git", Branch: "cmc-exam"}
	evil := Candidate{ID: hostileID, Name: hostileName, Email: hostileEmail, Repo: hostileRepo, Branch: hostileBranch}
	script := Candidate{ID: scriptID, Name: bidiName, Email: "x@example.com",
		Repo: "https://git.example.com/s/meshery.git", Branch: "main"}
	held := Candidate{ID: "cmc-0004", Repo: "https://git.example.com/d/meshery.git", Branch: "cmc"}
	none := Candidate{ID: "cmc-0005", Name: "Not Graded", Repo: "https://git.example.com/e/meshery.git", Branch: "cmc"}
	weak := Candidate{ID: "cmc-0006", Repo: "https://git.example.com/f/meshery.git", Branch: "cmc"}

	bad := grade("server-etag", report.Failed, 0)
	bad.Reason = hostileReason
	notGradable := grade("cli-status", report.NotGradable, 0)
	notGradable.Reason = "sandbox: create container: engine hiccup"
	hold := grade("server-health", report.Passed, 2)
	hold.Hold = &report.Hold{Flags: []string{"main.go:3 exit: os.Exit"}}
	flaky := grade("cli-version", report.Failed, 0)
	flaky.Flaky = true
	flaky.Recheck = &report.RecheckInfo{Status: report.Passed, Points: 1}

	heldEntry := sampleEntry(held, grade("server-etag", report.Passed, 3), hold, grade("cli-status", report.Passed, 2), flaky)
	heldEntry.Report.Tampering = []report.TamperFlag{
		{Kind: report.CapExit, Path: "main.go", Line: 3, Detail: "os.Exit", Reached: []string{"server-health"}},
		{Kind: report.TamperCI, Path: ".github/workflows/ci.yml", Detail: "changed"},
	}
	return []Entry{
		sampleEntry(alice, grade("server-etag", report.Passed, 3), grade("server-health", report.Passed, 2),
			grade("cli-status", report.Passed, 2), grade("cli-version", report.Passed, 1)),
		sampleEntry(evil, grade("server-etag", report.Failed, 1.5), grade("server-health", report.Passed, 2),
			grade("cli-status", report.Failed, 0), grade("cli-version", report.Passed, 1)),
		sampleEntry(script, bad, grade("server-health", report.BuildFailed, 0), notGradable, grade("cli-version", report.Passed, 1)),
		heldEntry,
		{Candidate: none},
		sampleEntry(weak, grade("server-etag", report.TimedOut, 0), grade("server-health", report.Failed, 0),
			grade("cli-status", report.Failed, 0), grade("cli-version", report.Failed, 0)),
	}
}

func TestNeutralise(t *testing.T) {
	for in, want := range map[string]string{
		"":              "",
		"cmc-0001":      "cmc-0001",
		"=1+1":          "'=1+1",
		"+1":            "'+1",
		"-1":            "'-1",
		"@SUM(A1)":      "'@SUM(A1)",
		"\tx":           "'\tx",
		"\rx":           "'\rx",
		"  =1+1":        "'  =1+1",
		"a=b":           "a=b",
		"'=1":           "'=1",
		"66.67":         "66.67",
		"https://x/y-z": "https://x/y-z",
	} {
		if got := neutralise(in); got != want {
			t.Errorf("neutralise(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	entries := sampleCohort()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, entries, ExportOptions{Bank: sampleBank()}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkGolden(t, "cohort.csv", buf.Bytes())
	if strings.Count(out, "\r\n") != len(entries)+1 {
		t.Errorf("want %d CRLF-ended lines:\n%s", len(entries)+1, out)
	}
	for _, s := range []string{"Alice", "alice@", "Not Graded", "calc"} {
		if strings.Contains(out, s) {
			t.Errorf("the CSV without personal data holds %q", s)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"id", "repo", "branch", "commit", "server_percent", "server_verdict", "cli_percent", "cli_verdict",
		"overall_percent", "verdict", "flags", "held", "graded_at"}
	if !slices.Equal(rows[0], wantHeader) {
		t.Errorf("header %q\nwant %q", rows[0], wantHeader)
	}
	want := map[string][]string{
		"cmc-0001": {"cmc-0001", "https://git.example.com/alice/meshery.git", "cmc-exam", commitOf("cmc-0001"),
			"100", "PASS", "100", "PASS", "100", "PASS", "0", "0", "2025-06-01T07:04:30Z"},
		"'" + hostileID: {"'" + hostileID, "'" + hostileRepo, "'" + hostileBranch, commitOf(hostileID),
			"70", "PASS", "33.33", "FAIL", "51.67", "FAIL", "0", "0", "2025-06-01T07:04:30Z"},
		"cmc-0004": {"cmc-0004", "https://git.example.com/d/meshery.git", "cmc", commitOf("cmc-0004"),
			"100", "INCOMPLETE", "66.67", "INCOMPLETE", "83.34", "INCOMPLETE", "2", "1", "2025-06-01T07:04:30Z"},
		"cmc-0005": {"cmc-0005", "https://git.example.com/e/meshery.git", "cmc", "", "", "", "", "", "", "", "", "", ""},
	}
	for _, row := range rows[1:] {
		if len(row) != len(wantHeader) {
			t.Errorf("row %q has %d cells, want %d", row, len(row), len(wantHeader))
		}
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(strings.TrimLeft(cell, " ")[0])) {
				t.Errorf("cell %q would be read as a formula", cell)
			}
		}
		if w, ok := want[row[0]]; ok && !slices.Equal(row, w) {
			t.Errorf("row\n got %q\nwant %q", row, w)
		}
	}

	buf.Reset()
	if err := WriteCSV(&buf, entries, ExportOptions{IncludePersonal: true}); err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[0][:3]; !slices.Equal(got, []string{"id", "name", "email"}) {
		t.Errorf("with personal data the header starts %q", got)
	}
	if got := rows[0][6:16]; !slices.Equal(got, []string{"server_percent", "server_verdict", "cli_percent", "cli_verdict",
		"ui_percent", "ui_verdict", "models_percent", "models_verdict", "extensibility_percent", "extensibility_verdict"}) {
		t.Errorf("without a bank the exam columns are %q, want the five exams", got)
	}
	if got := rows[2][1:3]; !slices.Equal(got, []string{"'" + hostileName, "'" + hostileEmail}) {
		t.Errorf("hostile name and email: %q", got)
	}
	if got := rows[1][1:3]; !slices.Equal(got, []string{"Alice Example", "alice@example.com"}) {
		t.Errorf("name and email: %q", got)
	}
}

func TestWriteJSON(t *testing.T) {
	entries := sampleCohort()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, entries, ExportOptions{Bank: sampleBank()}); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "cohort.json", buf.Bytes())
	out := buf.String()
	for _, s := range []string{"Alice", "alice@", "Not Graded", "\u202e", "\x1b"} {
		if strings.Contains(out, s) {
			t.Errorf("the JSON holds %q", s)
		}
	}
	var x Export
	if err := json.Unmarshal(buf.Bytes(), &x); err != nil {
		t.Fatal(err)
	}
	if x.Version != ExportVersion || len(x.Candidates) != len(entries) || !slices.Equal(x.Exams, []string{"server", "cli"}) {
		t.Errorf("version %d, %d candidates, exams %v", x.Version, len(x.Candidates), x.Exams)
	}
	if x.Candidates[4].Result != nil {
		t.Error("a candidate without a report has a result")
	}
	if c := x.Candidates[1]; c.ID != hostileID || c.Branch != hostileBranch {
		t.Errorf("the JSON changed a value: %q %q", c.ID, c.Branch)
	}
	r := x.Candidates[3].Result
	if r == nil || r.Held != 1 || r.Flags != 2 || r.Verdict != report.Incomplete || len(r.Tasks) != 4 ||
		r.Tasks[1].Counts || !r.Tasks[1].Held || r.Tasks[3].Counts || !r.Tasks[3].Flaky || !r.Tasks[0].Counts {
		t.Errorf("cmc-0004: %+v", r)
	}
	if !r.GradedAt.Equal(time.Date(2025, 6, 1, 7, 4, 30, 0, time.UTC)) || r.GradedAt.Location() != time.UTC {
		t.Errorf("graded_at %v, want UTC", r.GradedAt)
	}
	if x.Analysis == nil || len(x.Analysis.Tasks) != 4 || x.Analysis.Candidates != 6 {
		t.Errorf("analysis: %+v", x.Analysis)
	}

	// The shape: the documented top-level and per-candidate keys.
	var shape map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &shape); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(shape)); !slices.Equal(got, []string{"analysis", "candidates", "exams", "version"}) {
		t.Errorf("top-level keys %v", got)
	}

	buf.Reset()
	if err := WriteJSON(&buf, entries, ExportOptions{IncludePersonal: true}); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(buf.Bytes(), &x); err != nil {
		t.Fatal(err)
	}
	if c := x.Candidates[2]; c.Name != bidiName || c.Email != "x@example.com" {
		t.Errorf("with personal data: name %q email %q", c.Name, c.Email)
	}
	if strings.Contains(buf.String(), "\u202e") {
		t.Error("the JSON holds a raw bidi override")
	}
}
