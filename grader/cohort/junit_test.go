package cohort

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/testout"
)

// The JUnit structure Jenkins (the junit plugin's schema) and GitLab read:
// <testsuites> with <testsuite name tests failures errors skipped time>
// holding <testcase name classname time>, each with at most one
// <failure message type> or <skipped message>. Attributes are pointers, to
// tell a missing one from an empty one.
type (
	ciSuites struct {
		XMLName  xml.Name  `xml:"testsuites"`
		Tests    *string   `xml:"tests,attr"`
		Failures *string   `xml:"failures,attr"`
		Errors   *string   `xml:"errors,attr"`
		Time     *string   `xml:"time,attr"`
		Suites   []ciSuite `xml:"testsuite"`
	}
	ciSuite struct {
		Name     *string `xml:"name,attr"`
		Tests    *string `xml:"tests,attr"`
		Failures *string `xml:"failures,attr"`
		Errors   *string `xml:"errors,attr"`
		Skipped  *string `xml:"skipped,attr"`
		Time     *string `xml:"time,attr"`
		// Properties, when there, hold at least one property.
		Properties *struct {
			Property []struct {
				Name  *string `xml:"name,attr"`
				Value *string `xml:"value,attr"`
			} `xml:"property"`
		} `xml:"properties"`
		Cases []ciCase `xml:"testcase"`
	}
	ciCase struct {
		Name      *string    `xml:"name,attr"`
		Classname *string    `xml:"classname,attr"`
		Time      *string    `xml:"time,attr"`
		Failures  []ciResult `xml:"failure"`
		Errors    []ciResult `xml:"error"`
		Skipped   []ciResult `xml:"skipped"`
	}
	ciResult struct {
		Message *string `xml:"message,attr"`
		Type    string  `xml:"type,attr"`
		Text    string  `xml:",chardata"`
	}
)

// jenkinsAttrs are the elements of the schema the Jenkins xUnit plugin
// validates JUnit reports against (junit-10.xsd) that the export uses, and
// the attributes each may have; the schema allows no other.
var jenkinsAttrs = map[string]string{
	"testsuites": "name time tests failures errors",
	"testsuite":  "name tests failures errors group time skipped timestamp hostname id package file log url",
	"properties": "",
	"property":   "name value",
	"testcase":   "name time classname group",
	"failure":    "type message",
	"error":      "type message",
	"skipped":    "type message",
}

// count reads a count attribute; it must be there and a number.
func count(t *testing.T, what string, s *string) int {
	t.Helper()
	if s == nil {
		t.Errorf("%s: attribute missing", what)
		return -1
	}
	n, err := strconv.Atoi(*s)
	if err != nil || n < 0 {
		t.Errorf("%s = %q, want a count", what, *s)
	}
	return n
}

// duration checks a time attribute: there, and seconds.
func duration(t *testing.T, what string, s *string) {
	t.Helper()
	if s == nil {
		t.Errorf("%s: time missing", what)
		return
	}
	if f, err := strconv.ParseFloat(*s, 64); err != nil || f < 0 {
		t.Errorf("%s: time %q, want seconds", what, *s)
	}
}

func TestWriteJUnit(t *testing.T) {
	entries := sampleCohort()
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, entries, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "cohort.xml", buf.Bytes())
	out := buf.Bytes()

	// Well-formed: a strict decoder reads it to the end. Only elements
	// and attributes the Jenkins schema declares appear.
	d := xml.NewDecoder(bytes.NewReader(out))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if el, ok := tok.(xml.StartElement); ok {
			allowed, known := jenkinsAttrs[el.Name.Local]
			if !known {
				t.Errorf("element <%s> is not in the schema", el.Name.Local)
			}
			for _, a := range el.Attr {
				if !strings.Contains(" "+allowed+" ", " "+a.Name.Local+" ") {
					t.Errorf("<%s %s>: attribute not in the schema", el.Name.Local, a.Name.Local)
				}
			}
		}
	}
	for _, bad := range []string{"\x00", "\x1b", "\uFFFE", "<script", "\r", "Alice", "alice@"} {
		if bytes.Contains(out, []byte(bad)) {
			t.Errorf("the JUnit XML holds %q", bad)
		}
	}

	var doc ciSuites
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	// Per candidate and exam a suite (two exams), one for the candidate
	// without a report.
	if len(doc.Suites) != 2*5+1 {
		t.Fatalf("%d suites, want 11", len(doc.Suites))
	}
	var tests, failures, skipped int
	cases := map[string]ciCase{}
	for _, s := range doc.Suites {
		if s.Name == nil || *s.Name == "" {
			t.Error("a suite has no name")
			continue
		}
		name := *s.Name
		n, f, sk := count(t, name+" tests", s.Tests), count(t, name+" failures", s.Failures), count(t, name+" skipped", s.Skipped)
		if count(t, name+" errors", s.Errors) != 0 {
			t.Errorf("%s: errors, want none", name)
		}
		duration(t, name, s.Time)
		if p := s.Properties; p != nil {
			if len(p.Property) == 0 {
				t.Errorf("%s: <properties> without a property", name)
			}
			for _, pr := range p.Property {
				if pr.Name == nil || pr.Value == nil {
					t.Errorf("%s: a property without a name or value", name)
				}
			}
		}
		var cf, cs int
		for _, c := range s.Cases {
			if c.Name == nil || *c.Name == "" || c.Classname == nil || *c.Classname == "" {
				t.Errorf("%s: a case without a name or classname", name)
				continue
			}
			duration(t, name+"/"+*c.Name, c.Time)
			if len(c.Failures)+len(c.Skipped)+len(c.Errors) > 1 {
				t.Errorf("%s/%s: more than one result element", name, *c.Name)
			}
			for _, r := range append(c.Failures, c.Skipped...) {
				if r.Message == nil || *r.Message == "" {
					t.Errorf("%s/%s: a result without a message", name, *c.Name)
				}
			}
			cf += len(c.Failures)
			cs += len(c.Skipped)
			cases[name+"/"+*c.Name] = c
		}
		if n != len(s.Cases) || f != cf || sk != cs {
			t.Errorf("%s: tests %d failures %d skipped %d, but %d cases, %d failed, %d skipped", name, n, f, sk, len(s.Cases), cf, cs)
		}
		tests, failures, skipped = tests+n, failures+f, skipped+sk
	}
	if count(t, "testsuites tests", doc.Tests) != tests || count(t, "testsuites failures", doc.Failures) != failures ||
		count(t, "testsuites errors", doc.Errors) != 0 {
		t.Errorf("<testsuites> counts do not add up: want tests %d failures %d", tests, failures)
	}
	duration(t, "testsuites", doc.Time)

	for key, want := range map[string]string{
		"cmc-0001.server/server-etag":                    "pass",
		"cmc-0004.server/server-health":                  "skipped: held for a proctor's review: its tests reach main.go:3 exit: os.Exit",
		"cmc-0004.cli/cli-version":                       "skipped: flaky: a proctor decides; first run: failed, 1 of 3 tests failed; second run: passed",
		"cmc-0004.cli/cli-status":                        "pass",
		"cmc-0006.server/server-etag":                    "failure timed out: timed out: 0 of 3 points",
		"cmc-0005/report":                                "skipped: not graded: the candidate has no report",
		`<script>alert("x")</script>.cli/cli-status`:     "skipped: not gradable (the grader failed, not the candidate): sandbox: create container: engine hiccup",
		`<script>alert("x")</script>.server/server-etag`: "failure failed: failed: 0 of 3 points",
		hostileID + ".server/server-etag":                "failure failed: failed: 1.5 of 3 points",
	} {
		c, ok := cases[key]
		if !ok {
			t.Errorf("no case %s", key)
			continue
		}
		got := "pass"
		switch {
		case len(c.Failures) == 1:
			got = "failure " + c.Failures[0].Type + ": " + *c.Failures[0].Message
		case len(c.Skipped) == 1:
			got = "skipped: " + *c.Skipped[0].Message
		}
		if got != want {
			t.Errorf("%s: %s, want %s", key, got, want)
		}
	}
	// The reason's text, escaped: the controls shown, the markup kept
	// as text, the non-character dropped.
	text := cases[`<script>alert("x")</script>.server/server-etag`].Failures[0].Text
	if want := `2 of 3 tests failed: \x1b[31m<script>alert(1)</script>\x00 & "done"\r` + "\nforged line"; text != want {
		t.Errorf("failure text %q\nwant %q", text, want)
	}

	// The grader's own JUnit reader, as lenient as CI tools, reads the
	// same cases and results.
	res, err := testout.ParseJUnit(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if res.Incomplete || len(res.Tests) != tests {
		t.Fatalf("ParseJUnit: %d tests (incomplete %v), want %d", len(res.Tests), res.Incomplete, tests)
	}
	var fail, skip int
	for _, r := range res.Tests {
		switch r.Status {
		case testout.Fail:
			fail++
		case testout.Skip:
			skip++
		}
	}
	if fail != failures || skip != skipped {
		t.Errorf("ParseJUnit: %d failed, %d skipped; want %d, %d", fail, skip, failures, skipped)
	}
}

func TestWriteJUnitPersonal(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, sampleCohort(), ExportOptions{IncludePersonal: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<property name="name" value="Alice Example"></property>`, `<property name="email" value="alice@example.com"></property>`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("with personal data the XML lacks %s", want)
		}
	}
}

func TestXMLChars(t *testing.T) {
	if got := xmlChars("a\x00b\x1fc\td\ne\rf\uFFFEg\uFFFFh\U0001F600"); got != "abc\td\ne\rfgh\U0001F600" {
		t.Errorf("xmlChars = %q", got)
	}
}
