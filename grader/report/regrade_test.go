package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	task := func(id string, s Status, p float64) TaskGrade { return TaskGrade{ID: id, Status: s, Points: p} }
	report := func(rc *Receipt, ts ...TaskGrade) *Report { return &Report{Tasks: ts, Receipt: rc} }
	rc := sampleReport().Receipt
	otherNode := *rc
	otherNode.Image.Node = "v22.1.0"

	type row struct {
		id   string
		same bool
	}
	for _, tc := range []struct {
		name      string
		old, new  *Report
		rows      []row
		identical bool
		inputs    []string
		text      []string
	}{
		{
			name:      "identical",
			old:       report(rc, task("a", Passed, 2), task("b", Failed, 0)),
			new:       report(rc, task("a", Passed, 2), task("b", Failed, 0)),
			rows:      []row{{"a", true}, {"b", true}},
			identical: true,
			text:      []string{"a  passed 2  passed 2  same", "identical: all 2 tasks"},
		},
		{
			name: "points differ",
			old:  report(rc, task("a", Failed, 1.5)),
			new:  report(rc, task("a", Failed, 1)),
			rows: []row{{"a", false}},
			text: []string{"failed 1.5  failed 1  DIFFERENT", "DIFFERENT: 1 of 1 tasks"},
		},
		{
			name: "status differs",
			old:  report(rc, task("a", Passed, 2)),
			new:  report(rc, task("a", NotGradable, 0)),
			rows: []row{{"a", false}},
		},
		{
			name: "task missing from the new report",
			old:  report(rc, task("a", Passed, 2), task("b", Passed, 1)),
			new:  report(rc, task("a", Passed, 2)),
			rows: []row{{"a", true}, {"b", false}},
			text: []string{"b  passed 1  (not graded)  DIFFERENT"},
		},
		{
			name: "task only in the new report",
			old:  report(rc, task("a", Passed, 2)),
			new:  report(rc, task("a", Passed, 2), task("c", Failed, 0)),
			rows: []row{{"a", true}, {"c", false}},
		},
		{
			name:      "same scores, another input",
			old:       report(rc, task("a", Passed, 2)),
			new:       report(&otherNode, task("a", Passed, 2)),
			rows:      []row{{"a", true}},
			identical: true,
			inputs:    []string{"image.node: v20.19.2 → v22.1.0"},
			text:      []string{"identical", "input differs: image.node: v20.19.2 → v22.1.0"},
		},
		{
			name:      "no receipt in one",
			old:       report(rc, task("a", Passed, 2)),
			new:       report(nil, task("a", Passed, 2)),
			rows:      []row{{"a", true}},
			identical: true,
			inputs:    []string{"receipt: only one of the reports has one"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(tc.old, tc.new)
			var got []row
			for _, tr := range c.Tasks {
				got = append(got, row{tr.ID, tr.Same})
			}
			if len(got) != len(tc.rows) {
				t.Fatalf("rows %v, want %v", got, tc.rows)
			}
			for i := range got {
				if got[i] != tc.rows[i] {
					t.Errorf("row %d = %v, want %v", i, got[i], tc.rows[i])
				}
			}
			if strings.Join(c.Inputs, "|") != strings.Join(tc.inputs, "|") {
				t.Errorf("inputs %q, want %q", c.Inputs, tc.inputs)
			}
			var buf bytes.Buffer
			if err := c.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(buf.String(), "\nidentical: "); got != tc.identical {
				t.Errorf("verdict identical = %v, want %v:\n%s", got, tc.identical, buf.String())
			}
			// Columns are aligned with spaces: compare words.
			text := strings.Join(strings.Fields(buf.String()), " ")
			for _, want := range tc.text {
				if !strings.Contains(text, strings.Join(strings.Fields(want), " ")) {
					t.Errorf("text does not hold %q:\n%s", want, buf.String())
				}
			}
		})
	}
}

func TestReceiptDiff(t *testing.T) {
	base := sampleReport().Receipt
	for _, tc := range []struct {
		name string
		edit func(*Receipt)
		want string
	}{
		{"commit", func(r *Receipt) { r.Commit = strings.Repeat("a", 40) }, "commit: "},
		{"tree", func(r *Receipt) { r.Tree = "x" }, "tree: "},
		{"base commit", func(r *Receipt) { r.Base.Commit = "x" }, "base.commit: "},
		{"bank digest", func(r *Receipt) { r.Bank.Digest = "x" }, "bank.digest: "},
		{"task digest", func(r *Receipt) {
			r.Bank.Tasks = []TaskDigest{{ID: "server-health", Digest: "x", Timeout: r.Bank.Tasks[0].Timeout}}
		}, "bank.tasks: server-health differs"},
		{"task gone", func(r *Receipt) { r.Bank.Tasks = nil }, "bank.tasks: server-health not graded again"},
		{"image", func(r *Receipt) { r.Image.ID = "sha256:x" }, "image.id: "},
		{"go", func(r *Receipt) { r.Image.Go = "go1.27" }, "image.go: go1.26.8 → go1.27"},
		{"opa", func(r *Receipt) { r.Image.OPA = "1.23.0" }, "image.opa:  → 1.23.0"},
		{"jest", func(r *Receipt) { r.Image.Jest = "29.7.0" }, "image.jest:  → 29.7.0"},
		{"limits", func(r *Receipt) { r.Limits.CPUs = 1 }, "limits: "},
		{"grader", func(r *Receipt) { r.GraderVersion = "v0.2.0" }, "grader_version: v0.1.0 → v0.2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edited := *base
			edited.Bank.Tasks = append([]TaskDigest(nil), base.Bank.Tasks...)
			tc.edit(&edited)
			got := base.Diff(&edited)
			if len(got) != 1 || !strings.HasPrefix(got[0], tc.want) {
				t.Errorf("diff %q, want one entry starting %q", got, tc.want)
			}
		})
	}
	if got := base.Diff(base); len(got) != 0 {
		t.Errorf("same receipt: diff %q", got)
	}
}
