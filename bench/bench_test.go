package bench

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	s := time.Second
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{3 * s}, 3 * s},
		{[]time.Duration{3 * s, 1 * s, 2 * s}, 2 * s},
		{[]time.Duration{4 * s, 1 * s, 2 * s, 3 * s}, 2500 * time.Millisecond},
	} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	in := []time.Duration{3, 1, 2}
	Median(in)
	if in[0] != 3 {
		t.Error("Median sorted its argument")
	}
}

func TestFormat(t *testing.T) {
	if got := Ratio(3*time.Second, 2*time.Second); got != "1.50×" {
		t.Errorf("Ratio = %s", got)
	}
	if got := Ratio(time.Second, 0); got != "–" {
		t.Errorf("Ratio by zero = %s", got)
	}
	for d, want := range map[time.Duration]string{
		250 * time.Millisecond: "0.250 s", 12340 * time.Millisecond: "12.3 s", 150 * time.Second: "150 s",
	} {
		if got := Seconds(d); got != want {
			t.Errorf("Seconds(%v) = %s, want %s", d, got, want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	r := &Results{
		Inputs: []Figures{{
			Input: "meshery-size", Tasks: 2, Cold: 200 * time.Second, Warm: 10 * time.Second, Host: 8 * time.Second,
			FetchCached: 500 * time.Millisecond, Clone: 2 * time.Second, FetchBytes: 2048, PeakRSS: 100 << 20,
			WarmApart: 15 * time.Second, Prepare: 120 * time.Second, HostCompile: 100 * time.Second,
			ModulesImage: 30 * time.Second, ModDownload: 20 * time.Second, FullWarm: 60 * time.Second, FullTasks: 12,
		}},
		Overhead: 400 * time.Millisecond, OverheadRuns: 10, Load: "1.00 0.50 0.25",
	}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| meshery-size | 2 | 200 s | 10.0 s | 8.0 s | 1.25× | 20.00× | 0.500 s (2048 B) | 2.0 s | 4.00× | 100 MiB |",
		"median of 10: 0.400 s",
		"warm within 1.5× of the host limit: met (1.25×)",
		"warm at least 10× faster than cold: met (20.00×)",
		"cached fetch faster than git's shallow clone: met",
		"sandbox overhead under 0.500 s median: met",
		"meshery-size: grader peak RSS under 200 MiB: met (100 MiB)",
		"Load average at start: 1.00 0.50 0.25.",
		"| meshery-size | 10.0 s | 15.0 s | 1.50× | 120 s | 100 s | 1.20× | 30.0 s | 20.0 s | 1.50× |",
		"all 12 tasks, warm, default --jobs, one candidate after another): 60.0 s per candidate, 60 candidates per host-hour.",
		"meshery-size: at least 50 candidates per host-hour, warm: met (60)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	r.Inputs[0].Warm = 100 * time.Second
	if v := strings.Join(r.Verdicts(), "\n"); !strings.Contains(v, "warm within 1.5× of the host limit: NOT met (12.50×)") {
		t.Errorf("verdicts:\n%s", v)
	}
	r.Inputs[0].PeakRSS = 245 << 20
	if v := strings.Join(r.Verdicts(), "\n"); !strings.Contains(v, "grader peak RSS under 200 MiB: NOT met (245 MiB)") {
		t.Errorf("verdicts:\n%s", v)
	}
}

func TestFileText(t *testing.T) {
	cfg := DefaultGenConfig
	a, b := fileText(cfg, 7, 0), fileText(cfg, 7, 0)
	if !bytes.Equal(a, b) {
		t.Error("fileText is not deterministic")
	}
	if bytes.Equal(a, fileText(cfg, 7, 1)) || bytes.Equal(a, fileText(cfg, 8, 0)) {
		t.Error("fileText ignores the file or the revision")
	}
	if n := len(a); n < cfg.FileBytes/2 || n > 2*cfg.FileBytes {
		t.Errorf("file of %d bytes, want about %d", n, cfg.FileBytes)
	}
	seen := map[string]bool{}
	for i := range 3000 {
		p := filePath(i)
		if seen[p] {
			t.Fatalf("filePath(%d) = %s twice", i, p)
		}
		seen[p] = true
	}
}

// TestWriteHistory imports a small history with git fast-import and
// checks its shape.
func TestWriteHistory(t *testing.T) {
	cfg := GenConfig{Files: 50, Commits: 20}.withDefaults()
	repo := filepath.Join(t.TempDir(), "r.git")
	ctx := context.Background()
	if err := gitRun(ctx, "", nil, "init", "-q", "--bare", repo); err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	if err := writeHistory(&stream, cfg, []byte("module m\n"), []byte("")); err != nil {
		t.Fatal(err)
	}
	first := stream.String()
	if err := gitRun(ctx, repo, io.NopCloser(&stream), "fast-import", "--quiet"); err != nil {
		t.Fatal(err)
	}
	count := func(args ...string) int {
		out, err := gitOutput(ctx, repo, args...)
		if err != nil {
			t.Fatal(err)
		}
		return len(strings.Fields(out))
	}
	if n := count("rev-list", "main"); n != cfg.Commits {
		t.Errorf("main has %d commits, want %d", n, cfg.Commits)
	}
	if n := count("rev-list", "main..candidate"); n != 1 {
		t.Errorf("candidate is %d commits past main, want 1", n)
	}
	if n := count("ls-tree", "-r", "--name-only", "main"); n != cfg.Files+3+len(benchTasks) {
		t.Errorf("main has %d files, want %d", n, cfg.Files+3+len(benchTasks))
	}
	var again bytes.Buffer
	if err := writeHistory(&again, cfg, []byte("module m\n"), []byte("")); err != nil {
		t.Fatal(err)
	}
	if again.String() != first {
		t.Error("writeHistory is not deterministic")
	}
}
