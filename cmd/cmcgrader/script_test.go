package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/cmcgrader/cmcgrader/grader/report"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cmcgrader":  func() { os.Exit(Main()) },
		"exitstatus": func() { os.Exit(exitStatusMain()) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script through the
// real Docker engine and real git smart HTTP.
func TestScripts(t *testing.T) {
	sample, err := filepath.Abs("../../testdata/sample")
	if err != nil {
		t.Fatal(err)
	}
	goEnv := hostGoEnv(t, "GOMODCACHE", "GOCACHE", "GOPROXY", "GOPATH")
	// The scripts run in parallel after this function returns; the check
	// runs once they have all finished.
	t.Cleanup(func() { checkNoLeftovers(t) })
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("SAMPLE", sample)
			for k, v := range goEnv {
				env.Setenv(k, v)
			}
			for _, k := range []string{"DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_API_VERSION", "PATH"} {
				if v, ok := os.LookupEnv(k); ok {
					env.Setenv(k, v)
				}
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"gitserve":  cmdGitserve,
			"report":    cmdReport,
			"peakrss":   cmdPeakRSS,
			"flipbyte":  cmdFlipByte,
			"ghapi":     cmdGHAPI,
			"freeport":  cmdFreePort,
			"revparse":  cmdRevParse,
			"pushhook":  cmdPushHook,
			"pushes":    cmdPushes,
			"waitpush":  cmdWaitPush,
			"registry":  cmdRegistry,
			"tinyimage": cmdTinyImage,
			"imagetar":  cmdImageTar,
		},
	})
}

func hostGoEnv(t *testing.T, names ...string) map[string]string {
	out, err := exec.Command("go", append([]string{"env"}, names...)...).Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	vals := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	env := map[string]string{}
	for i, n := range names {
		if i < len(vals) && vals[i] != "" {
			env[n] = vals[i]
		}
	}
	return env
}

// cmdGitserve serves the bare repositories under a folder over git smart
// HTTP on loopback for the rest of the script and sets $GITURL to its base
// URL: gitserve ROOT
func cmdGitserve(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: gitserve ROOT")
	}
	srv, err := gittest.NewServer(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Defer(func() { srv.Close() })
	ts.Setenv("GITURL", srv.URL())
}

// cmdReport checks a JSON report:
//
//	report FILE verdict PASS|FAIL|INCOMPLETE
//	report FILE exam NAME POINTS POSSIBLE VERDICT
//	report FILE task ID STATUS[|STATUS...] POINTS
//	report FILE path ID combined|alone (how the task was run: with others, or alone)
//	report FILE maxduration ID DURATION
//	report FILE commit SHA-PREFIX
//	report FILE tamper KIND TASK|PATH  (a flag of KIND for that task, or on a path under PATH)
//	report FILE truncated ID           (the task's output was cut)
//	report FILE interrupted            (a partial report, its receipt filled)
func cmdReport(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("report does not support !")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: report FILE verdict|exam|task|path|maxduration|commit|tamper|truncated|interrupted ...")
	}
	var rep report.Report
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &rep))
	if rep.Version != report.ReportVersion {
		ts.Fatalf("report version %d, want %d", rep.Version, report.ReportVersion)
	}
	task := func(id string) report.TaskGrade {
		for _, t := range rep.Tasks {
			if t.ID == id {
				return t
			}
		}
		ts.Fatalf("no task %s in report", id)
		return report.TaskGrade{}
	}
	num := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		ts.Check(err)
		return f
	}
	switch a := args[2:]; args[1] {
	case "verdict":
		if string(rep.Verdict) != a[0] {
			ts.Fatalf("verdict %s, want %s", rep.Verdict, a[0])
		}
	case "exam":
		for _, e := range rep.Exams {
			if e.Name != a[0] {
				continue
			}
			if e.Points != num(a[1]) || e.Possible != num(a[2]) || string(e.Verdict) != a[3] {
				ts.Fatalf("exam %s: %g/%g %s, want %s/%s %s", e.Name, e.Points, e.Possible, e.Verdict, a[1], a[2], a[3])
			}
			return
		}
		ts.Fatalf("no exam %s in report", a[0])
	case "task":
		tr := task(a[0])
		if !slices.Contains(strings.Split(a[1], "|"), string(tr.Status)) || tr.Points != num(a[2]) {
			ts.Fatalf("task %s: %s %g (%s), want %s %s", tr.ID, tr.Status, tr.Points, tr.Reason, a[1], a[2])
		}
	case "path":
		tr := task(a[0])
		if tr.Path != a[1] {
			ts.Fatalf("task %s graded %s (%s), want %s", tr.ID, tr.Path, tr.Reason, a[1])
		}
	case "maxduration":
		tr := task(a[0])
		d, err := time.ParseDuration(a[1])
		ts.Check(err)
		if tr.Duration > d {
			ts.Fatalf("task %s ran %s, want at most %s", tr.ID, tr.Duration, d)
		}
	case "commit":
		if !strings.HasPrefix(rep.Commit, a[0]) || len(rep.Commit) != 40 {
			ts.Fatalf("commit %q, want a full SHA starting %s", rep.Commit, a[0])
		}
	case "tamper":
		if len(a) != 2 {
			ts.Fatalf("usage: report FILE tamper KIND TASK|PATH")
		}
		var kinds []string
		for _, f := range rep.Tampering {
			if string(f.Kind) == a[0] && (f.Task == a[1] || f.Path == a[1] || strings.HasPrefix(f.Path, strings.TrimSuffix(a[1], "/")+"/")) {
				return
			}
			kinds = append(kinds, fmt.Sprintf("%s %s%s", f.Kind, f.Task, f.Path))
		}
		ts.Fatalf("no %s flag for %s; tampering: %v", a[0], a[1], kinds)
	case "held":
		// report FILE held ID: the task waits for a proctor, its exam is
		// INCOMPLETE and the certification is not PASS.
		tr := task(a[0])
		if tr.Hold == nil || tr.Hold.Review != nil || len(tr.Hold.Flags) == 0 {
			ts.Fatalf("task %s: %s %g (%s), not held for review", tr.ID, tr.Status, tr.Points, tr.Reason)
		}
		for _, e := range rep.Exams {
			if e.Name == tr.Exam && e.Verdict != report.Incomplete {
				ts.Fatalf("task %s is held, but exam %s is %s", tr.ID, e.Name, e.Verdict)
			}
		}
		if rep.Verdict == report.Pass {
			ts.Fatalf("task %s is held, but the certification is PASS", tr.ID)
		}
		ts.Logf("%s held: %s", tr.ID, strings.Join(tr.Hold.Flags, "; "))
	case "reviewed":
		// report FILE reviewed ID accept|reject POINTS
		tr := task(a[0])
		if tr.Hold == nil || tr.Hold.Review == nil || string(tr.Hold.Review.Decision) != a[1] || tr.Points != num(a[2]) {
			ts.Fatalf("task %s: hold %+v, points %g; want reviewed %s with %s points", tr.ID, tr.Hold, tr.Points, a[1], a[2])
		}
	case "interrupted":
		if !rep.Interrupted {
			ts.Fatalf("report not marked interrupted (verdict %s)", rep.Verdict)
		}
		if rc := rep.Receipt; rc == nil || rc.Commit != rep.Commit || rc.Bank.Digest != rep.Bank.Digest || len(rc.Bank.Tasks) != len(rep.Tasks) {
			ts.Fatalf("receipt %+v does not name the commit, the bank and the %d tasks", rep.Receipt, len(rep.Tasks))
		}
	case "truncated":
		if tr := task(a[0]); !tr.Truncated {
			ts.Fatalf("task %s: output not marked truncated (%s)", tr.ID, tr.Reason)
		}
	default:
		ts.Fatalf("unknown report check %q", args[1])
	}
}

// cmdPeakRSS checks the grader's JSON logs (--log-format json -v): the
// peak_rss_mib it logs when grading ends must be at most MAXMIB. The
// figure is printed to the script's log: peakrss LOGFILE MAXMIB
func cmdPeakRSS(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: peakrss LOGFILE MAXMIB")
	}
	limit, err := strconv.ParseFloat(args[1], 64)
	ts.Check(err)
	for _, line := range strings.Split(ts.ReadFile(args[0]), "\n") {
		var entry struct {
			PeakRSS *float64 `json:"peak_rss_mib"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil || entry.PeakRSS == nil {
			continue
		}
		ts.Logf("grader peak RSS: %.1f MiB (budget %g MiB)", *entry.PeakRSS, limit)
		if *entry.PeakRSS <= 0 || *entry.PeakRSS > limit {
			ts.Fatalf("grader peak RSS %.1f MiB, want above 0 and at most %g MiB", *entry.PeakRSS, limit)
		}
		return
	}
	ts.Fatalf("%s: no peak_rss_mib log entry (run grade with --log-format json -v)", args[0])
}

// cmdFlipByte changes one byte of a file by flipping its lowest bit: the
// byte at OFFSET, or the byte just after the first occurrence of TEXT
// (a TEXT that reads as a number is an offset):
//
//	flipbyte FILE OFFSET|TEXT
func cmdFlipByte(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: flipbyte FILE OFFSET|TEXT")
	}
	name := ts.MkAbs(args[0])
	data, err := os.ReadFile(name)
	ts.Check(err)
	at, err := strconv.Atoi(args[1])
	if err != nil {
		i := bytes.Index(data, []byte(args[1]))
		if i < 0 {
			ts.Fatalf("%s: no %q in the file", args[0], args[1])
		}
		at = i + len(args[1])
	}
	if at < 0 || at >= len(data) {
		ts.Fatalf("%s: offset %d outside the file's %d bytes", args[0], at, len(data))
	}
	ts.Logf("flipbyte %s: byte %d %q -> %q", args[0], at, data[at], data[at]^1)
	data[at] ^= 1
	ts.Check(os.WriteFile(name, data, 0o644))
}

// checkNoLeftovers fails if a container or volume labelled by the grader
// is owned by a process that is gone: every grading run must remove what
// it created. Objects of live processes (other packages' tests running at
// the same time) are not counted.
func checkNoLeftovers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, args := range [][]string{
		{"ps", "-a", "--filter", "label=dev.cmcgrader.managed", "--format", `{{.ID}} {{.Label "dev.cmcgrader.owner"}}`},
		{"volume", "ls", "--filter", "label=dev.cmcgrader.managed", "--format", `{{.Name}} {{.Label "dev.cmcgrader.owner"}}`},
	} {
		out, err := exec.CommandContext(ctx, "docker", args...).Output()
		if err != nil {
			t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if line == "" {
				continue
			}
			id, owner, _ := strings.Cut(line, " ")
			if !ownerAlive(owner) {
				t.Errorf("leftover docker %s %s of finished process %s", args[0], id, owner)
			}
		}
	}
}

// ownerAlive reports whether the owner label HOST/PID/START names a live
// process on this host.
func ownerAlive(owner string) bool {
	parts := strings.Split(owner, "/")
	if len(parts) != 3 {
		return false
	}
	host, _ := os.Hostname()
	if parts[0] != host {
		return true // another host's: not ours to judge
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%s/stat", parts[1]))
	if err != nil {
		return false
	}
	// The start time is field 22; the command name (field 2) may hold
	// spaces, so count from the closing parenthesis.
	rest := stat[bytes.LastIndexByte(stat, ')')+2:]
	fields := strings.Fields(string(rest))
	return len(fields) > 19 && fields[19] == parts[2]
}
