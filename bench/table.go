package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Figures are the measurements of one input.
type Figures struct {
	// Input names the input.
	Input string
	// Tasks is the number of tasks graded per candidate.
	Tasks int
	// Cold, Warm and Host are the per-candidate grading times: with the
	// modules image (no warm build cache), with the warm image, and the
	// same hidden tests run on the host with a warm build cache.
	Cold, Warm, Host time.Duration
	// Prepare is the time cmcgrader prepare took to build the warm image.
	Prepare time.Duration
	// FetchCached is the median time to fetch the fork with the upstream
	// mirror; Clone the median of git clone --depth 1 --single-branch.
	FetchCached, Clone time.Duration
	// FetchBytes is the pack the cached fetch received.
	FetchBytes int64
	// PeakRSS is the largest peak resident set of a grading run, in bytes.
	PeakRSS int64
	// WarmApart is the warm grade with each task in a sandbox of its own
	// (--apart), against Warm, where the Go tasks share one go test.
	WarmApart time.Duration
	// HostCompile is the cold compile, on the host, of what prepare
	// compiles (the tasks' packages' tests at the base, no test run), the
	// real work behind Prepare.
	HostCompile time.Duration
	// ModulesImage is the time to build the modules image afresh;
	// ModDownload that of go mod download of the same modules on the host
	// into an empty module cache.
	ModulesImage, ModDownload time.Duration
	// FullWarm is the warm grade of every task of the bank (Go, JavaScript
	// and OPA) with the default --jobs; FullTasks counts them. Zero when
	// not measured.
	FullWarm  time.Duration
	FullTasks int
}

// PerHostHour is the number of candidates one host grades in an hour,
// one after the other, at FullWarm each; 0 when not measured.
func (f Figures) PerHostHour() float64 {
	if f.FullWarm <= 0 {
		return 0
	}
	return float64(time.Hour) / float64(f.FullWarm)
}

// Results are the figures of one bench run.
type Results struct {
	// Inputs holds one entry per input.
	Inputs []Figures
	// Overhead is the median time of a sandbox run of a no-op (create,
	// start, wait and remove), over OverheadRuns runs.
	Overhead     time.Duration
	OverheadRuns int
	// Load is the host's load average when the run started.
	Load string
}

// Median returns the median of ds (the mean of the middle two for an even
// count), or 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Ratio formats a / b as "1.23×", or "–" when b is zero.
func Ratio(a, b time.Duration) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

// Seconds formats d in seconds with a precision that suits it.
func Seconds(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s < 1:
		return fmt.Sprintf("%.3f s", s)
	case s < 100:
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.0f s", s)
}

// MiB formats a byte count in MiB.
func MiB(n int64) string {
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

// The performance targets, checked by WriteTable. The cold-over-warm
// and memory targets apply to the Meshery-size input.
const (
	TargetWarmOverHost = 1.5
	TargetColdOverWarm = 10
	TargetOverhead     = 500 * time.Millisecond
	TargetPeakRSS      = 200 << 20
	TargetPerHostHour  = 50
)

// WriteTable writes the results as a Markdown table, one row per input,
// then the sandbox overhead and whether each target was met.
func (r *Results) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintln(&b, "| input | tasks | cold image | warm image | host limit | warm ÷ host | cold ÷ warm | fetch with cache | git clone --depth 1 | clone ÷ cached fetch | grader peak RSS |")
	fmt.Fprintln(&b, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, f := range r.Inputs {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s (%s) | %s | %s | %s |\n",
			f.Input, f.Tasks, Seconds(f.Cold), Seconds(f.Warm), Seconds(f.Host),
			Ratio(f.Warm, f.Host), Ratio(f.Cold, f.Warm),
			Seconds(f.FetchCached), sizeText(f.FetchBytes), Seconds(f.Clone), Ratio(f.Clone, f.FetchCached), MiB(f.PeakRSS))
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| input | warm, one go test | warm, a sandbox per task | per task ÷ one go test | prepare | host cold compile | prepare ÷ compile | modules image | go mod download | image ÷ download |")
	fmt.Fprintln(&b, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, f := range r.Inputs {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			f.Input, Seconds(f.Warm), Seconds(f.WarmApart), Ratio(f.WarmApart, f.Warm),
			Seconds(f.Prepare), Seconds(f.HostCompile), Ratio(f.Prepare, f.HostCompile),
			Seconds(f.ModulesImage), Seconds(f.ModDownload), Ratio(f.ModulesImage, f.ModDownload))
	}
	for _, f := range r.Inputs {
		if f.FullWarm > 0 {
			fmt.Fprintf(&b, "\nCohort throughput (%s, all %d tasks, warm, default --jobs, one candidate after another): %s per candidate, %.0f candidates per host-hour.\n",
				f.Input, f.FullTasks, Seconds(f.FullWarm), f.PerHostHour())
		}
	}
	fmt.Fprintf(&b, "\nSandbox overhead (create, start, wait, remove of `true`), median of %d: %s.\n", r.OverheadRuns, Seconds(r.Overhead))
	if r.Load != "" {
		fmt.Fprintf(&b, "Load average at start: %s.\n", r.Load)
	}
	fmt.Fprintln(&b)
	for _, line := range r.Verdicts() {
		fmt.Fprintln(&b, "- "+line)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Verdicts says, for each target, whether it was met, with the figure.
func (r *Results) Verdicts() []string {
	var out []string
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	for _, f := range r.Inputs {
		if f.Host > 0 {
			q := float64(f.Warm) / float64(f.Host)
			out = append(out, fmt.Sprintf("%s: warm within %.1f× of the host limit: %s (%.2f×)", f.Input, TargetWarmOverHost, mark(q <= TargetWarmOverHost), q))
		}
		if f.Warm > 0 && strings.Contains(f.Input, "meshery") {
			q := float64(f.Cold) / float64(f.Warm)
			out = append(out, fmt.Sprintf("%s: warm at least %d× faster than cold: %s (%.2f×)", f.Input, TargetColdOverWarm, mark(q >= TargetColdOverWarm), q))
		}
		if f.PeakRSS > 0 && strings.Contains(f.Input, "meshery") {
			out = append(out, fmt.Sprintf("%s: grader peak RSS under %s: %s (%s)", f.Input, MiB(TargetPeakRSS), mark(f.PeakRSS < TargetPeakRSS), MiB(f.PeakRSS)))
		}
		if n := f.PerHostHour(); n > 0 {
			out = append(out, fmt.Sprintf("%s: at least %d candidates per host-hour, warm: %s (%.0f)", f.Input, TargetPerHostHour, mark(n >= TargetPerHostHour), n))
		}
		if f.FetchCached > 0 {
			out = append(out, fmt.Sprintf("%s: cached fetch faster than git's shallow clone: %s (%s vs %s)", f.Input, mark(f.FetchCached < f.Clone), Seconds(f.FetchCached), Seconds(f.Clone)))
		}
	}
	out = append(out, fmt.Sprintf("sandbox overhead under %s median: %s (%s)", Seconds(TargetOverhead), mark(r.Overhead < TargetOverhead), Seconds(r.Overhead)))
	return out
}

func sizeText(n int64) string {
	switch {
	case n < 10<<10:
		return fmt.Sprintf("%d B", n)
	case n < 10<<20:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return MiB(n)
}
