package capture

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

const digits36 = "0123456789abcdefghijklmnopqrstuvwxyz"

func TestBuffer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		buf    *Buffer
		writes []string
		want   string
	}{
		{name: "empty", buf: New(40), want: ""},
		{name: "under budget", buf: New(40), writes: []string{"abc", "de"}, want: "abcde"},
		{name: "exactly at budget", buf: New(36), writes: []string{digits36}, want: digits36},
		{name: "at budget in pieces", buf: New(36), writes: []string{"0123", "456789abcdefghijklmnopq", "rstuvwxyz"}, want: digits36},
		{name: "one over", buf: New(35), writes: []string{digits36},
			want: "0123" + Marker(28) + "wxyz"},
		{name: "head and tail", buf: New(40), writes: []string{digits36 + "ABCDE"},
			want: "0123456" + Marker(28) + "zABCDE"},
		{name: "ring wraps", buf: New(40), writes: strings.SplitAfter(digits36+"ABCDE", "9"),
			want: "0123456" + Marker(28) + "zABCDE"},
		{name: "byte by byte", buf: New(40), writes: strings.Split(digits36+"ABCDE", ""),
			want: "0123456" + Marker(28) + "zABCDE"},
		{name: "big write after fill", buf: New(40), writes: []string{"01234", digits36[5:] + "ABCDE"},
			want: "0123456" + Marker(28) + "zABCDE"},
		{name: "odd budget", buf: New(41), writes: []string{digits36 + "ABCDEF"},
			want: "0123456" + Marker(28) + "zABCDEF"},
		{name: "runes kept whole", buf: New(40), writes: []string{strings.Repeat("ü", 38)},
			want: "üüü" + Marker(64) + "üüü"},
		{name: "budget under the marker", buf: New(10), writes: []string{digits36 + "ABCDE"},
			want: Marker(41)},
		{name: "head fits", buf: NewHead(36), writes: []string{digits36}, want: digits36},
		{name: "head", buf: NewHead(40), writes: []string{digits36, "ABCDE"},
			want: "0123456789abc" + Marker(28)},
		{name: "tail fits", buf: NewTail(36), writes: []string{digits36}, want: digits36},
		{name: "tail", buf: NewTail(40), writes: []string{digits36, "ABCDE"},
			want: Marker(28) + "stuvwxyzABCDE"},
		{name: "tail ring wraps", buf: NewTail(40), writes: strings.Split(digits36+"ABCDE", ""),
			want: Marker(28) + "stuvwxyzABCDE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range tc.writes {
				if n, err := tc.buf.WriteString(w); n != len(w) || err != nil {
					t.Fatalf("WriteString(%q) = %d, %v", w, n, err)
				}
			}
			if got := tc.buf.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			if got := string(tc.buf.Bytes()); got != tc.want {
				t.Errorf("Bytes() = %q, want %q", got, tc.want)
			}
			if got, want := tc.buf.Truncated(), strings.Contains(tc.want, Mark); got != want {
				t.Errorf("Truncated() = %v, want %v", got, want)
			}
		})
	}
}

// TestBufferRandom checks on random streams that what is kept stays
// within the budget, is the head and the tail of the stream around one
// marker that counts what is missing, and is valid UTF-8.
func TestBufferRandom(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	pieces := []string{"a", "bc", "\n", "ü", "€", "😀", "line of output\n"}
	kinds := []struct {
		name       string
		new        func(int) *Buffer
		head, tail bool
	}{
		{"New", New, true, true},
		{"NewHead", NewHead, true, false},
		{"NewTail", NewTail, false, true},
	}
	for i := 0; i < 3000; i++ {
		k := kinds[i%len(kinds)]
		max := 40 + r.Intn(400)
		b := k.new(max)
		var all strings.Builder
		for n := r.Intn(4 * max); all.Len() < n; {
			var w strings.Builder
			for j := r.Intn(8); j >= 0; j-- {
				w.WriteString(pieces[r.Intn(len(pieces))])
			}
			all.WriteString(w.String())
			if r.Intn(2) == 0 {
				b.WriteString(w.String())
			} else {
				b.Write([]byte(w.String()))
			}
		}
		in, got := all.String(), b.String()
		if len(got) > max || !utf8.ValidString(got) {
			t.Fatalf("%s(%d): kept %d bytes, valid UTF-8 %v", k.name, max, len(got), utf8.ValidString(got))
		}
		if b.Truncated() != (len(in) > max) {
			t.Fatalf("%s(%d): Truncated() = %v after %d bytes", k.name, max, b.Truncated(), len(in))
		}
		if last, ok := b.LastByte(); ok != (in != "") || ok && last != in[len(in)-1] {
			t.Fatalf("%s(%d): LastByte() = %q, %v", k.name, max, last, ok)
		}
		if len(in) <= max {
			if got != in {
				t.Fatalf("%s(%d): kept %q, want all of %q", k.name, max, got, in)
			}
			continue
		}
		i := strings.Index(got, "\n"+Mark)
		if i < 0 {
			t.Fatalf("%s(%d): no marker in %q", k.name, max, got)
		}
		j := strings.Index(got[i:], " bytes cut]\n")
		if j < 0 {
			t.Fatalf("%s(%d): no marker in %q", k.name, max, got)
		}
		head, tail := got[:i], got[i+j+len(" bytes cut]\n"):]
		if got[i:i+j+len(" bytes cut]\n")] != Marker(int64(len(in)-len(head)-len(tail))) {
			t.Fatalf("%s(%d): marker %q does not count the %d bytes cut", k.name, max, got[i:], len(in)-len(head)-len(tail))
		}
		if !strings.HasPrefix(in, head) || !strings.HasSuffix(in, tail) {
			t.Fatalf("%s(%d): %q is not the head and the tail of the stream", k.name, max, got)
		}
		if (head != "") != k.head || (tail != "") != k.tail {
			t.Fatalf("%s(%d): kept head %q and tail %q", k.name, max, head, tail)
		}
	}
}

// TestBufferHuge writes far more than the budget and checks that memory
// stays within it and the true head and tail are kept.
func TestBufferHuge(t *testing.T) {
	const max = 1 << 20
	b := New(max)
	chunk := make([]byte, 64<<10-7) // odd size: writes straddle the ring end
	var total int64
	var last byte
	for i := 0; total < 256<<20; i++ {
		for j := range chunk {
			chunk[j] = byte(i + j)
		}
		b.Write(chunk)
		total += int64(len(chunk))
		last = chunk[len(chunk)-1]
	}
	if len(b.head) != max/2 || len(b.tail) != max/2 || cap(b.tail) > max {
		t.Fatalf("kept head %d, tail %d (cap %d); want %d each", len(b.head), len(b.tail), cap(b.tail), max/2)
	}
	if !b.Truncated() {
		t.Fatal("Truncated() = false")
	}
	out := b.Bytes()
	if len(out) > max {
		t.Errorf("Bytes() is %d bytes, over the budget %d", len(out), max)
	}
	if !bytes.Contains(out, []byte("\n"+Mark)) {
		t.Error("no marker in the output")
	}
	if out[len(out)-1] != last {
		t.Errorf("last byte %d, want %d", out[len(out)-1], last)
	}
	if out[0] != 0 || out[1] != 1 {
		t.Errorf("head starts %v, want [0 1]", out[:2])
	}
}

func TestMarker(t *testing.T) {
	if got, want := Marker(1234), "\n[cmcgrader: 1234 bytes cut]\n"; got != want {
		t.Errorf("Marker(1234) = %q, want %q", got, want)
	}
	if !strings.HasPrefix(strings.TrimSpace(Marker(1)), Mark) {
		t.Errorf("Marker does not start with Mark %q", Mark)
	}
}
