package tasks

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cmcgrader/cmcgrader/internal/jsonout"
)

// maxFormBytes bounds the size of a form file.
const maxFormBytes = 1 << 20

// WriteJSON writes the form as indented JSON, the file grade --form reads.
func (f *Form) WriteJSON(w io.Writer) error {
	return jsonout.Write(w, f)
}

// LoadForm reads a form file written by WriteJSON (see ReadForm).
func LoadForm(name string) (*Form, error) {
	file, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read form: %w", err)
	}
	defer file.Close()
	f, err := ReadForm(file)
	if err != nil {
		return nil, fmt.Errorf("read form %s: %w", name, err)
	}
	return f, nil
}

// ReadForm decodes a form written by WriteJSON. It refuses unknown
// fields (a report is not a form) and a form that is not well-formed; that
// its tasks are the ones drawn for it is for Check to say.
func ReadForm(r io.Reader) (*Form, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFormBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFormBytes {
		return nil, fmt.Errorf("larger than %d bytes: not a form written by cmcgrader form", maxFormBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f Form
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("not a form written by cmcgrader form: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not a form written by cmcgrader form: data after the form")
	}
	if f.Version != FormVersion {
		return nil, fmt.Errorf("version: must be %d (got %d); draw the form again with this grader", FormVersion, f.Version)
	}
	if _, err := hex.DecodeString(f.BankDigest); err != nil || len(f.BankDigest) != 64 {
		return nil, fmt.Errorf("bank_digest: must be 64 hex digits (got %q)", f.BankDigest)
	}
	if err := CheckCandidate(f.Candidate); err != nil {
		return nil, fmt.Errorf("candidate: %w", err)
	}
	if f.Attempt < 1 {
		return nil, fmt.Errorf("attempt: must be at least 1 (got %d)", f.Attempt)
	}
	seen := map[string]bool{}
	for _, e := range f.Exams {
		if !isExam(e.Name) || seen[e.Name] {
			return nil, fmt.Errorf("exams: %q is not one of %s, or is listed twice", e.Name, examList())
		}
		seen[e.Name] = true
		if len(e.Tasks) == 0 {
			return nil, fmt.Errorf("exams: %s lists no tasks", e.Name)
		}
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("exams: the form holds no tasks")
	}
	return &f, nil
}

// examTitles are the exams' names as headings.
var examTitles = map[string]string{
	"server": "Server", "cli": "CLI (mesheryctl)", "ui": "UI", "models": "Models", "extensibility": "Extensibility",
}

// WriteMarkdown writes the form the candidate reads: per exam its pass
// mark and, for each task, its title, points and statement. It never
// writes a task id, a hidden test name or a hidden file's path or content;
// a statement that mentions a hidden test name or hidden path of any task
// of the bank is an error naming it, and nothing is written. b must be the
// bank the form was drawn from.
func (f *Form) WriteMarkdown(w io.Writer, b *Bank) error {
	if f.BankDigest != b.Digest {
		return fmt.Errorf("the form was drawn from bank digest %s, not %s", f.BankDigest, b.Digest)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Certified Meshery Contributor: your exam form\n\n")
	fmt.Fprintf(&buf, "- Candidate: %s\n- Attempt: %d of %d\n- Bank: %s\n\n", f.Candidate, f.Attempt, f.Attempts, f.Bank)
	buf.WriteString("Solve every task below in your fork of Meshery and push your work to the branch you\n" +
		"were given. Each task is graded by tests you do not see. An exam passes when its points\n" +
		"reach its pass mark; the certification needs every exam to pass.\n\n")
	buf.WriteString("| exam | tasks | points | pass mark |\n| --- | ---: | ---: | ---: |\n")
	for _, e := range f.Exams {
		var points float64
		for _, id := range e.Tasks {
			if t := b.Task(id); t != nil {
				points += t.Points
			}
		}
		fmt.Fprintf(&buf, "| %s | %d | %g | %g%% |\n", examTitles[e.Name], len(e.Tasks), points, b.Exam(e.Name).Threshold)
	}
	for _, e := range f.Exams {
		fmt.Fprintf(&buf, "\n## %s\n", examTitles[e.Name])
		for i, id := range e.Tasks {
			t := b.Task(id)
			if t == nil {
				return fmt.Errorf("the form lists task %s, which bank %s does not hold", id, b.Name)
			}
			if err := checkStatement(t, b); err != nil {
				return err
			}
			fmt.Fprintf(&buf, "\n### %d. %s (%s)\n\n", i+1, oneLine(t.Title), pointsText(t.Points))
			if body := statementBody(t.Statement); body != "" {
				buf.WriteString(body)
				buf.WriteString("\n")
			} else {
				buf.WriteString("_This task has no written statement beyond its title._\n")
			}
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// checkStatement refuses a statement that names a hidden test or a hidden
// path of any task of the bank.
func checkStatement(t *Task, b *Bank) error {
	for _, o := range b.Tasks {
		for _, name := range o.Tests {
			if strings.Contains(t.Statement, name) {
				return fmt.Errorf("%s/%s names hidden test %q of task %s; candidates must never see hidden test names: reword the statement",
					t.ID, statementFile, name, o.ID)
			}
		}
		for _, h := range o.Hidden {
			if strings.Contains(t.Statement, h.Path) {
				return fmt.Errorf("%s/%s names hidden file %s of task %s; candidates must never see hidden paths: reword the statement",
					t.ID, statementFile, h.Path, o.ID)
			}
		}
	}
	return nil
}

func pointsText(p float64) string {
	if p == 1 {
		return "1 point"
	}
	return fmt.Sprintf("%g points", p)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// statementBody returns a statement ready to sit under a task's heading:
// without its leading top-level heading (the title is shown already),
// its other headings moved three levels down (at most six #), and
// without blank lines at either end. Fenced code is left alone.
func statementBody(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	if len(lines) > 0 && strings.HasPrefix(lines[0], "# ") {
		lines = lines[1:]
	}
	fence := ""
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		switch {
		case fence != "":
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
		case strings.HasPrefix(trimmed, "```"), strings.HasPrefix(trimmed, "~~~"):
			fence = trimmed[:3]
		case strings.HasPrefix(l, "#"):
			level := len(l) - len(strings.TrimLeft(l, "#"))
			if level <= 6 && (len(l) == level || l[level] == ' ') {
				lines[i] = strings.Repeat("#", min(6, level+3)) + l[level:]
			}
		}
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n \t")
}
