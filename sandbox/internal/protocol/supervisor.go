package protocol

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// The protocol between a backend and the supervisor
// (sandbox/docker/supervise). Keep the names in step with that program.
const (
	// SupervisorUser is the container's user: the supervisor starts as
	// root, with no capability but CAP_SETUID, CAP_SETGID and CAP_SETPCAP,
	// and runs candidate code as sandbox.User with an empty bounding set.
	SupervisorUser = "0:0"
	// privatePrefix starts the names of the private entries sent ahead
	// of the workspace on stdin; privateEnd closes them.
	privatePrefix = ".cmcgrader-private/"
	privateEnd    = privatePrefix + ".end"
	// WorkspaceOwner owns the workspace (uid and gid): the sandbox user
	// can read it, not change it.
	WorkspaceOwner = 1001
	// nonceFile is the private file holding the run's record nonce.
	nonceFile = "nonce"
	// recordPrefix starts the supervisor's record line on stderr, followed
	// by the nonce, "] " and the record as JSON.
	recordPrefix = "\x1e[cmcgrader-supervisor "
)

// ReadyMarker is printed to stderr by the supervisor right before it
// starts the command; backends strip it (see Preamble). Its absence means
// setup failed.
const ReadyMarker = "\x1e[cmcgrader-sandbox: ready]\x1e"

// PreambleMax caps what is kept of the supervisor's own stderr before
// ReadyMarker.
const PreambleMax = 4 << 10

// wrapper is the shell script run as the entrypoint, as root in the
// container: $@ is the supervisor's arguments (see Args). The supervisor
// (sandbox.SupervisorPath, built from sandbox/docker/supervise) unpacks
// the private files and the workspace, prepares the build cache, prints
// ReadyMarker and runs the command; it prints nothing to stdout itself.
const wrapper = `[ -x ` + sandbox.SupervisorPath + ` ] || {
	printf 'cmcgrader-sandbox: %s\n' "the image has no supervisor at ` + sandbox.SupervisorPath + `: rebuild it (cmcgrader image build --force)" >&2
	exit 125
}
exec ` + sandbox.SupervisorPath + ` sandbox "$@"
`

// Entrypoint is the container's entrypoint: the wrapper, which execs the
// supervisor with the arguments Args gives.
func Entrypoint() []string {
	return []string{"/bin/sh", "-c", wrapper, "cmcgrader-sandbox"}
}

// Args are the supervisor's arguments for spec.
func Args(spec sandbox.Spec) []string {
	var args []string
	if spec.Driver {
		args = append(args, "--driver")
	}
	if spec.Stdin != "" {
		args = append(args, "--stdin", spec.Stdin)
	}
	return append(append(args, "--"), spec.Cmd...)
}

// PrivateFiles is the private section of the stdin stream: the run's
// nonce and spec's private files as tar entries, then the end marker,
// without the archive's closing blocks (the workspace tar follows). The
// supervisor takes entries as private only up to the marker, so nothing
// in the workspace can land among them.
func PrivateFiles(files map[string][]byte, nonce string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX})
		_, _ = tw.Write(data)
	}
	add(privatePrefix+nonceFile, []byte(nonce))
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		add(privatePrefix+n, files[n])
	}
	add(privateEnd, nil)
	_ = tw.Flush()
	return buf.Bytes()
}

// record is the supervisor's report after the command ended.
type record struct {
	Code  int            `json:"code"`
	Exits []sandbox.Exit `json:"exits"`
}

// RecordCutter passes a stream to next, except for the supervisor's
// record: a line that starts with the run's nonce behind recordPrefix,
// which it keeps aside. It holds back at most a marker's length at a time,
// so the record never takes room in the capped capture of the stream.
type RecordCutter struct {
	next    io.Writer
	mark    []byte
	pending []byte // bytes that may start the marker
	in      bool   // inside the record line
	done    bool   // the record line ended
	line    []byte // the record, capped at recordMax
}

// recordMax caps the record line kept.
const recordMax = 1 << 20

// NewRecordCutter returns a RecordCutter passing on to next, for the run
// with nonce.
func NewRecordCutter(next io.Writer, nonce string) *RecordCutter {
	return &RecordCutter{next: next, mark: []byte("\n" + recordPrefix + nonce + "] ")}
}

func (c *RecordCutter) Write(p []byte) (int, error) {
	n := len(p)
	if c.done {
		_, err := c.next.Write(p)
		return n, err
	}
	if c.in {
		return n, c.take(p)
	}
	data := append(c.pending, p...)
	c.pending = nil
	if i := bytes.Index(data, c.mark); i >= 0 {
		if _, err := c.next.Write(data[:i]); err != nil {
			return n, err
		}
		c.in = true
		return n, c.take(data[i+len(c.mark):])
	}
	k := max(len(data)-(len(c.mark)-1), 0)
	c.pending = append([]byte(nil), data[k:]...)
	_, err := c.next.Write(data[:k])
	return n, err
}

// take adds p to the record up to its newline and passes what follows.
func (c *RecordCutter) take(p []byte) error {
	end := bytes.IndexByte(p, '\n')
	rest := []byte(nil)
	if end >= 0 {
		p, rest = p[:end], p[end+1:]
		c.in, c.done = false, true
	}
	if room := recordMax - len(c.line); room > 0 {
		c.line = append(c.line, p[:min(room, len(p))]...)
	}
	if len(rest) > 0 {
		_, err := c.next.Write(rest)
		return err
	}
	return nil
}

// Flush passes on what was held back; call it once the stream ended.
func (c *RecordCutter) Flush() error {
	_, err := c.next.Write(c.pending)
	c.pending = nil
	return err
}

// Exits returns what the record reports, or nil when there was no
// complete record (the run did not end on its own).
func (c *RecordCutter) Exits() []sandbox.Exit {
	if !c.done {
		return nil
	}
	var rec record
	if err := json.Unmarshal(c.line, &rec); err != nil {
		return nil
	}
	if rec.Exits == nil {
		rec.Exits = []sandbox.Exit{}
	}
	return rec.Exits
}

// fixedEnv is set in every sandbox. Spec.Env may override all but the
// entries named in lockedEnv.
var fixedEnv = []string{
	"HOME=/tmp/home",
	"TMPDIR=/tmp",
	"GOCACHE=/tmp/gocache",
	"GOFLAGS=-mod=mod",
	"GOPROXY=off",
	"GOTOOLCHAIN=local",
	"GOSUMDB=off",
}

// lockedEnv names variables Spec.Env cannot override: a run must never
// download code or toolchains.
var lockedEnv = map[string]bool{"GOPROXY": true, "GOTOOLCHAIN": true}

// Env returns the environment of a run: fixedEnv with extra (Spec.Env)
// applied. An entry replaces the one of the same key, except for
// lockedEnv keys, which are refused.
func Env(extra []string) ([]string, error) {
	env := append([]string(nil), fixedEnv...)
	idx := make(map[string]int, len(env))
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		idx[k] = i
	}
	for _, kv := range extra {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("sandbox spec: env %q: want KEY=VALUE", kv)
		}
		if lockedEnv[k] {
			return nil, fmt.Errorf("sandbox spec: env %s cannot be overridden", k)
		}
		if i, ok := idx[k]; ok {
			env[i] = kv
			continue
		}
		idx[k] = len(env)
		env = append(env, kv)
	}
	return env, nil
}
