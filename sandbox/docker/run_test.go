package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/cmcgrader/cmcgrader/internal/capture"
	"github.com/cmcgrader/cmcgrader/sandbox"
)

// sh is the command running script in the sandbox shell.
func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

func TestRunExitCode(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	for _, code := range []int{0, 1, 2, 42, 124} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh(fmt.Sprintf("exit %d", code))})
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != code || res.TimedOut || res.OOMKilled {
				t.Errorf("result %+v, want exit %d", res, code)
			}
		})
	}
}

func TestRunStreams(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh("echo out1; echo err1 >&2; echo out2; printf err2 >&2")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(res.Stdout), "out1\nout2\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got, want := string(res.Stderr), "err1\nerr2"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if res.StdoutTruncated || res.StderrTruncated {
		t.Error("truncated flags set")
	}
}

func TestRunWorkspace(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	ws := tarOf(t, map[string]string{
		"go.mod":       "module example.com/m\n",
		"pkg/":         "",
		"pkg/a/b.txt":  "hello from the workspace\n",
		"/abs/c.txt":   "the leading slash is dropped",
		"bin/tool.sh":  "echo x",
		"deep/er/e/st": "",
	})
	script := `set -e
W=` + sandbox.Workdir + `
test "$PWD" = "$W"
cat "$W/pkg/a/b.txt"
cat go.mod
stat -c '%a %u:%g' "$W" "$W/pkg/a/b.txt"
test -f "$W/abs/c.txt" && test ! -e /abs && echo contained
echo write > "$W/new.txt" 2>/dev/null || echo read-only
echo write > "$W/pkg/a/b.txt" 2>/dev/null || echo read-only
echo write > "$HOME/x" && cat "$HOME/x"`
	seen := logtest.NewLocal(d.log.Logger)
	res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh(script), Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	// The workspace belongs to another user than the one running the
	// command: readable, not writable; HOME is the command's own.
	want := "hello from the workspace\nmodule example.com/m\n755 1001:1001\n644 1001:1001\ncontained\nread-only\nread-only\nwrite\n"
	if res.ExitCode != 0 || string(res.Stdout) != want {
		t.Errorf("exit %d\nstdout %q\nwant   %q\nstderr %s", res.ExitCode, res.Stdout, want, res.Stderr)
	}
	// The debug timings name every phase of a run that went through.
	var timings *logrus.Entry
	for _, e := range seen.AllEntries() {
		if e.Message == "sandbox timings" {
			timings = e
		}
	}
	if timings == nil {
		t.Fatal("no sandbox timings logged")
	}
	for _, k := range []string{"create", "execute", "remove", "send", "setup", "command"} {
		if d, ok := timings.Data[k].(time.Duration); !ok || d < 0 {
			t.Errorf("sandbox timings %s = %v; want a duration", k, timings.Data[k])
		}
	}
}

// TestRunWorkspaceDotDot checks that member names climbing out of the
// workspace are refused: the run fails setup and nothing is written.
func TestRunWorkspaceDotDot(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	for _, name := range []string{"../escape.txt", "pkg/../../escape.txt", "pkg/../inside.txt"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ws := tarOf(t, map[string]string{name: "x", "ok.txt": "ok"})
			_, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh("echo ran"), Workspace: ws})
			if !errors.Is(err, sandbox.ErrSetup) || !strings.Contains(err.Error(), "..") {
				t.Errorf("error %v, want ErrSetup naming the member", err)
			}
		})
	}
}

func TestRunNilWorkspace(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh("ls -A " + sandbox.Workdir + " | wc -l")})
	if err != nil || strings.TrimSpace(string(res.Stdout)) != "0" {
		t.Errorf("empty workspace: %q, %v", res.Stdout, err)
	}
}

// TestRunHardening checks the isolation a run gets, one probe a case.
func TestRunHardening(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	tests := []struct {
		name   string
		script string
		want   string
	}{
		{name: "user", script: "id -u; id -g", want: "1000\n1000\n"},
		{name: "network none", script: "ls /sys/class/net", want: "lo\n"},
		{name: "read-only root", script: "touch /etc/x 2>/dev/null && echo writable || echo read-only; touch /x 2>/dev/null || echo read-only", want: "read-only\nread-only\n"},
		{name: "tmp writable and exec", script: "cp /bin/true /tmp/t && /tmp/t && echo ok; grep ' /tmp ' /proc/mounts | grep -c nosuid", want: "ok\n1\n"},
		{name: "no capabilities", script: "grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status | awk '{print $2}'", want: "0000000000000000\n0000000000000000\n0000000000000000\n"},
		{name: "no new privileges", script: "grep NoNewPrivs /proc/self/status | awk '{print $2}'", want: "1\n"},
		{name: "init is pid 1", script: "cat /proc/1/comm", want: "docker-init\n"},
		{name: "stdin is empty", script: "cat; echo done", want: "done\n"},
		{name: "env", script: `echo "$HOME $TMPDIR $GOCACHE $GOFLAGS $GOPROXY $GOTOOLCHAIN $GOSUMDB"; test -d "$HOME" && echo home`,
			want: "/tmp/home /tmp /tmp/gocache -mod=mod off local off\nhome\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh(tt.script)})
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Stdout) != tt.want {
				t.Errorf("stdout %q, want %q (exit %d, stderr %q)", res.Stdout, tt.want, res.ExitCode, res.Stderr)
			}
		})
	}
}

func TestRunEnv(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh(`echo "$GOFLAGS $EXTRA $GOPROXY"`), Env: []string{"GOFLAGS=-mod=vendor", "EXTRA=1"}})
	if err != nil || string(res.Stdout) != "-mod=vendor 1 off\n" {
		t.Errorf("stdout %q, %v", res.Stdout, err)
	}
	for _, kv := range []string{"GOPROXY=https://proxy.golang.org", "GOTOOLCHAIN=auto", "NOVALUE", "=x"} {
		if _, err := d.Run(context.Background(), sandbox.Spec{Image: img, Cmd: sh("true"), Env: []string{kv}}); err == nil {
			t.Errorf("env %q accepted", kv)
		}
	}
}

func TestRunTimeout(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	const timeout = 4 * time.Second // counts the setup too
	start := time.Now()
	res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh("echo started; sleep 60"), Limits: sandbox.Limits{Timeout: timeout}})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.ExitCode != 137 {
		t.Errorf("TimedOut %v, exit %d; want true, 137", res.TimedOut, res.ExitCode)
	}
	if res.Duration < timeout || took > timeout+5*time.Second {
		t.Errorf("duration %v, Run took %v; want about %v", res.Duration, took, timeout)
	}
	if string(res.Stdout) != "started\n" {
		t.Errorf("stdout %q: output before the kill is lost", res.Stdout)
	}
}

func TestRunOOM(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	// tail keeps the "last line" of an endless stream without newlines.
	res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: []string{"tail", "/dev/zero"}, Limits: sandbox.Limits{Memory: 64 << 20, Timeout: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OOMKilled || res.ExitCode != 137 || res.TimedOut {
		t.Errorf("OOMKilled %v, exit %d, timed out %v; want true, 137, false", res.OOMKilled, res.ExitCode, res.TimedOut)
	}
}

func TestRunPidsLimit(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	// A fork bomb in the background; the shell then samples the pids
	// cgroup with builtins only (no fork needed) and prints the maximum.
	script := `bomb() { bomb & bomb & }
(bomb) 2>/dev/null &
p=/sys/fs/cgroup/pids/pids.current; [ -r $p ] || p=/sys/fs/cgroup/pids.current
max=0; i=0
while [ $i -lt 500 ]; do read n < $p; [ $n -gt $max ] && max=$n; i=$((i+1)); done
echo $max`
	const limit = 64
	res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh(script), Limits: sandbox.Limits{Pids: limit, Timeout: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	var peak int
	if _, err := fmt.Sscan(string(res.Stdout), &peak); err != nil {
		t.Fatalf("stdout %q stderr %q exit %d: %v", res.Stdout, res.Stderr, res.ExitCode, err)
	}
	if peak < limit/2 || peak > limit {
		t.Errorf("peak pids %d, want the bomb stopped at the limit %d", peak, limit)
	}
	t.Logf("fork bomb peaked at %d processes (limit %d) in %v", peak, limit, res.Duration)
}

func TestRunWorkspaceCap(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	lim := sandbox.Limits{WorkspaceBytes: 12 << 20}
	res, err := runClean(t, d, sandbox.Spec{
		Image: img, Cmd: sh("stat -c %s a"), Limits: lim,
		Workspace: tarOf(t, map[string]string{"a": strings.Repeat("x", 8<<20)}),
	})
	if err != nil || string(res.Stdout) != "8388608\n" {
		t.Errorf("an 8 MiB workspace under a 12 MiB cap: stdout %q, stderr %q, err %v", res.Stdout, res.Stderr, err)
	}
	_, err = runClean(t, d, sandbox.Spec{
		Image: img, Cmd: sh("echo ran"), Limits: lim,
		Workspace: tarOf(t, map[string]string{"a": strings.Repeat("x", 8<<20), "b": strings.Repeat("y", 8<<20)}),
	})
	// tar says "No space left on device", or that a write came up short.
	if !errors.Is(err, sandbox.ErrSetup) || !strings.Contains(err.Error(), "unpack workspace") ||
		!(strings.Contains(err.Error(), "No space left on device") || strings.Contains(err.Error(), "Wrote only")) {
		t.Errorf("a 16 MiB workspace under a 12 MiB cap: err %v, want a setup error saying the volume is full", err)
	}
}

func TestRunTmpCap(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh("head -c 64M /dev/zero > /tmp/big"), Limits: sandbox.Limits{TmpBytes: 32 << 20}})
	if err != nil || res.ExitCode == 0 || !strings.Contains(string(res.Stderr), "No space left on device") {
		t.Errorf("exit %d, stderr %q, %v", res.ExitCode, res.Stderr, err)
	}
}

func TestRunSetupFailure(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	t.Run("not a tar", func(t *testing.T) {
		t.Parallel()
		res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh("echo ran"), Workspace: strings.NewReader(strings.Repeat("not a tar archive\n", 100))})
		if !errors.Is(err, sandbox.ErrSetup) {
			t.Fatalf("error %v, want ErrSetup", err)
		}
		if res.ExitCode != sandbox.SetupExitCode || len(res.Stdout) != 0 || !strings.Contains(err.Error(), "cmcgrader-sandbox: unpack workspace") {
			t.Errorf("exit %d, stdout %q, error %v", res.ExitCode, res.Stdout, err)
		}
	})
	t.Run("workspace over the cap", func(t *testing.T) {
		t.Parallel()
		big := tarOf(t, map[string]string{"big": strings.Repeat("x", 4<<20)})
		_, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh("echo ran"), Workspace: big, Limits: sandbox.Limits{WorkspaceBytes: 1 << 20}})
		if !errors.Is(err, sandbox.ErrSetup) {
			t.Errorf("error %v, want ErrSetup", err)
		}
	})
	t.Run("workspace read fails", func(t *testing.T) {
		t.Parallel()
		r := io.MultiReader(strings.NewReader(strings.Repeat("\x00", 512)), errReader{errors.New("disk on fire")})
		_, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh("echo ran"), Workspace: r})
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("error %v, want the read error", err)
		}
	})
	t.Run("command fakes a setup failure", func(t *testing.T) {
		t.Parallel()
		res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh("echo 'cmcgrader-sandbox: unpack workspace' >&2; exit 125")})
		if err != nil || res.ExitCode != 125 {
			t.Errorf("exit %d, %v; want 125 as data", res.ExitCode, err)
		}
	})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestRunBadSpec(t *testing.T) {
	t.Parallel()
	d := newTestDocker(t)
	for _, spec := range []sandbox.Spec{
		{Cmd: sh("true")},
		{Image: "x"},
		{Image: "x", Cmd: sh("true"), Limits: sandbox.Limits{Memory: -1}},
	} {
		if _, err := d.Run(context.Background(), spec); err == nil {
			t.Errorf("Run(%+v) accepted", spec)
		}
	}
}

func TestRunImageMissing(t *testing.T) {
	t.Parallel()
	d := newTestDocker(t)
	_, err := runClean(t, d, sandbox.Spec{Image: "cmcgrader-no-such-image:" + testHex(t), Cmd: sh("true")})
	if !errors.Is(err, sandbox.ErrImageNotFound) {
		t.Errorf("error %v, want ErrImageNotFound", err)
	}
}

func TestRunCancel(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	id := testHex(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := d.Run(ctx, sandbox.Spec{Image: img, Cmd: sh("sleep 60"), Labels: map[string]string{"dev.cmcgrader.test": id}})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Errorf("error %v after %v, want the context's error soon", err, time.Since(start))
	}
	assertNoLeftovers(t, d, "dev.cmcgrader.test="+id)
}

func TestRunRuntime(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh("echo ok"), Runtime: "runc"})
	if err != nil || string(res.Stdout) != "ok\n" {
		t.Errorf("runtime runc: %q, %v", res.Stdout, err)
	}
	if _, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh("true"), Runtime: "no-such-runtime"}); err == nil {
		t.Error("unknown runtime accepted")
	}
}

// TestRunOutputFlood writes about 1 GiB to stdout and checks it is cut
// with a marker while this process's heap stays small. It does not run in
// parallel so that the heap samples are its own.
func TestRunOutputFlood(t *testing.T) {
	d, img := newTestDocker(t), testImage(t)
	const limit = 1 << 20
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	runtime.GC()
	res, err := runClean(t, d, sandbox.Spec{
		Image:  img,
		Cmd:    sh("echo first-line; head -c 1073741824 /dev/zero | tr '\\0' x; echo; echo last-line; echo err-first >&2; head -c 8M /dev/zero >&2; echo err-last >&2"),
		Limits: sandbox.Limits{OutputBytes: limit, Timeout: 5 * time.Minute},
	})
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("1 GiB flood: %v, peak heap %d MiB", res.Duration, peak.Load()>>20)
	// The heap is the whole test process's, other tests of the package
	// running beside this one: the bound is far under the 1 GiB flood, not
	// near the capture's own 2 MiB.
	if peak.Load() > 256<<20 {
		t.Errorf("peak heap %d MiB, want bounded (< 256 MiB of a 1 GiB flood)", peak.Load()>>20)
	}
	for _, s := range []struct {
		name        string
		out         []byte
		trunc       bool
		first, last string
		total       int // bytes written to the stream
	}{
		{"stdout", res.Stdout, res.StdoutTruncated, "first-line\n", "last-line\n", 11 + 1<<30 + 1 + 10},
		{"stderr", res.Stderr, res.StderrTruncated, "err-first\n", "err-last\n", 10 + 8<<20 + 9},
	} {
		head, rest, _ := strings.Cut(string(s.out), "\n"+capture.Mark)
		count, tail, _ := strings.Cut(rest, " bytes cut]\n")
		cut, err := strconv.Atoi(count)
		if !s.trunc || err != nil || len(s.out) > limit || cut != s.total-len(head)-len(tail) ||
			!strings.HasPrefix(head, s.first) || !strings.HasSuffix(tail, s.last) {
			t.Errorf("%s: truncated %v, %d bytes (cap %d), want head %q, a marker counting what was cut, tail %q; got marker count %q",
				s.name, s.trunc, len(s.out), limit, s.first, s.last, count)
		}
	}
}

// BenchmarkRunTrivial measures the sandbox overhead of one run: create,
// start, wait and remove of true (go test -run '^$' -bench RunTrivial
// ./sandbox/docker). cmcgrader-bench reports the same figure beside the
// others.
func BenchmarkRunTrivial(b *testing.B) {
	ctx := context.Background()
	log := logrus.New()
	log.SetOutput(io.Discard)
	d, err := New(ctx, logrus.NewEntry(log))
	if err != nil {
		b.Fatalf("docker engine needed: %v", err)
	}
	defer d.Close()
	img := os.Getenv("CMCGRADER_TEST_IMAGE")
	if img == "" {
		img = BaseTag(testGoVersion)
	}
	for b.Loop() {
		res, err := d.Run(ctx, sandbox.Spec{Image: img, Cmd: []string{"true"}})
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("exit %d, %v", res.ExitCode, err)
		}
	}
}

// TestRunGoWarmCache runs go test and go vet in the sandbox on a module
// importing net/http, so the image's warm build cache is used through the
// wrapper's copy-on-write view. It needs an image with Go, like the
// grading image.
func TestRunGoWarmCache(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	ws := tarOf(t, map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.26\n",
		"m_test.go": `package m

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestServe(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	defer s.Close()
}
`,
	})
	script := `command -v go >/dev/null || { echo "no go in image: this test needs the grading image" >&2; exit 99; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms); go test -count=1 . || exit 1
t1=$(ms); go vet . || exit 1
t2=$(ms); go test -count=1 . >/dev/null || exit 1
t3=$(ms)
echo "go test $((t1-t0)) ms, go vet $((t2-t1)) ms, go test again $((t3-t2)) ms"
echo "links $(find "$GOCACHE" -type l | wc -l), /tmp $(du -sm /tmp | cut -f1) MB"`
	res, err := runClean(t, d, sandbox.Spec{Image: img, Cmd: sh(script), Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || !strings.HasPrefix(string(res.Stdout), "ok") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", res.ExitCode, res.Stdout, res.Stderr)
	}
	// The view links the image's compiled outputs instead of copying them.
	if strings.Contains(string(res.Stdout), "links 0,") {
		t.Errorf("no symlinks into the image's warm cache in $GOCACHE: %s", res.Stdout)
	}
	t.Logf("in %v: %s", res.Duration, strings.ReplaceAll(strings.TrimSpace(string(res.Stdout)), "\n", "; "))
}

// TestHostConfig pins the hardening of every run, including what the
// integration tests cannot observe from inside (log driver, swap).
func TestHostConfig(t *testing.T) {
	lim := sandbox.Limits{CPUs: 1.5, Memory: 256 << 20, Pids: 100, TmpBytes: 64 << 20, WorkspaceBytes: 32 << 20}.WithDefaults()
	hc := hostConfig(sandbox.Spec{Runtime: "runsc"}, lim, "vol")
	checks := []struct {
		what string
		ok   bool
	}{
		{"network none", hc.NetworkMode == "none"},
		// The supervisor keeps what it needs to run candidate code as
		// another user with an empty bounding set, nothing more.
		{"cap drop all but the supervisor's", slices.Equal(hc.CapDrop, []string{"ALL"}) && slices.Equal(hc.CapAdd, []string{"SETUID", "SETGID", "SETPCAP"})},
		{"no-new-privileges", slices.Contains(hc.SecurityOpt, "no-new-privileges")},
		{"read-only root", hc.ReadonlyRootfs},
		{"init", hc.Init != nil && *hc.Init},
		{"runtime", hc.Runtime == "runsc"},
		{"log driver none", hc.LogConfig.Type == "none"},
		{"not privileged", !hc.Privileged && hc.PidMode == "" && hc.UsernsMode == ""},
		{"memory", hc.Memory == 256<<20},
		{"no swap", hc.MemorySwap == hc.Memory},
		{"cpus", hc.NanoCPUs == 1_500_000_000},
		{"pids", hc.PidsLimit != nil && *hc.PidsLimit == 100},
		{"tmp", hc.Tmpfs["/tmp"] == "rw,exec,nosuid,nodev,mode=1777,size=67108864"},
		{"workspace volume", len(hc.Mounts) == 1 && hc.Mounts[0].Type == mount.TypeVolume &&
			hc.Mounts[0].Source == "vol" && hc.Mounts[0].Target == sandbox.Workdir && hc.Mounts[0].VolumeOptions.NoCopy},
		{"no auto remove", !hc.AutoRemove}, // Run removes after inspecting
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("host config: %s: got %+v", c.what, hc)
		}
	}

	cfg := containerConfig(sandbox.Spec{Image: "img", Cmd: []string{"go", "test"}}, []string{"A=1"}, map[string]string{"k": "v"})
	// The container starts as the supervisor (root in the container); the
	// command follows the supervisor's own arguments.
	if cfg.User != "0:0" || cfg.Tty || !cfg.OpenStdin || !cfg.StdinOnce || cfg.WorkingDir != sandbox.Workdir ||
		!slices.Equal(cfg.Cmd, []string{"--", "go", "test"}) || cfg.Entrypoint[0] != "/bin/sh" || cfg.Labels["k"] != "v" {
		t.Errorf("container config: %+v", cfg)
	}
}

func TestValidate(t *testing.T) {
	ok := sandbox.Spec{Image: "img", Cmd: []string{"true"}}
	if err := ok.Check(); err != nil {
		t.Errorf("Check(ok) = %v", err)
	}
	bad := ok
	bad.Limits = sandbox.Limits{Timeout: -time.Second}
	if err := bad.Check(); err == nil {
		t.Error("negative timeout accepted")
	}
	for _, s := range []sandbox.Spec{{Cmd: []string{"true"}}, {Image: "img"}} {
		if err := s.Check(); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}
