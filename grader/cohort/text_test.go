package cohort

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteText(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, Analyse(sampleBank(), sampleCohort())); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "analysis.txt", buf.Bytes())
	for _, want := range []string{
		"Cohort: 6 candidate(s), 5 graded: 1 PASS, 3 FAIL, 1 INCOMPLETE\n",
		"server  4        50%        42.5%  1           2 0 0 0 0 0 0 1 0 1\n",
		"server-etag    server  5       0         40%        1.5/3        0.96            -\n",
		"cli-version    cli     4       1         75%        0.75/1       0.52            too-few\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the text lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestWriteTextEscapes: task ids and exams read from reports (no bank)
// reach the terminal escaped.
func TestWriteTextEscapes(t *testing.T) {
	hostile := g("a\x1b[2J\u202eb", 2)
	hostile.Exam = "server\r"
	var buf bytes.Buffer
	if err := WriteText(&buf, Analyse(nil, []Entry{entry("c1", hostile)})); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.ContainsAny(out, "\x1b\u202e\r") {
		t.Errorf("raw control characters in the text:\n%q", out)
	}
	if !strings.Contains(out, `a\x1b[2J\u202eb  server\r`) {
		t.Errorf("the hostile task is not shown escaped:\n%s", out)
	}
	if !strings.Contains(out, "too-few") || !strings.Contains(out, "-          -") {
		t.Errorf("want too-few and dashes for undefined figures:\n%s", out)
	}
}
