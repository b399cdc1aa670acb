// Package owner names the grader process that created a sandbox object
// (a container, a volume, a Job) as HOST/PID/START, and tells whether that
// process is still alive, so that every backend collects the leftovers of
// crashed graders the same way while several graders share one engine or
// cluster.
package owner

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// Owner identifies one grader process. Start is the process start time
// (field 22 of /proc/PID/stat, in clock ticks since boot), so that a PID
// reused by another process is not mistaken for the owner.
type Owner struct {
	Host  string // hostname of the machine (or container) running the grader
	PID   int    // process ID
	Start uint64 // process start time in clock ticks since boot
}

// String formats o as the owner value HOST/PID/START.
func (o Owner) String() string {
	return fmt.Sprintf("%s/%d/%d", o.Host, o.PID, o.Start)
}

// errOwner is returned by Parse for malformed values.
var errOwner = errors.New("malformed owner label")

// Parse parses an owner value made by Owner.String.
func Parse(s string) (Owner, error) {
	// Host names hold no "/", so a valid value has exactly three parts.
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[0] == "" {
		return Owner{}, fmt.Errorf("%w: %q", errOwner, s)
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return Owner{}, fmt.Errorf("%w: %q: bad pid", errOwner, s)
	}
	start, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		return Owner{}, fmt.Errorf("%w: %q: bad start time", errOwner, s)
	}
	return Owner{Host: parts[0], PID: pid, Start: start}, nil
}

// Self returns the owner value of the current process.
func Self() (string, error) {
	pid := os.Getpid()
	start, err := ProcessStart(pid)
	if err != nil {
		return "", fmt.Errorf("owner label: %w (the sandbox needs Linux /proc)", err)
	}
	return Owner{Host: Hostname(), PID: pid, Start: start}.String(), nil
}

// processStart reads the start time of process pid from /proc. The error
// wraps fs.ErrNotExist when the process does not exist.
func ProcessStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStat(b)
}

// parseStat extracts field 22 (starttime) from the contents of a
// /proc/PID/stat file. Field 2 (the command name, in parentheses) may hold
// spaces and parentheses itself, so fields are counted after the last ')'.
func parseStat(b []byte) (uint64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("parse /proc stat: no command name")
	}
	// After ")" come fields 3, 4, ...; starttime is field 22.
	f := strings.Fields(string(b[i+1:]))
	const idx = 22 - 3
	if len(f) <= idx {
		return 0, errors.New("parse /proc stat: too few fields")
	}
	v, err := strconv.ParseUint(f[idx], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse /proc stat: start time: %w", err)
	}
	return v, nil
}

// State is what a garbage collector concludes about an object's owner.
type State int

// The states of an owner, as Liveness decides them.
const (
	Alive   State = iota // the owner process runs: keep
	Foreign              // owned on another host: cannot tell, keep
	Dead                 // the owner is gone (or PID reused): remove
	Invalid              // value missing or malformed: remove
)

// Liveness decides the state of the owner label value s, as seen from host.
// started reports a process's start time; its error wraps fs.ErrNotExist
// when the process is gone. Any other error keeps the object (alive): GC
// must never remove what a live grader uses.
func Liveness(s, host string, started func(pid int) (uint64, error)) State {
	o, err := Parse(s)
	if err != nil {
		return Invalid
	}
	if o.Host != host {
		return Foreign
	}
	start, err := started(o.PID)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Dead
	case err != nil:
		return Alive
	case start != o.Start:
		return Dead
	}
	return Alive
}

// Hostname is os.Hostname with a stable fallback.
func Hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown-host"
	}
	return h
}
