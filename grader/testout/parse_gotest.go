package testout

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/cmcgrader/cmcgrader/internal/capture"
)

// Bounds on the Go stream reader.
const (
	// goReadBuffer is the reader's buffer; longer lines are assembled.
	goReadBuffer = 64 << 10
	// maxGoLine is the longest line parsed; longer lines are skipped whole
	// (test2json itself splits output into short events, so only a forged
	// or corrupted line is ever this long).
	maxGoLine = 1 << 20
)

// goEvent is one line of `go test -json` (test2json's TestEvent plus the
// build events the go command adds).
type goEvent struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64 // seconds
	Output      string
	ImportPath  string // build-output and build-fail events
	FailedBuild string // package fail events whose build failed
}

// goTest is one test's state while the stream is read.
type goTest struct {
	result Test
	out    *capture.Buffer // nil once the test passed or was skipped
	done   bool
	noted  bool // a subtest's output already says why no result came
}

// goParser accumulates Results from a `go test -json` stream.
type goParser struct {
	res      Results
	tests    map[string]*goTest // by package + "\x00" + test name
	order    []*goTest
	pkgs     map[string]*goPackage
	build    *capture.Buffer // the compiler's output, first error first
	keepNext bool            // a kept non-JSON line may continue on tab-indented lines
	results  int             // test results read so far
}

// goPackage is one package's state while the stream is read.
type goPackage struct {
	ended bool // its final pass, fail or skip event came
}

// ParseGo reads a `go test -json` stream (as Go 1.24 and later write
// it, build-output and build-fail events included) and returns what it
// reported. Lines that are not JSON events are kept as build output when
// they look like the go command's or the compiler's diagnostics, and
// ignored otherwise; a line longer than 1 MiB is skipped and the lines
// after it are still read. A test that started but never reported a
// result is a failure; Incomplete says a package never ended. The error is
// only the reader's.
func ParseGo(r io.Reader) (*Results, error) {
	p := &goParser{
		tests: make(map[string]*goTest),
		pkgs:  make(map[string]*goPackage),
		build: capture.NewHead(MaxBuildOutput),
	}
	if err := readLines(r, maxGoLine, p.line); err != nil {
		return nil, fmt.Errorf("read go test output: %w", err)
	}
	return p.finish(), nil
}

// readLines calls fn with every line of r, without its line ending. Lines
// longer than max are skipped whole. fn must not keep the slice.
func readLines(r io.Reader, max int, fn func([]byte)) error {
	br := bufio.NewReaderSize(r, goReadBuffer)
	var long []byte
	tooLong := false
	for {
		frag, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if !tooLong && len(long)+len(frag) > max {
				tooLong, long = true, long[:0]
			}
			if !tooLong {
				long = append(long, frag...)
			}
			continue
		}
		line := frag
		if len(long) > 0 {
			if len(long)+len(frag) > max {
				tooLong = true
			}
			long = append(long, frag...)
			line = long
		}
		if !tooLong && len(line) > 0 {
			line = bytes.TrimSuffix(line, []byte("\n"))
			fn(bytes.TrimSuffix(line, []byte("\r")))
		}
		long, tooLong = long[:0], false
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (p *goParser) line(b []byte) {
	var ev goEvent
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &ev) != nil {
		p.text(string(b))
		return
	}
	p.keepNext = false
	switch ev.Action {
	case "build-output":
		p.build.WriteString(ev.Output)
	case "build-fail":
		p.res.BuildFailed = true
	case "start":
		p.pkg(ev.Package)
	case "run", "pause", "cont":
		if ev.Test != "" {
			t := p.test(ev.Package, ev.Test)
			if t.done && ev.Action == "run" {
				p.newTest(ev.Package, ev.Test) // a second run: a new record, as below
			}
		}
	case "output":
		if strings.IndexByte(ev.Output, 0x16) >= 0 {
			p.res.StrayFraming = true
		}
		if ev.Test == "" {
			p.pkg(ev.Package)
			if isBuildFailLine(ev.Output) {
				p.res.BuildFailed = true
			}
			return
		}
		t := p.test(ev.Package, ev.Test)
		if t.out != nil && !isFraming(ev.Output) {
			t.out.WriteString(ev.Output)
		}
	case "pass", "fail", "skip":
		if ev.Test == "" {
			p.pkg(ev.Package).ended = true
			if ev.FailedBuild != "" {
				p.res.BuildFailed = true
			}
			return
		}
		t := p.test(ev.Package, ev.Test)
		if t.done {
			// go test reports a test once; a repeat is forged or corrupt
			// output. Keep both reports: scoring counts a repeat as failed.
			t = p.newTest(ev.Package, ev.Test)
		}
		t.done = true
		p.results++
		t.result.Rank = p.results
		t.result.Status = Status(ev.Action)
		t.result.Elapsed = seconds(ev.Elapsed)
		if ev.Action == "fail" {
			p.fail(t, "")
		} else {
			t.out = nil
		}
	}
}

// text handles a line that is not a JSON event.
func (p *goParser) text(line string) {
	switch {
	case p.keepNext && strings.HasPrefix(line, "\t"):
	case compilerLine.MatchString(line), strings.HasPrefix(line, "vet: "):
		p.res.BuildFailed = true
	case strings.HasPrefix(line, "go: "):
		if !isGoChatter(line) {
			p.res.BuildFailed = true
		}
	case strings.HasPrefix(line, "# "):
	case isBuildFailLine(line):
		p.res.BuildFailed = true
		p.keepNext = false
		return
	default:
		p.keepNext = false
		return
	}
	p.keepNext = true
	p.build.WriteString(strings.ToValidUTF8(line, "\uFFFD") + "\n")
}

// fail records t's output, with note appended, and hands it to the
// nearest started ancestor, so a parent's output shows why its subtests
// failed.
func (p *goParser) fail(t *goTest, note string) {
	if t.out == nil {
		return
	}
	if note != "" && !t.noted {
		if last, ok := t.out.LastByte(); ok && last != '\n' {
			t.out.WriteString("\n")
		}
		t.out.WriteString(note)
	}
	t.result.Output = t.out.String()
	t.out = nil
	name := t.result.Name
	for i := strings.LastIndexByte(name, '/'); i > 0; i = strings.LastIndexByte(name, '/') {
		name = name[:i]
		if parent, ok := p.tests[t.result.Package+"\x00"+name]; ok {
			if parent.out != nil {
				parent.out.WriteString(t.result.Output)
				if !strings.HasSuffix(t.result.Output, "\n") {
					parent.out.WriteString("\n")
				}
				parent.noted = parent.noted || t.noted || note != ""
			}
			return
		}
	}
}

func (p *goParser) pkg(name string) *goPackage {
	pk, ok := p.pkgs[name]
	if !ok {
		pk = &goPackage{}
		p.pkgs[name] = pk
	}
	return pk
}

// test returns the latest record of a test, creating it when new.
func (p *goParser) test(pkg, name string) *goTest {
	if t, ok := p.tests[pkg+"\x00"+name]; ok {
		return t
	}
	return p.newTest(pkg, name)
}

// newTest starts a new record of a test, which later events of that name
// update.
func (p *goParser) newTest(pkg, name string) *goTest {
	p.pkg(pkg)
	t := &goTest{result: Test{Package: pkg, Name: name}, out: capture.New(MaxTestOutput)}
	p.tests[pkg+"\x00"+name] = t
	p.order = append(p.order, t)
	return t
}

// finish fails the tests that never reported a result (innermost first,
// so their output reaches their parents) and assembles the Results.
func (p *goParser) finish() *Results {
	for i := len(p.order) - 1; i >= 0; i-- {
		t := p.order[i]
		if t.done {
			continue
		}
		t.done = true
		t.result.Status = Fail
		note := capture.Mark + "no result reported: the output ended before the test finished]\n"
		if p.pkgs[t.result.Package].ended {
			note = capture.Mark + "no result reported: the test binary exited before the test finished]\n"
		}
		p.fail(t, note)
	}
	res := p.res
	res.Tests = make([]Test, len(p.order))
	for i, t := range p.order {
		res.Tests[i] = t.result
	}
	res.BuildOutput = p.build.String()
	res.Incomplete = len(p.pkgs) == 0
	for _, pk := range p.pkgs {
		if !pk.ended {
			res.Incomplete = true
		}
	}
	return &res
}

// isFraming says an output line is test2json framing that adds nothing to
// a failure's output ("=== RUN   TestX" and the like).
func isFraming(s string) bool {
	for _, f := range []string{"=== RUN ", "=== PAUSE ", "=== CONT ", "=== NAME "} {
		if strings.HasPrefix(s, f) {
			return true
		}
	}
	return false
}

// isBuildFailLine matches the go command's "FAIL\tpkg [build failed]" and
// "FAIL\tpkg [setup failed]" lines.
func isBuildFailLine(s string) bool {
	s = strings.TrimRight(s, "\r\n")
	return strings.HasPrefix(s, "FAIL\t") &&
		(strings.HasSuffix(s, " [build failed]") || strings.HasSuffix(s, " [setup failed]"))
}

// isGoChatter matches go command messages that are not failures.
func isGoChatter(s string) bool {
	for _, c := range []string{"go: downloading ", "go: finding ", "go: extracting ", "go: warning: "} {
		if strings.HasPrefix(s, c) {
			return true
		}
	}
	return false
}

// seconds converts a reported duration in seconds, rounded to the
// microsecond; nonsense (negative, NaN, absurdly long) becomes 0 or a cap.
func seconds(f float64) time.Duration {
	const maxSeconds = 1e6 // about eleven days
	switch {
	case !(f > 0):
		return 0
	case f > maxSeconds:
		f = maxSeconds
	}
	return time.Duration(math.Round(f*1e6)) * time.Microsecond
}
