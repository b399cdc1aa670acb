package capture

import (
	"strconv"
	"unicode/utf8"
)

// Mark starts every line the grader writes into output it captured: the
// marker a Buffer puts where it dropped bytes (see Marker) and the notes
// the test output parsers add. Candidate code can print it too, so it
// tells a reader what to skip, never what to trust.
const Mark = "[cmcgrader: "

// Marker returns the line a Buffer puts where it dropped n bytes.
func Marker(n int64) string {
	return "\n" + Mark + strconv.FormatInt(n, 10) + " bytes cut]\n"
}

// Buffer is an io.Writer that keeps the first and the last bytes written
// to it within a budget and drops the middle, so that memory stays
// bounded however much a stream carries. Writes never fail: the writer on
// the other side must keep flowing so the producer never blocks on a full
// pipe.
type Buffer struct {
	max     int    // budget of what Bytes returns, marker included
	headMax int    // bytes kept from the start
	tailMax int    // bytes kept from the end
	head    []byte // first headMax bytes
	tail    []byte // ring of the last tailMax bytes once full
	pos     int    // next write index in tail once len(tail) == tailMax
	total   int64  // bytes written in all
	last    byte   // the last byte written
}

// New returns a Buffer whose Bytes are at most max bytes: the first and
// the last halves of the stream, with the marker in place of the middle.
func New(max int) *Buffer {
	return &Buffer{max: max, headMax: max / 2, tailMax: max - max/2}
}

// NewHead returns a Buffer that keeps the first bytes of the stream, for
// output whose start matters most (a compiler's first error). Its Bytes
// are at most max bytes, the marker at the end when bytes were dropped.
func NewHead(max int) *Buffer {
	return &Buffer{max: max, headMax: max}
}

// NewTail returns a Buffer that keeps the last bytes of the stream, for
// output whose end matters most (why a tool failed). Its Bytes are at
// most max bytes, the marker first when bytes were dropped.
func NewTail(max int) *Buffer {
	return &Buffer{max: max, tailMax: max}
}

// Write keeps p's bytes as head or tail. It always succeeds.
func (b *Buffer) Write(p []byte) (int, error) {
	write(b, p)
	return len(p), nil
}

// WriteString is Write for a string.
func (b *Buffer) WriteString(s string) (int, error) {
	write(b, s)
	return len(s), nil
}

func write[T string | []byte](b *Buffer, p T) {
	if len(p) == 0 {
		return
	}
	b.total += int64(len(p))
	b.last = p[len(p)-1]
	if room := b.headMax - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	if b.tailMax == 0 || len(p) == 0 {
		return
	}
	if len(p) >= b.tailMax {
		// p alone fills the ring: keep its end, start the ring over.
		b.tail = append(b.tail[:0], p[len(p)-b.tailMax:]...)
		b.pos = 0
		return
	}
	if room := b.tailMax - len(b.tail); room > 0 {
		// The ring is still filling (grows on demand, up to tailMax).
		k := min(room, len(p))
		b.tail = append(b.tail, p[:k]...)
		p = p[k:]
	}
	for len(p) > 0 {
		k := copy(b.tail[b.pos:], p)
		p = p[k:]
		b.pos = (b.pos + k) % b.tailMax
	}
}

// Truncated says whether bytes were dropped.
func (b *Buffer) Truncated() bool {
	return b.total > int64(len(b.head)+len(b.tail))
}

// LastByte returns the last byte written, kept or not, and false when
// nothing was written.
func (b *Buffer) LastByte() (byte, bool) {
	return b.last, b.total > 0
}

// Bytes returns what was kept: everything when nothing was dropped, else
// the head, the marker saying how many bytes were dropped, and the tail.
// It is at most the budget long (the marker alone when the budget is too
// small for it), cut on rune boundaries: valid UTF-8 where the stream was.
func (b *Buffer) Bytes() []byte {
	head := b.head
	tail := make([]byte, 0, len(b.tail))
	tail = append(tail, b.tail[b.pos:]...)
	tail = append(tail, b.tail[:b.pos]...)
	cut := b.total - int64(len(head)+len(tail))
	if cut == 0 {
		return append(append(make([]byte, 0, len(head)+len(tail)), head...), tail...)
	}
	mark := Marker(cut)
	// Make room for the marker, taking from both ends (half each when
	// both are kept), on rune boundaries. Taking bytes may lengthen the
	// count in the marker: look again.
	for over := len(head) + len(mark) + len(tail) - b.max; over > 0 && len(head)+len(tail) > 0; over = len(head) + len(mark) + len(tail) - b.max {
		fromTail := min(over-over/2, len(tail))
		fromHead := over - fromTail
		if fromHead > len(head) {
			fromHead = len(head)
			fromTail = min(over-fromHead, len(tail))
		}
		head = head[:runeStart(head, len(head)-fromHead)]
		tail = tail[runeEnd(tail, fromTail):]
		mark = Marker(b.total - int64(len(head)+len(tail)))
	}
	out := make([]byte, 0, len(head)+len(mark)+len(tail))
	out = append(out, head...)
	out = append(out, mark...)
	return append(out, tail...)
}

// String returns Bytes as a string.
func (b *Buffer) String() string { return string(b.Bytes()) }

// runeStart returns the largest i <= n at which s starts a rune, looking
// back no further than a rune's length (n itself when s is not UTF-8
// there).
func runeStart(s []byte, n int) int {
	if n <= 0 {
		return 0
	}
	if n >= len(s) {
		return len(s)
	}
	for i := n; i > n-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return i
		}
	}
	return n
}

// runeEnd returns the smallest i >= n at which s starts a rune, looking
// on no further than a rune's length (n itself when s is not UTF-8
// there).
func runeEnd(s []byte, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for i := n; i < n+utf8.UTFMax && i < len(s); i++ {
		if utf8.RuneStart(s[i]) {
			return i
		}
	}
	return n
}
