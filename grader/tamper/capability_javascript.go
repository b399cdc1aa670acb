package tamper

// JavaScript capabilities, found on the syntax tree that
// github.com/tdewolff/parse/v2/js builds. The walk and the rules that read
// the tree are in capability_javascript_walk.go and _rules.go; this file
// parses, places what the rules find on lines, and keeps what the base
// did not have. (The files are not named capability_js*.go: a _js suffix
// is a build constraint for GOOS=js.)

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/tdewolff/parse/v2"
	"github.com/tdewolff/parse/v2/js"
)

// errJSFileType is returned, wrapped, for a file whose type the parser
// cannot read (TypeScript, JSX): the caller flags it as not analysed.
var errJSFileType = errors.New("file type not analysed")

// jsCapabilities returns the capabilities of the candidate's version of
// the JavaScript file name that its base version (nil for a new file)
// does not have: a (kind, detail) pair counts once per use, so a use the
// base already had does not flag, and a second one does. A candidate file
// that does not parse is an error; a base that does not parse counts as
// having nothing.
func jsCapabilities(name string, cand, base []byte) ([]Capability, error) {
	if err := jsAnalysable(name); err != nil {
		return nil, err
	}
	w, err := jsWalk(name, cand)
	if err != nil {
		return nil, err
	}
	var old []Capability
	if base != nil {
		if bw, err := jsWalk(name, base); err == nil {
			old = bw.caps
		}
	}
	return jsNew(w.caps, old, cand, base), nil
}

// jsImports returns the module specifiers the file imports with a
// constant name, in order of first appearance: import and export ... from
// statements, and require() and import() calls.
func jsImports(name string, src []byte) ([]string, error) {
	if err := jsAnalysable(name); err != nil {
		return nil, err
	}
	w, err := jsWalk(name, src)
	if err != nil {
		return nil, err
	}
	return w.specs, nil
}

// jsAnalysable says whether the parser reads files named like name. It
// reads standard JavaScript only: esbuild could strip TypeScript and JSX,
// but its parser has no nesting limit, and a hostile file of a few
// hundred KiB overflows the goroutine stack, which ends the whole
// process rather than returning an error.
func jsAnalysable(name string) error {
	switch strings.ToLower(path.Ext(name)) {
	case ".js", ".mjs", ".cjs":
		return nil
	default:
		return fmt.Errorf("%w: %s (only .js, .mjs and .cjs files are parsed)", errJSFileType, jsShow(path.Base(name)))
	}
}

// jsWalk parses src and runs the rules over it. Aliases are found by the
// walk itself (const p = process), so it walks again while a walk learns
// new ones, up to a bound; on the last walk, an alias learned late is
// flagged where it is made, which keeps it safe if the bound is reached.
func jsWalk(name string, src []byte) (*jsWalker, error) {
	f, err := parseJS(src)
	if err != nil {
		return nil, err
	}
	known := map[*js.Var]jsRef{}
	for round := 0; ; round++ {
		w := newJSWalker(f, name, known, round == jsMaxRounds)
		w.stmts(f.ast.List)
		if w.err != nil {
			return nil, w.err
		}
		if len(w.aliases) == len(known) || round == jsMaxRounds {
			return w, nil
		}
		known = w.aliases
	}
}

// jsMaxRounds bounds the walks: each round learns at least one alias,
// and chains of aliases declared in reverse order are rare.
const jsMaxRounds = 4

// jsFile is a parsed file. The parser's leaves (literals, property names,
// module specifiers) are slices of src, so their offsets are known; a
// variable's uses share one object, so the offset of a use is found by
// lexing forward from the last known offset (find), which needs the
// walk to visit the tree in source order.
type jsFile struct {
	src    []byte // the parser's copy; leaves point into it
	ast    *js.AST
	nl     []int // offsets of '\n'
	cursor int   // end of the last leaf placed
}

func parseJS(src []byte) (*jsFile, error) {
	// A private copy with room for the NUL the parser's input appends,
	// so the caller's bytes are never written to.
	buf := make([]byte, len(src), len(src)+1)
	copy(buf, src)
	// A #! line is blanked rather than skipped, so that the inline mode
	// below, which does not know it, still reads the file and offsets do
	// not move.
	if bytes.HasPrefix(buf, []byte("#!")) {
		for i := 0; i < len(buf) && buf[i] != '\n' && buf[i] != '\r'; i++ {
			buf[i] = ' '
		}
	}
	ast, err := parseJSMode(buf, js.Options{})
	if err != nil {
		// CommonJS allows return at the top level of a file, which the
		// parser accepts only in its inline mode (which has no import).
		if a, ierr := parseJSMode(buf, js.Options{Inline: true}); ierr == nil {
			ast, err = a, nil
		}
	}
	if err != nil {
		return nil, err
	}
	f := &jsFile{src: buf, ast: ast}
	for i, c := range buf {
		if c == '\n' {
			f.nl = append(f.nl, i)
		}
	}
	return f, nil
}

// parseJSMode parses buf. The parser bounds its own nesting (1000 levels
// of statements and of expressions), so its recursion is bounded; a
// panic is turned into an error, since a parser bug must not end the
// grader.
func parseJSMode(buf []byte, o js.Options) (ast *js.AST, err error) {
	defer func() {
		if r := recover(); r != nil {
			ast, err = nil, fmt.Errorf("parse: parser failed: %v", r)
		}
	}()
	ast, err = js.Parse(parse.NewInputBytes(buf), o)
	if err != nil {
		var pe *parse.Error
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("parse: line %d: %s", pe.Line, pe.Message)
		}
		return nil, fmt.Errorf("parse: %w", err)
	}
	return ast, nil
}

// offset returns where the leaf d starts in f.src, or -1 if d is not a
// slice of it (a name the parser made up or copied). The parser's slices
// have their capacity cut to their length, so the start is found from
// the addresses of the first elements.
func (f *jsFile) offset(d []byte) int {
	if len(d) == 0 || len(f.src) == 0 {
		return -1
	}
	base, at := reflect.ValueOf(f.src).Pointer(), reflect.ValueOf(d).Pointer()
	if at < base || at-base > uintptr(len(f.src)-len(d)) {
		return -1
	}
	return int(at - base)
}

// at returns the offset of the leaf d and moves the cursor past it.
func (f *jsFile) at(d []byte) int {
	off := f.offset(d)
	if off >= 0 {
		f.cursor = off + len(d)
	}
	return off
}

// jsFindTokens bounds the tokens find reads: a walk in source order meets
// the use a few tokens on; a longer search only means the walk and the
// text disagree, and the cursor is then the best guess.
const jsFindTokens = 4096

// find returns the offset of the next token spelled name at or after the
// cursor, and moves the cursor past it; when there is none near, it
// returns the cursor. Between two leaves there are only identifiers,
// keywords, punctuators and comments, which a fresh lexer reads the same
// way the parser's did.
func (f *jsFile) find(name []byte) int {
	start := f.cursor
	// f.src has spare capacity, so the input writes its NUL there rather
	// than copying the rest of the file.
	l := js.NewLexer(parse.NewInputBytes(f.src[start:]))
	pos := start
	for range jsFindTokens {
		tt, text := l.Next()
		if tt == js.ErrorToken {
			break
		}
		if bytes.Equal(text, name) {
			f.cursor = pos + len(text)
			return pos
		}
		pos += len(text)
	}
	return start
}

// line returns the 1-based line of offset off (-1 gives the cursor's).
func (f *jsFile) line(off int) int {
	if off < 0 {
		off = f.cursor
	}
	return sort.SearchInts(f.nl, off) + 1
}

// jsNew keeps, of each (kind, detail) pair of cand, as many uses as cand
// has more than base. Uses on lines whose text the base also has are
// taken to be the old ones, so the uses reported are the new lines' where
// possible.
func jsNew(cand, base []Capability, candSrc, baseSrc []byte) []Capability {
	type key struct {
		kind   report.TamperKind
		detail string
	}
	extra := map[key]int{}
	for _, c := range cand {
		extra[key{c.Kind, c.Detail}]++
	}
	for _, c := range base {
		extra[key{c.Kind, c.Detail}]--
	}
	baseLines := map[string]bool{}
	for l := range bytes.SplitSeq(baseSrc, []byte("\n")) {
		baseLines[string(bytes.TrimSpace(l))] = true
	}
	candLines := bytes.Split(candSrc, []byte("\n"))
	old := func(c Capability) bool {
		return c.Line-1 < len(candLines) && baseLines[string(bytes.TrimSpace(candLines[c.Line-1]))]
	}
	ordered := slices.Clone(cand)
	slices.SortStableFunc(ordered, func(a, b Capability) int {
		oa, ob := old(a), old(b)
		switch {
		case oa == ob:
			return a.Line - b.Line
		case ob:
			return -1
		default:
			return 1
		}
	})
	var out []Capability
	for _, c := range ordered {
		k := key{c.Kind, c.Detail}
		if extra[k] > 0 {
			extra[k]--
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b Capability) int { return a.Line - b.Line })
	return out
}

// jsIsTestFile says whether name looks like a test file, where node:test
// and node:assert are expected.
func jsIsTestFile(name string) bool {
	dir, file := path.Split(name)
	for _, d := range strings.Split(dir, "/") {
		switch d {
		case "test", "tests", "__tests__", "spec", "specs":
			return true
		}
	}
	stem := strings.TrimSuffix(file, path.Ext(file))
	return stem == "test" || strings.HasPrefix(stem, "test-") || strings.HasPrefix(stem, "test_") ||
		strings.HasSuffix(stem, ".test") || strings.HasSuffix(stem, ".spec") ||
		strings.HasSuffix(stem, "_test") || strings.HasSuffix(stem, "-test")
}

// jsIdent returns the name an identifier token spells, with its \u
// escapes decoded: \u0070rocess is process.
func jsIdent(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	var sb strings.Builder
	for i := 0; i < len(b); {
		if b[i] == '\\' {
			if r, n := jsUnicodeEscape(b[i:]); n > 0 {
				sb.WriteRune(r)
				i += n
				continue
			}
		}
		sb.WriteByte(b[i])
		i++
	}
	return sb.String()
}

// jsUnicodeEscape reads \uXXXX or \u{X...} at the start of b, returning
// the rune and the bytes read (0 if there is none).
func jsUnicodeEscape(b []byte) (rune, int) {
	if len(b) < 3 || b[0] != '\\' || b[1] != 'u' {
		return 0, 0
	}
	if b[2] == '{' {
		end := bytes.IndexByte(b, '}')
		if end < 0 || end > 12 {
			return 0, 0
		}
		v, err := strconv.ParseUint(string(b[3:end]), 16, 32)
		if err != nil || v > utf8.MaxRune {
			return 0, 0
		}
		return rune(v), end + 1
	}
	if len(b) < 6 {
		return 0, 0
	}
	v, err := strconv.ParseUint(string(b[2:6]), 16, 32)
	if err != nil {
		return 0, 0
	}
	return rune(v), 6
}

// jsStringLit returns the value of a string literal token, quotes included.
func jsStringLit(tok []byte) string {
	if len(tok) < 2 {
		return ""
	}
	return jsUnescape(tok[1 : len(tok)-1])
}

// jsTemplateChunk returns the value of a template chunk: a part (` or }
// before, ${ after) or the tail (` or } before, ` after).
func jsTemplateChunk(tok []byte, tail bool) string {
	end := len(tok) - 2
	if tail {
		end = len(tok) - 1
	}
	if end < 1 {
		return ""
	}
	return jsUnescape(tok[1:end])
}

// jsUnescape decodes the escapes of a string or template literal's text.
func jsUnescape(tok []byte) string {
	if bytes.IndexByte(tok, '\\') < 0 {
		return string(tok)
	}
	var sb strings.Builder
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c != '\\' || i+1 == len(tok) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch e := tok[i]; e {
		case 'n':
			sb.WriteByte('\n')
		case 't':
			sb.WriteByte('\t')
		case 'r':
			sb.WriteByte('\r')
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'v':
			sb.WriteByte('\v')
		case '\r':
			if i+1 < len(tok) && tok[i+1] == '\n' {
				i++
			}
		case '\n':
		case 'x':
			if i+2 < len(tok) {
				if v, err := strconv.ParseUint(string(tok[i+1:i+3]), 16, 8); err == nil {
					sb.WriteRune(rune(v))
					i += 2
					continue
				}
			}
			sb.WriteByte(e)
		case 'u':
			if r, n := jsUnicodeEscape(tok[i-1:]); n > 0 {
				sb.WriteRune(r)
				i += n - 2
				continue
			}
			sb.WriteByte(e)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			// legacy octal escapes, up to three digits below \400
			j := i + 1
			for j < len(tok) && j < i+3 && tok[j] >= '0' && tok[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint(string(tok[i:j]), 8, 16)
			for v > 0377 {
				j--
				v >>= 3
			}
			sb.WriteRune(rune(v))
			i = j - 1
		default:
			// \u2028 and \u2029 continue the line as \n does
			if r, n := utf8.DecodeRune(tok[i:]); r == '\u2028' || r == '\u2029' {
				i += n - 1
				continue
			}
			sb.WriteByte(e)
		}
	}
	return sb.String()
}

// jsNameMax bounds a name quoted in a detail.
const jsNameMax = 40

// jsShow returns a name fit for a detail: plain identifiers and module
// names as they are, anything else quoted, and long ones cut.
func jsShow(s string) string {
	cut := len(s) > jsNameMax
	if cut {
		s = s[:jsNameMax]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	plain := s != ""
	for _, r := range s {
		if !(r == '_' || r == '$' || r == '.' || r == '/' || r == '-' || r == ':' || r == '@' ||
			r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if !plain {
		s = strconv.QuoteToASCII(s)
	}
	if cut {
		s += "..."
	}
	return s
}
