package bytesize

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512MiB", 512 << 20, true},
		{"2GiB", 2 << 30, true},
		{"2g", 2 << 30, true},
		{"512m", 512 << 20, true},
		{"64KiB", 64 << 10, true},
		{"100k", 100 << 10, true},
		{"1.5GiB", 3 << 29, true},
		{"1000", 1000, true},
		{"1000B", 1000, true},
		{"0", 0, false},
		{"-1MiB", 0, false},
		{"MiB", 0, false},
		{"", 0, false},
		{"12 parsecs", 0, false},
		{"99999999999GiB", 0, false},
	} {
		got, err := Parse(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestFlagString(t *testing.T) {
	for n, want := range map[int64]string{512 << 20: "512MiB", 2 << 30: "2GiB", 1536: "1536B", 3 << 10: "3KiB"} {
		if got := Flag(n).String(); got != want {
			t.Errorf("Flag(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{100: "100 bytes", 512 << 20: "512 MiB", 3 << 19: "1.5 MiB"} {
		if got := Format(n); got != want {
			t.Errorf("Format(%d) = %q, want %q", n, got, want)
		}
	}
}
