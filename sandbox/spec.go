package sandbox

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Spec describes one sandboxed run. It holds no Docker-only notions so that
// another backend (Kubernetes Jobs) can implement the same contract. Zero
// values mean defaults; see DefaultLimits.
type Spec struct {
	// Image is the image reference or ID to run. Required.
	Image string
	// Cmd is the command run in Workdir after the workspace is unpacked.
	// Required.
	Cmd []string
	// Env holds extra KEY=VALUE pairs. The sandbox always sets HOME, TMPDIR
	// and the Go variables that forbid downloads (GOFLAGS=-mod=mod,
	// GOPROXY=off, GOTOOLCHAIN=local); entries here override all but
	// GOPROXY and GOTOOLCHAIN.
	Env []string
	// Workspace is a tar stream unpacked into Workdir before Cmd starts.
	// Nil means an empty workspace.
	Workspace io.Reader
	// Limits bounds the run; zero fields take DefaultLimits.
	Limits Limits
	// Labels are added to the run's container and volume, beside the
	// grader's own labels.
	Labels map[string]string
	// Runtime names an OCI runtime registered with the engine (e.g. runsc).
	// Empty means the engine's default.
	Runtime string
	// Private holds files for the run's own use, by name (no slashes):
	// they are put in PrivateDir, which only the supervisor can read,
	// never the sandbox user that runs candidate code.
	Private map[string][]byte
	// Stdin names a Private file given to Cmd as its standard input;
	// empty means none (/dev/null).
	Stdin string
	// Driver runs Cmd as the supervisor instead of the sandbox user. Cmd
	// must run no candidate code itself: it starts whatever does through
	// ExecHelper (the go command's -exec), which runs each program as a
	// user of its own (BinaryUIDs), with a HOME and TMPDIR of its own, and
	// notes how it ended (Result.Exits).
	Driver bool
}

// The supervisor: a program in every grading image that runs as root in
// the container, with no capability but CAP_SETUID, CAP_SETGID and
// CAP_SETPCAP, and runs all candidate code as the sandbox user (User)
// with no capability, not even in its bounding set. That user cannot
// read the supervisor's files, open its file descriptors, signal it or
// trace it, so what the supervisor reports (Result.Exits) and the streams
// of a driver command are out of candidate code's reach.
const (
	// SupervisorPath is where images keep the supervisor.
	SupervisorPath = "/opt/cmcgrader/supervise"
	// ReporterPath is where images keep the JUnit reporter for
	// `node --test`. Where it cuts a test's output, it writes a line that
	// starts with the grader's one cut marker (internal/capture.Mark).
	ReporterPath = "/opt/cmcgrader/junit-reporter.mjs"
	// JestDriverPath is where images keep the grader's jest driver, a
	// CommonJS module whose run function runs a jest task's test files
	// with the grader's configuration and writes jest's JSON result as one
	// line of stdout. JestGuardPath, beside it, is the setup file the
	// driver gives every test file: it fails a test, or the file, after
	// which the test framework's globals or matchers changed.
	JestDriverPath = "/opt/cmcgrader/jest-run.cjs"
	JestGuardPath  = "/opt/cmcgrader/jest-guard.cjs"
	// NodeModulesDir holds, in a modules image of a bank whose jest tasks
	// install the base's packages, the node_modules folder of the base's
	// lockfile, below the lockfile's folder (ui/package-lock.json:
	// NodeModulesDir/ui/node_modules).
	NodeModulesDir = "/opt/cmcgrader/js"
	// OPAPath is where images keep the opa command (Open Policy Agent),
	// which runs the Rego tests of opa tasks.
	OPAPath = "/usr/local/bin/opa"
	// ExecHelper is the program a driver command starts candidate code
	// through: "go test -exec ExecHelper".
	ExecHelper = SupervisorPath + " exec"
	// PrivateDir holds Spec.Private during the run.
	PrivateDir = "/tmp/cmcgrader-private"
)

// Check reports a spec no backend can run: no image, no command, or a
// negative limit.
func (s Spec) Check() error {
	lim := s.Limits.WithDefaults()
	switch {
	case s.Image == "":
		return errors.New("sandbox spec: image is required")
	case len(s.Cmd) == 0:
		return errors.New("sandbox spec: cmd is required")
	case lim.Timeout < 0, lim.Memory < 0, lim.CPUs < 0, lim.Pids < 0,
		lim.WorkspaceBytes < 0, lim.TmpBytes < 0, lim.OutputBytes < 0:
		return fmt.Errorf("sandbox spec: limits must not be negative: %+v", lim)
	}
	return nil
}

// Workdir is where the workspace is unpacked and Cmd runs.
const Workdir = "/work"

// Conventions shared with images built for the sandbox.
const (
	// User is the uid:gid every sandbox runs as.
	User = "1000:1000"
	// BinaryUIDs is the first uid (and gid) ExecHelper gives the programs
	// it runs, one each, counting up: test binaries run at once cannot
	// signal, trace or open one another.
	BinaryUIDs = 2000
	// WarmCacheDir is where an image may keep a warm Go build cache; the
	// supervisor gives every run a private copy-on-write view of it in
	// $GOCACHE.
	WarmCacheDir = "/opt/cmcgrader/gocache"
	// WarmCacheView is, in an image with a warm build cache, the run's
	// view of it prepared once at image build: a tar of WarmCacheDir's
	// index files, and of symlinks to its outputs.
	WarmCacheView = WarmCacheDir + ".view.tar"
	// SetupExitCode is the exit code of the sandbox's entrypoint when it
	// cannot prepare the run; it then prints one line starting
	// "cmcgrader-sandbox: " to stderr. Runner.Run reports that as an error
	// wrapping ErrSetup.
	SetupExitCode = 125
)

// Limits bounds one run. Zero fields mean the DefaultLimits value.
type Limits struct {
	// Timeout is the wall-clock limit; the run is killed when it passes.
	Timeout time.Duration
	// Memory is the memory limit in bytes; swap is set equal (no swap).
	Memory int64
	// CPUs is the CPU quota in units of one CPU (1.5 = one and a half).
	CPUs float64
	// Pids is the maximum number of processes and threads.
	Pids int64
	// WorkspaceBytes caps the size of the workspace volume.
	WorkspaceBytes int64
	// TmpBytes caps the size of /tmp (where Go builds).
	TmpBytes int64
	// OutputBytes caps what is kept of stdout and of stderr each, marker
	// included; the head and the tail are kept and the middle is dropped
	// with a marker line ("[cmcgrader: N bytes cut]").
	OutputBytes int64
}

// DefaultLimits are the limits used for zero fields of Limits.
var DefaultLimits = Limits{
	Timeout:        5 * time.Minute,
	Memory:         2 << 30,
	CPUs:           2,
	Pids:           512,
	WorkspaceBytes: 512 << 20,
	TmpBytes:       1 << 30,
	OutputBytes:    8 << 20,
}

// WithDefaults returns l with every zero field set from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.Timeout == 0 {
		l.Timeout = d.Timeout
	}
	if l.Memory == 0 {
		l.Memory = d.Memory
	}
	if l.CPUs == 0 {
		l.CPUs = d.CPUs
	}
	if l.Pids == 0 {
		l.Pids = d.Pids
	}
	if l.WorkspaceBytes == 0 {
		l.WorkspaceBytes = d.WorkspaceBytes
	}
	if l.TmpBytes == 0 {
		l.TmpBytes = d.TmpBytes
	}
	if l.OutputBytes == 0 {
		l.OutputBytes = d.OutputBytes
	}
	return l
}

// Result is what happened inside the sandbox. A failing command, a timeout
// or an OOM kill is data here, not an error: errors from Run mean the
// sandbox itself could not do its job.
type Result struct {
	// ExitCode is the command's exit status (137 when killed).
	ExitCode int
	// Stdout and Stderr are the captured streams, capped by
	// Limits.OutputBytes each (head and tail kept).
	Stdout, Stderr []byte
	// StdoutTruncated and StderrTruncated say a stream was cut.
	StdoutTruncated, StderrTruncated bool
	// TimedOut says the wall-clock limit killed the run.
	TimedOut bool
	// OOMKilled says the kernel killed the run for exceeding Limits.Memory.
	OOMKilled bool
	// Duration is the wall-clock time from start to exit.
	Duration time.Duration
	// Exits are how the processes run as the sandbox user ended, as the
	// supervisor saw them: Cmd itself, or with Spec.Driver each process
	// started through ExecHelper, in the order they ended. Candidate code
	// cannot write them. Nil when the supervisor did not report (the run
	// was killed or timed out).
	Exits []Exit
}

// Exit is how one process run as the sandbox user ended.
type Exit struct {
	// Dir is its working folder relative to Workdir ("." for Workdir).
	Dir string `json:"dir"`
	// Code is its exit status; -1 when a signal ended it.
	Code int `json:"code"`
	// Signal names the signal that ended it, if one did.
	Signal string `json:"signal,omitempty"`
}
