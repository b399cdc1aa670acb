package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/testout"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// audienceDir holds the golden candidate renderings.
const audienceDir = "../../testdata/audience"

// sampleBankReport builds a report of the sample bank from its task specs,
// with every kind of result, test outputs and failure reasons that quote
// hidden test names and paths, and tampering findings.
func sampleBankReport(t *testing.T) (*Report, *tasks.Bank) {
	t.Helper()
	b, err := tasks.Load(filepath.Join("..", "..", "testdata", "sample", "bank"))
	if err != nil {
		t.Fatal(err)
	}
	// What each task's run gives, in bank order; the result of a test is
	// "pass" unless a task fails it.
	kind := map[string]string{
		"server-etag":          "build",
		"server-health":        "pass",
		"server-pagination":    "one-fails",
		"cli-system-status":    "timeout",
		"cli-version":          "pass",
		"ui-filter-components": "one-fails",
		"ui-format-bytes":      "pass",
		"ui-health-summary":    "one-fails",
		"models-latest":        "not-gradable",
		"models-validate":      "all-fail",
		"ext-hook-chain":       "flaky",
		"ext-registry":         "pass",
	}
	rep := &Report{
		Version:    ReportVersion,
		Repository: "https://git.example.com/alice/meshery.git",
		Branch:     "cmc-exam",
		Commit:     strings.Repeat("0b3d80fe", 5),
		Bank:       BankInfo{Name: b.Name, Digest: b.Digest},
		Form:       &FormInfo{Candidate: "cmc-0042", Attempt: 2},
	}
	for _, task := range b.Tasks {
		hidden := task.Hidden[0].Path
		res := &testout.Results{}
		for i, name := range task.Tests {
			tr := testout.Test{Name: name, Status: testout.Pass, Elapsed: time.Millisecond}
			if kind[task.ID] == "all-fail" || (kind[task.ID] == "one-fails" || kind[task.ID] == "flaky") && i == 0 {
				tr.Status = testout.Fail
				tr.Output = fmt.Sprintf("--- FAIL: %s (0.00s)\n    %s:12: want 200, got 501\n", name, filepath.Base(hidden))
			}
			res.Tests = append(res.Tests, tr)
		}
		o := Outcome{Run: sandbox.Result{Duration: 3 * time.Second}, Results: res}
		switch kind[task.ID] {
		case "build":
			o.Results = &testout.Results{BuildFailed: true, BuildOutput: hidden + ":7:2: undefined: " + task.Tests[0] + "Helper\n"}
			o.Run.ExitCode = 1
		case "timeout":
			o.Run.TimedOut = true
			o.Results.Tests = o.Results.Tests[:1]
		}
		tr := Score(task, o)
		switch kind[task.ID] {
		case "not-gradable":
			tr.Status, tr.Points = NotGradable, 0
			tr.Reason = "sandbox: create container for " + task.Tests[0] + ": engine hiccup"
		case "flaky":
			tr.Flaky = true
			tr.Recheck = &RecheckInfo{Status: Passed, Points: task.Points, Reason: "3 of 3 tests passed"}
		}
		rep.Tasks = append(rep.Tasks, tr)
		rep.Tampering = append(rep.Tampering, TamperFlag{
			Kind: TamperTestFile, Path: hidden, Task: task.ID, Detail: "changed " + hidden + ", which declares " + task.Tests[0],
		})
	}
	rep.Summary = Summarize(b, rep.Tasks)
	return rep, b
}

// TestForCandidate renders the candidate's view of a sample report and
// compares it with golden files (rewrite them with -update). No hidden
// test name, hidden path, reason or tampering finding may appear in it,
// though the proctor's report holds them all.
func TestForCandidate(t *testing.T) {
	rep, b := sampleBankReport(t)
	var proctor bytes.Buffer
	if err := rep.WriteJSON(&proctor); err != nil {
		t.Fatal(err)
	}
	c := rep.ForCandidate()
	var text, js bytes.Buffer
	if err := c.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, task := range b.Tasks {
		secrets = append(secrets, task.Tests...)
		for _, h := range task.Hidden {
			secrets = append(secrets, h.Path, filepath.Base(h.Path))
		}
	}
	for _, tr := range rep.Tasks {
		if tr.Reason != "" {
			secrets = append(secrets, tr.Reason)
		}
	}
	secrets = append(secrets, "TestCMC", "cmc_", "hidden", "tamper", "undefined", b.Digest)
	// JSON writes "<", ">" and "&" as \u escapes (jest's test names hold " > ").
	inJSON := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b[1 : len(b)-1])
	}
	for _, s := range secrets {
		if !strings.Contains(proctor.String(), inJSON(s)) && s != "hidden" && s != "tamper" {
			t.Errorf("the proctor's report lacks %q: the fixture does not test what it should", s)
		}
		for name, out := range map[string]string{"text": text.String(), "json": js.String()} {
			if strings.Contains(out, s) || strings.Contains(out, inJSON(s)) {
				t.Errorf("the candidate's %s report shows %q", name, s)
			}
		}
	}
	for _, tr := range rep.Tasks {
		if !strings.Contains(text.String(), tr.Title) {
			t.Errorf("the candidate's report lacks the title %q", tr.Title)
		}
	}
	var proctorText bytes.Buffer
	if err := rep.WriteText(&proctorText); err != nil {
		t.Fatal(err)
	}
	if want := "Form:       candidate cmc-0042, attempt 2\n"; !strings.Contains(proctorText.String(), want) {
		t.Errorf("the proctor's text report lacks %q", want)
	}
	checkAudienceGolden(t, "candidate.txt", text.Bytes())
	checkAudienceGolden(t, "candidate.json", js.Bytes())

	// The JSON has exactly the fields documented, at every level.
	var shape struct {
		Exams []map[string]any `json:"exams"`
	}
	if err := json.Unmarshal(js.Bytes(), &shape); err != nil {
		t.Fatal(err)
	}
	for _, ex := range shape.Exams {
		for _, task := range ex["tasks"].([]any) {
			if n := len(task.(map[string]any)); n != 4 {
				t.Errorf("a task of the candidate report has %d fields, want 4 (title, points, possible, result): %v", n, task)
			}
		}
	}
}

func TestCandidateResults(t *testing.T) {
	rep, _ := sampleBankReport(t)
	want := map[string]CandidateResult{}
	for _, ex := range rep.ForCandidate().Exams {
		for _, task := range ex.Tasks {
			want[task.Title] = task.Result
		}
	}
	for _, tr := range rep.Tasks {
		var result CandidateResult
		switch {
		case tr.Status == NotGradable || tr.Flaky:
			result = ResultPending
		case tr.Status == Passed:
			result = ResultPass
		default:
			result = ResultFail
		}
		if want[tr.Title] != result {
			t.Errorf("%s (%s, flaky %v): candidate sees %q, want %q", tr.ID, tr.Status, tr.Flaky, want[tr.Title], result)
		}
	}
}

func TestForCandidateNotGraded(t *testing.T) {
	rep, b := sampleBankReport(t)
	rep.Form = nil
	rep.Tasks = rep.Tasks[:1]
	rep.Summary = Summarize(b, rep.Tasks)
	var text bytes.Buffer
	if err := rep.ForCandidate().WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CLI  not in this bank", "Overall: 0.0% of the 1 exams graded (of 5)", "Certification: FAIL", "Entity tags for cacheable responses  fail  0/3"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "Candidate:") || strings.Contains(text.String(), "pending") {
		t.Errorf("text shows a form or a pending note it should not:\n%s", text.String())
	}
}

func checkAudienceGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join(audienceDir, name)
	if *update {
		if err := os.MkdirAll(audienceDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n%s", golden, got)
	}
}
