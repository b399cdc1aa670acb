package testout

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/cmcgrader/cmcgrader/internal/capture"
)

// jestDoc is the JSON result `jest --json` writes (and Vitest's json
// reporter, which follows it), as far as grading reads it.
type jestDoc struct {
	TestResults *[]struct {
		Name             string `json:"name"`
		Status           string `json:"status"`
		Message          string `json:"message"`
		AssertionResults []struct {
			AncestorTitles  []string `json:"ancestorTitles"`
			Title           string   `json:"title"`
			Status          string   `json:"status"`
			Duration        *float64 `json:"duration"`
			FailureMessages []string `json:"failureMessages"`
		} `json:"assertionResults"`
	} `json:"testResults"`
}

// ErrNoJestResult says the output held no jest JSON result.
var ErrNoJestResult = errors.New("no jest JSON result in the output")

// maxJSONTries bounds how many lines starting with "{" ParseJest tries to
// read as the result before it gives up.
const maxJSONTries = 64

// ParseJest reads the first jest JSON result in stdout: a JSON object
// with a testResults array that starts a line (what `jest --json` and
// the grader's jest driver write; Vitest's json reporter writes the same
// shape). Lines before it are skipped. A test is named by its describe
// blocks and its own title joined by " > " ("bytes > rounds"), leaving out
// the unnamed suite Vitest puts first; Package is
// its test file. passed is Pass, failed is Fail, and pending, skipped,
// todo, disabled and focused are Skip; any other status is Fail. A failed
// test's output is its failure messages, colour sequences dropped.
//
// A test file that failed with a message although none of its tests
// failed could not run, or failed outside its tests (a hook): its tests
// that passed fail with that message, and when it reported no test at all
// the message goes to BuildOutput with BuildFailed set.
//
// Output without a result is ErrNoJestResult.
func ParseJest(stdout []byte) (*Results, error) {
	doc, err := findJestDoc(stdout)
	if err != nil {
		return nil, err
	}
	res := &Results{}
	build := capture.New(MaxBuildOutput)
	for _, f := range *doc.TestResults {
		start := len(res.Tests)
		anyFailed := false
		for _, a := range f.AssertionResults {
			var parts []string
			for _, p := range a.AncestorTitles {
				if p != "" { // Vitest's file-level suite has no name
					parts = append(parts, p)
				}
			}
			t := Test{Package: f.Name, Name: strings.Join(append(parts, a.Title), " > ")}
			if a.Duration != nil && *a.Duration > 0 {
				t.Elapsed = time.Duration(*a.Duration * float64(time.Millisecond))
			}
			switch a.Status {
			case "passed":
				t.Status = Pass
			case "pending", "skipped", "todo", "disabled", "focused":
				t.Status = Skip
			default:
				t.Status = Fail
				anyFailed = true
				t.Output = jestOutput(strings.Join(a.FailureMessages, "\n"))
				if t.Output == "" {
					t.Output = "status " + a.Status
				}
			}
			res.Tests = append(res.Tests, t)
		}
		if f.Status != "failed" || anyFailed || strings.TrimSpace(f.Message) == "" {
			continue
		}
		msg := jestOutput(f.Message)
		if len(res.Tests) == start {
			res.BuildFailed = true
			build.WriteString(f.Name + ":\n" + msg + "\n")
			continue
		}
		for i := start; i < len(res.Tests); i++ {
			if res.Tests[i].Status == Pass {
				res.Tests[i].Status, res.Tests[i].Output = Fail, msg
			}
		}
	}
	res.BuildOutput = strings.TrimSuffix(build.String(), "\n")
	return res, nil
}

// findJestDoc returns the first value starting a line of stdout that is
// a JSON object with a testResults array.
func findJestDoc(stdout []byte) (*jestDoc, error) {
	tries := 0
	for at := 0; at < len(stdout) && tries < maxJSONTries; {
		line := stdout[at:]
		next := len(stdout)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			next = at + i + 1
		}
		if trimmed := bytes.TrimLeft(line, " \t\r"); len(trimmed) > 0 && trimmed[0] == '{' {
			tries++
			var doc jestDoc
			if json.NewDecoder(bytes.NewReader(trimmed)).Decode(&doc) == nil && doc.TestResults != nil {
				return &doc, nil
			}
		}
		at = next
	}
	return nil, ErrNoJestResult
}

// jestOutput is a failure message as kept: colour sequences dropped,
// valid UTF-8, capped at MaxTestOutput.
func jestOutput(s string) string {
	s = ansiCSI.ReplaceAllString(strings.ToValidUTF8(s, "\uFFFD"), "")
	out := capture.New(MaxTestOutput)
	out.WriteString(strings.TrimSpace(s))
	return out.String()
}
