package main

import "testing"

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512MiB", 512 << 20, true},
		{"2GiB", 2 << 30, true},
		{"2g", 2 << 30, true},
		{"64KiB", 64 << 10, true},
		{"100k", 100 << 10, true},
		{"1000", 1000, true},
		{"1000B", 1000, true},
		{"0", 0, false},
		{"-1MiB", 0, false},
		{"MiB", 0, false},
		{"1.5GiB", 0, false},
		{"12TiB", 0, false},
		{"", 0, false},
		{"99999999999GiB", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{512 << 20: "512MiB", 2 << 30: "2GiB", 1536: "1536B", 3 << 10: "3KiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDefaultJobs(t *testing.T) {
	if hostMemory() <= 0 {
		t.Fatal("hostMemory: no MemTotal in /proc/meminfo")
	}
	if got := defaultJobs(1 << 20); got < 1 {
		t.Errorf("defaultJobs(1MiB) = %d, want at least 1", got)
	}
	if got := defaultJobs(hostMemory() * 4); got != 1 {
		t.Errorf("defaultJobs(more than the host has) = %d, want 1", got)
	}
}
