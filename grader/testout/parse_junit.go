package testout

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cmcgrader/cmcgrader/internal/capture"
)

// maxJUnitBytes caps the JUnit document read; a longer one is parsed up to
// the cap and reported Incomplete.
const maxJUnitBytes = 32 << 20

// errEndOfInput stands in for io.EOF under the XML decoder, so that the
// end of the input is told apart from a syntax error (the decoder turns a
// plain io.EOF inside an element into a syntax error).
var errEndOfInput = errors.New("end of input")

// junitCase is the test case being read.
type junitCase struct {
	result Test
	out    *capture.Buffer
}

// ParseJUnit reads a JUnit XML document (<testsuites> or <testsuite> at
// the root, <testcase> elements with <failure>, <error> or <skipped>), as
// Node's test runner with the cmcgrader reporter, Vitest and jest-junit
// write it. Package is the test case's classname, else its suite's name.
//
// Bytes that XML 1.0 forbids (control characters, invalid UTF-8) are
// replaced before parsing. A document that ends before its root element
// closes yields the cases read so far and Incomplete; so does empty input.
// A malformed document is an error that names the line and column.
func ParseJUnit(r io.Reader) (*Results, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxJUnitBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read junit xml: %w", err)
	}
	res := &Results{}
	if len(data) > maxJUnitBytes {
		data = data[:maxJUnitBytes]
	}
	if len(bytes.TrimSpace(data)) == 0 {
		res.Incomplete = true
		return res, nil
	}
	d := xml.NewDecoder(&eofReader{r: bytes.NewReader(sanitizeXML(data))})
	d.Entity = xml.HTMLEntity
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }

	var (
		suites   []string        // names of the open <testsuite> elements
		tc       *junitCase      // the open <testcase>, if any
		text     *capture.Buffer // the open <failure>, <error> or <system-*> text
		message  string          // the open <failure> or <error>'s message
		depth    int
		sawRoot  bool
		inResult bool // text belongs to a failure or error
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, errEndOfInput) {
			if depth > 0 || !sawRoot {
				res.Incomplete = true
				if tc != nil {
					tc.result.Status = Fail
					tc.out.WriteString("\n" + capture.Mark + "no result reported: the output ended before the test finished]\n")
					tc.result.Output = tc.out.String()
					res.Tests = append(res.Tests, tc.result)
				}
			}
			return res, nil
		}
		if err != nil {
			line, col := d.InputPos()
			return nil, fmt.Errorf("junit xml: line %d, column %d: %w", line, col, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			name := t.Name.Local
			if !sawRoot {
				if name != "testsuites" && name != "testsuite" {
					line, col := d.InputPos()
					return nil, fmt.Errorf("junit xml: line %d, column %d: root element <%s>, want <testsuites> or <testsuite>", line, col, name)
				}
				sawRoot = true
			}
			switch {
			case name == "testsuite":
				suites = append(suites, attr(t, "name"))
			case name == "testcase" && tc == nil:
				tc = &junitCase{out: capture.New(MaxTestOutput)}
				tc.result.Name = attr(t, "name")
				tc.result.Package = attr(t, "classname")
				if tc.result.Package == "" && len(suites) > 0 {
					tc.result.Package = suites[len(suites)-1]
				}
				tc.result.Status = Pass
				tc.result.Elapsed = parseSeconds(attr(t, "time"))
			case tc == nil || text != nil:
				// Outside a test case, or nested in a text element.
			case name == "failure" || name == "error":
				tc.result.Status = Fail
				text, message, inResult = capture.New(MaxTestOutput), attr(t, "message"), true
			case name == "skipped":
				if tc.result.Status != Fail {
					tc.result.Status = Skip
				}
			case name == "system-out" || name == "system-err":
				text, message, inResult = capture.New(MaxTestOutput), "", false
			}
		case xml.CharData:
			if text != nil {
				text.WriteString(string(t))
			}
		case xml.EndElement:
			depth--
			name := t.Name.Local
			switch {
			case text != nil && (name == "failure" || name == "error" || name == "system-out" || name == "system-err"):
				s := strings.TrimSpace(text.String())
				if inResult && message != "" && !strings.Contains(s, strings.TrimSpace(message)) {
					tc.out.WriteString(message + "\n")
				}
				if s != "" {
					tc.out.WriteString(s + "\n")
				}
				text = nil
			case name == "testcase" && tc != nil && text == nil:
				if tc.result.Status == Fail {
					tc.result.Output = strings.TrimSuffix(tc.out.String(), "\n")
				}
				res.Tests = append(res.Tests, tc.result)
				tc = nil
			case name == "testsuite" && len(suites) > 0:
				suites = suites[:len(suites)-1]
			}
			if depth == 0 {
				return res, nil // the root closed; ignore what follows
			}
		}
	}
}

// eofReader returns errEndOfInput where r returns io.EOF.
type eofReader struct{ r io.ByteReader }

func (e *eofReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := e.r.ReadByte()
		if err == io.EOF {
			if n > 0 {
				return n, nil
			}
			return 0, errEndOfInput
		}
		if err != nil {
			return n, err
		}
		p[n] = b
		n++
	}
	return n, nil
}

func (e *eofReader) ReadByte() (byte, error) {
	b, err := e.r.ReadByte()
	if err == io.EOF {
		return 0, errEndOfInput
	}
	return b, err
}

// attr returns the value of the attribute named name, or "".
func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// parseSeconds reads a time attribute ("0.123", "1,234.5"); garbage is 0.
func parseSeconds(s string) time.Duration {
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), 64)
	if err != nil {
		return 0
	}
	return seconds(f)
}

// ansiCSI matches a terminal colour or cursor sequence, raw or with its
// escape character written as a reference (jest-junit writes &#x1B;[31m).
var ansiCSI = regexp.MustCompile(`(?:\x1b|&#[xX]0*1[bB];|&#0*27;)\[[0-9;?]*[ -/]*[@-~]`)

// charRef matches a numeric character reference.
var charRef = regexp.MustCompile(`&#(?:[xX][0-9a-fA-F]{1,8}|[0-9]{1,10});`)

// sanitizeXML drops terminal colour sequences and replaces what XML 1.0
// forbids, and Go's decoder rejects, with U+FFFD: invalid UTF-8, control
// characters other than tab, newline and carriage return, U+FFFE and
// U+FFFF, and references to any of them.
func sanitizeXML(data []byte) []byte {
	data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
	if bytes.Contains(data, []byte("\x1b")) || bytes.Contains(data, []byte("&#")) {
		data = ansiCSI.ReplaceAll(data, nil)
	}
	if bytes.IndexFunc(data, badXMLRune) >= 0 {
		data = bytes.Map(func(r rune) rune {
			if badXMLRune(r) {
				return utf8.RuneError
			}
			return r
		}, data)
	}
	if bytes.Contains(data, []byte("&#")) {
		data = charRef.ReplaceAllFunc(data, func(ref []byte) []byte {
			s := string(ref[2 : len(ref)-1])
			base := 10
			if s[0] == 'x' || s[0] == 'X' {
				s, base = s[1:], 16
			}
			n, err := strconv.ParseUint(s, base, 32)
			if err != nil || n > utf8.MaxRune || badXMLRune(rune(n)) || (n >= 0xD800 && n <= 0xDFFF) {
				return []byte("&#xFFFD;")
			}
			return ref
		})
	}
	return data
}

// badXMLRune reports a character XML 1.0 does not allow.
func badXMLRune(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF
}
