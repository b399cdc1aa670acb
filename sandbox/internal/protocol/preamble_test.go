package protocol

import (
	"bytes"
	"strings"
	"testing"
)

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
