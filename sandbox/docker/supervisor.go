package docker

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"sort"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// The protocol between Run and the supervisor (sandbox/docker/supervise). Keep
// the names in step with that program.
const (
	// supervisorUser is the container's user: the supervisor starts as
	// root, with no capability but CAP_SETUID, CAP_SETGID and CAP_SETPCAP,
	// and runs candidate code as sandbox.User with an empty bounding set.
	supervisorUser = "0:0"
	// privatePrefix starts the names of the private entries sent ahead
	// of the workspace on stdin; privateEnd closes them.
	privatePrefix = ".cmcgrader-private/"
	privateEnd    = privatePrefix + ".end"
	// workspaceOwner owns the workspace (uid and gid): the sandbox user
	// can read it, not change it.
	workspaceOwner = 1001
	// nonceFile is the private file holding the run's record nonce.
	nonceFile = "nonce"
	// recordPrefix starts the supervisor's record line on stderr, followed
	// by the nonce, "] " and the record as JSON.
	recordPrefix = "\x1e[cmcgrader-supervisor "
)

// supervisorArgs are the supervisor's arguments for spec.
func supervisorArgs(spec sandbox.Spec) []string {
	var args []string
	if spec.Driver {
		args = append(args, "--driver")
	}
	if spec.Stdin != "" {
		args = append(args, "--stdin", spec.Stdin)
	}
	return append(append(args, "--"), spec.Cmd...)
}

// privateFiles is the private section of the stdin stream: the run's
// nonce and spec's private files as tar entries, then the end marker,
// without the archive's closing blocks (the workspace tar follows). The
// supervisor takes entries as private only up to the marker, so nothing
// in the workspace can land among them.
func privateFiles(files map[string][]byte, nonce string) []byte {
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

// recordCutter passes a stream to next, except for the supervisor's
// record: a line that starts with the run's nonce behind recordPrefix,
// which it keeps aside. It holds back at most a marker's length at a time,
// so the record never takes room in the capped capture of the stream.
type recordCutter struct {
	next    io.Writer
	mark    []byte
	pending []byte // bytes that may start the marker
	in      bool   // inside the record line
	done    bool   // the record line ended
	line    []byte // the record, capped at recordMax
}

// recordMax caps the record line kept.
const recordMax = 1 << 20

func newRecordCutter(next io.Writer, nonce string) *recordCutter {
	return &recordCutter{next: next, mark: []byte("\n" + recordPrefix + nonce + "] ")}
}

func (c *recordCutter) Write(p []byte) (int, error) {
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
func (c *recordCutter) take(p []byte) error {
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

// flush passes on what was held back; call it once the stream ended.
func (c *recordCutter) flush() error {
	_, err := c.next.Write(c.pending)
	c.pending = nil
	return err
}

// exits returns what the record reports, or nil when there was no
// complete record (the run did not end on its own).
func (c *recordCutter) exits() []sandbox.Exit {
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
