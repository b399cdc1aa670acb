package protocol

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestCapture(t *testing.T) {
	marker := func(n int) string { return fmt.Sprintf("\n... [cmcgrader: %d bytes truncated] ...\n", n) }
	tests := []struct {
		name   string
		limit  int64
		writes []string
		want   string
	}{
		{name: "empty", limit: 10, want: ""},
		{name: "under limit", limit: 10, writes: []string{"abc", "de"}, want: "abcde"},
		{name: "exactly at limit", limit: 10, writes: []string{"0123456789"}, want: "0123456789"},
		{name: "at limit in pieces", limit: 10, writes: []string{"012", "3456", "789"}, want: "0123456789"},
		{name: "one over", limit: 10, writes: []string{"0123456789x"}, want: "01234" + marker(1) + "6789x"},
		{name: "head and tail", limit: 6, writes: []string{"abcdefghijklmnop"}, want: "abc" + marker(10) + "nop"},
		{name: "ring wraps", limit: 6, writes: []string{"ab", "cd", "ef", "gh", "ij", "k"}, want: "abc" + marker(5) + "ijk"},
		{name: "tiny writes", limit: 4, writes: strings.Split("abcdefghij", ""), want: "ab" + marker(6) + "ij"},
		{name: "odd limit", limit: 5, writes: []string{"abcdefgh"}, want: "ab" + marker(3) + "fgh"},
		{name: "limit one", limit: 1, writes: []string{"abc", "d"}, want: marker(3) + "d"},
		{name: "big write after fill", limit: 6, writes: []string{"abcd", "0123456789"}, want: "abc" + marker(8) + "789"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCapture(tt.limit)
			for _, w := range tt.writes {
				n, err := c.Write([]byte(w))
				if n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if got := string(c.Bytes()); got != tt.want {
				t.Errorf("bytes() = %q, want %q", got, tt.want)
			}
			wantTrunc := strings.Contains(tt.want, "bytes truncated]")
			if got := c.Truncated(); got != wantTrunc {
				t.Errorf("truncated() = %v, want %v", got, wantTrunc)
			}
		})
	}
}

// TestCaptureHuge writes far more than the limit and checks that the kept
// bytes stay within the limit and hold the true head and tail.
func TestCaptureHuge(t *testing.T) {
	const limit = 1 << 20
	c := NewCapture(limit)
	chunk := make([]byte, 64<<10-7) // odd size: writes straddle the ring end
	var total int64
	var last byte
	for i := 0; total < 256<<20; i++ {
		for j := range chunk {
			chunk[j] = byte(i + j)
		}
		c.Write(chunk)
		total += int64(len(chunk))
		last = chunk[len(chunk)-1]
	}
	if len(c.head) != limit/2 || len(c.tail) != limit/2 || cap(c.tail) > limit {
		t.Fatalf("kept head %d, tail %d (cap %d); want %d each", len(c.head), len(c.tail), cap(c.tail), limit/2)
	}
	if !c.Truncated() {
		t.Fatal("truncated() = false")
	}
	out := c.Bytes()
	want := fmt.Sprintf("[cmcgrader: %d bytes truncated]", total-limit)
	if !bytes.Contains(out, []byte(want)) {
		t.Errorf("output lacks %q", want)
	}
	if out[len(out)-1] != last {
		t.Errorf("last byte %d, want %d", out[len(out)-1], last)
	}
	if out[0] != 0 || out[1] != 1 {
		t.Errorf("head starts %v, want [0 1]", out[:2])
	}
}

func TestPreamble(t *testing.T) {
	const m = "<<ready>>"
	tests := []struct {
		name    string
		writes  []string
		found   bool
		before  string
		forward string
	}{
		{name: "marker first", writes: []string{m + "hello"}, found: true, forward: "hello"},
		{name: "noise before", writes: []string{"tar: warning\n", m, "out"}, found: true, before: "tar: warning\n", forward: "out"},
		{name: "split marker", writes: []string{"x<<re", "ad", "y>>rest"}, found: true, before: "x", forward: "rest"},
		{name: "byte by byte", writes: strings.Split("ab"+m+"cd", ""), found: true, before: "ab", forward: "cd"},
		{name: "no marker", writes: []string{"cmcgrader-sandbox: unpack failed\n"}, before: "cmcgrader-sandbox: unpack failed\n"},
		{name: "partial marker at end", writes: []string{"err <<rea"}, before: "err <<rea"},
		{name: "marker twice", writes: []string{m + "a" + m}, found: true, forward: "a" + m},
		{name: "capped", writes: []string{strings.Repeat("x", 40), m}, found: true, before: strings.Repeat("x", 16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var next bytes.Buffer
			p := NewPreamble(m, &next, 16)
			for _, w := range tt.writes {
				if n, err := p.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if p.found != tt.found {
				t.Errorf("found = %v, want %v", p.found, tt.found)
			}
			wantBefore := tt.before
			if len(wantBefore) > 16 {
				wantBefore = wantBefore[:16]
			}
			if got := string(p.Before()); got != wantBefore {
				t.Errorf("before() = %q, want %q", got, wantBefore)
			}
			if got := next.String(); got != tt.forward {
				t.Errorf("forwarded %q, want %q", got, tt.forward)
			}
		})
	}
}
