package main

import "testing"

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
