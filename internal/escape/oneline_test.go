package escape

import "testing"

func TestOneLine(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a  b\n\tc", 100, "a b c"},
		{"real\rfake", 100, `real\rfake`},
		{"  " + "\x1b[1A\r\n", 100, `\x1b[1A\r`},
		{"abcdef", 4, "abc…"},
		{"\u202eabc", 100, `\u202eabc`},
	}
	for _, tc := range tests {
		if got := OneLine(tc.in, tc.n); got != tc.want {
			t.Errorf("OneLine(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
