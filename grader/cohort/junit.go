package cohort

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/escape"
)

// The JUnit XML elements, with the attributes Jenkins and GitLab read.
// <testsuites> has no skipped count: the schema Jenkins validates against
// declares none there.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string           `xml:"name,attr"`
		Tests      int              `xml:"tests,attr"`
		Failures   int              `xml:"failures,attr"`
		Errors     int              `xml:"errors,attr"`
		Skipped    int              `xml:"skipped,attr"`
		Time       string           `xml:"time,attr"`
		Timestamp  string           `xml:"timestamp,attr,omitempty"`
		Properties *junitProperties `xml:"properties,omitempty"`
		Cases      []junitCase      `xml:"testcase"`
	}
	junitProperties struct {
		Property []junitProperty `xml:"property"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string       `xml:"name,attr"`
		Classname string       `xml:"classname,attr"`
		Time      string       `xml:"time,attr"`
		Failure   *junitResult `xml:"failure,omitempty"`
		Skipped   *junitResult `xml:"skipped,omitempty"`
	}
	junitResult struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",chardata"`
	}
)

// properties is a <properties> element, or nil when there are none: the
// schema Jenkins reads wants at least one property in it.
func properties(p []junitProperty) *junitProperties {
	if len(p) == 0 {
		return nil
	}
	return &junitProperties{Property: p}
}

// seconds writes a duration as JUnit does: seconds, three decimals.
func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the cohort as JUnit XML, for CI tools: a <testsuite>
// per candidate and exam, named "<candidate>.<exam>", with a <testcase>
// per task of the exam in the candidate's report. A task that counts (see
// Counts) and earned full points passes; one that counts and did not has
// a <failure> whose message gives its status and points and whose text
// its reason; one that does not count (not gradable, not graded, flaky,
// held for review) is <skipped>. A candidate without a report has one
// suite, named by their id, with one skipped case, "report". Names and
// text are escaped as for a terminal (see package escape) and any
// character XML 1.0 does not allow is dropped, so the document is always
// well-formed. IncludePersonal adds the candidate's name and email as
// properties of each suite.
func WriteJUnit(w io.Writer, entries []Entry, opts ExportOptions) error {
	doc := junitSuites{Name: "cmcgrader cohort"}
	var total time.Duration
	for _, e := range entries {
		id := xmlLine(e.Candidate.ID)
		var props []junitProperty
		if opts.IncludePersonal {
			props = append(props, junitProperty{"name", xmlLine(e.Candidate.Name)}, junitProperty{"email", xmlLine(e.Candidate.Email)})
		}
		r := e.Report
		if r == nil {
			doc.Suites = append(doc.Suites, junitSuite{
				Name: id, Tests: 1, Skipped: 1, Time: seconds(0), Properties: properties(props),
				Cases: []junitCase{{Name: "report", Classname: id, Time: seconds(0),
					Skipped: &junitResult{Message: "not graded: the candidate has no report"}}},
			})
			continue
		}
		props = append(props, junitProperty{"repository", xmlLine(e.repo())}, junitProperty{"branch", xmlLine(e.branch())},
			junitProperty{"commit", xmlLine(r.Commit)}, junitProperty{"certification", xmlLine(string(r.Verdict))})
		for _, ex := range r.Exams {
			name := id + "." + xmlLine(ex.Name)
			s := junitSuite{Name: name, Properties: properties(append(props[:len(props):len(props)],
				junitProperty{"percent", number(ex.Percent)}, junitProperty{"verdict", xmlLine(string(ex.Verdict))}))}
			if !r.FinishedAt.IsZero() {
				s.Timestamp = r.FinishedAt.UTC().Format("2006-01-02T15:04:05")
			}
			var d time.Duration
			for _, t := range r.Tasks {
				if t.Exam != ex.Name {
					continue
				}
				c := junitCase{Name: xmlLine(t.ID), Classname: name, Time: seconds(t.Duration)}
				switch {
				case !Counts(t):
					c.Skipped = &junitResult{Message: xmlLine(skipMessage(t))}
					s.Skipped++
				case !fullPoints(t):
					c.Failure = &junitResult{
						Message: xmlLine(fmt.Sprintf("%s: %s of %s points", t.Status, number(t.Points), number(t.Possible))),
						Type:    xmlLine(string(t.Status)),
						Text:    xmlBlock(t.Reason),
					}
					s.Failures++
				}
				s.Tests++
				s.Cases = append(s.Cases, c)
				d += t.Duration
			}
			s.Time = seconds(d)
			total += d
			doc.Suites = append(doc.Suites, s)
		}
	}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
	}
	doc.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// skipMessage says why a task that does not count was skipped.
func skipMessage(t report.TaskGrade) string {
	switch {
	case t.Status == report.NotGradable:
		return withReason("not gradable (the grader failed, not the candidate)", t.Reason)
	case t.Status == report.NotGraded:
		return withReason("not graded (the grading was interrupted)", t.Reason)
	case t.Flaky:
		msg := withReason("flaky: a proctor decides; first run", string(t.Status)+", "+t.Reason)
		if t.Recheck != nil {
			msg += "; second run: " + string(t.Recheck.Status)
		}
		return msg
	}
	msg := "held for a proctor's review"
	if t.Hold != nil && len(t.Hold.Flags) > 0 {
		msg += ": its tests reach " + t.Hold.Flags[0]
		if n := len(t.Hold.Flags) - 1; n > 0 {
			msg += fmt.Sprintf(" and %d more", n)
		}
	}
	return msg
}

// withReason appends a reason, if any, to a message.
func withReason(msg, reason string) string {
	if reason == "" {
		return msg
	}
	return msg + ": " + reason
}

// xmlLine and xmlBlock make candidate text safe to show (escape.Line and
// escape.Block) and drop what XML 1.0 does not allow; encoding/xml then
// escapes the markup characters.
func xmlLine(s string) string  { return xmlChars(escape.Line(s)) }
func xmlBlock(s string) string { return xmlChars(escape.Block(s)) }

// xmlChars drops every character XML 1.0 does not allow (its production
// Char): after escaping, only U+FFFE and U+FFFF can be left.
func xmlChars(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF {
			return r
		}
		return -1
	}, s)
}
