package escape

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Line returns s with every control, format and separator character and
// every byte that is not UTF-8 written as a visible escape; newlines and
// tabs too, so the result is one line. Text without such characters comes
// back unchanged.
func Line(s string) string { return visible(s, false) }

// Block is Line for multi-line text: it keeps newlines and tabs, and
// escapes everything else Line does, carriage returns included, so no line
// can be overwritten by the next.
func Block(s string) string { return visible(s, true) }

// hidden reports whether a terminal could act on r, or would show nothing
// for it: controls (C0, DEL, C1), format characters (every bidirectional
// control among them) and the line and paragraph separators.
func hidden(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// visible escapes s; keepLines keeps '\n' and '\t'.
func visible(s string, keepLines bool) string {
	i := firstUnsafe(s, keepLines)
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case keepLines && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < utf8.RuneSelf && hidden(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0xFFFF && hidden(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		case hidden(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// firstUnsafe returns the index of the first byte of s that visible would
// change, or len(s).
func firstUnsafe(s string, keepLines bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if keepLines && (c == '\n' || c == '\t') {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if c < utf8.RuneSelf || r == utf8.RuneError && size == 1 || hidden(r) {
			return i
		}
		i += size
	}
	return len(s)
}

// JSON rewrites the characters of JSON text that encoding/json leaves raw
// and a terminal could act on (DEL, C1 controls, format characters such as
// the bidirectional overrides, the separators) as \u escapes. Decoded, the
// result holds exactly the same values; only its bytes are safe to show.
// js must be valid JSON, as encoding/json writes it: there every control
// below 0x20 inside a string is escaped already, and outside strings only
// whitespace appears, which is kept. A byte that is not UTF-8 becomes
// \ufffd, as encoding/json would have written it.
func JSON(js []byte) []byte {
	i := firstUnsafeJSON(js)
	if i == len(js) {
		return js
	}
	out := make([]byte, 0, len(js)+16)
	out = append(out, js[:i]...)
	for i < len(js) {
		c := js[i]
		if c < utf8.RuneSelf && c != 0x7f {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(js[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, `\ufffd`...)
		case hidden(r):
			for _, u := range utf16.Encode([]rune{r}) {
				out = fmt.Appendf(out, `\u%04x`, u)
			}
		default:
			out = append(out, js[i:i+size]...)
		}
		i += size
	}
	return out
}

// firstUnsafeJSON returns the index of the first byte JSON would change,
// or len(js).
func firstUnsafeJSON(js []byte) int {
	for i := 0; i < len(js); {
		c := js[i]
		if c < utf8.RuneSelf && c != 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRune(js[i:])
		if c == 0x7f || r == utf8.RuneError && size == 1 || hidden(r) {
			return i
		}
		i += size
	}
	return len(js)
}

// OneLine squeezes s onto one line of at most n runes, with its control,
// format and bidi characters escaped: it is where reasons, test names and
// output excerpts reach a terminal. Escaping comes first, so a carriage
// return shows as \r rather than vanishing into a space.
func OneLine(s string, n int) string {
	s = strings.Join(strings.Fields(Block(s)), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

// Short returns the first 12 characters of a digest or SHA, escaped.
func Short(digest string) string {
	if len(digest) > 12 {
		digest = digest[:12]
	}
	return Line(digest)
}
