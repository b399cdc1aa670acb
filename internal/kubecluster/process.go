package kubecluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// stopGrace is how long a component has to exit after SIGTERM before it
// is killed.
const stopGrace = 10 * time.Second

// process is one running component of the cluster, in its own process
// group, its output in a log file under the root.
type process struct {
	name   string
	log    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's error, once exited is closed
}

// startProcess starts a component. It is not tied to a context: Stop ends
// it, so a test's context ending before its cleanup runs does not kill the
// cluster under the cleanup.
func startProcess(name, logFile string, path string, args ...string) (*process, error) {
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(path, args...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, log: logFile, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// pid is the process's id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exitedErr is nil while the process runs, else an error that says how it
// ended and shows the end of its log.
func (p *process) exitedErr() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited (%v); end of %s:\n%s", p.name, p.err, p.log, p.logTail())
	default:
		return nil
	}
}

// logTail is the end of the process's log.
func (p *process) logTail() string {
	data, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	return tail(string(data), 3000)
}

// stop sends SIGTERM to the process group, then SIGKILL after stopGrace,
// and waits for the process to exit.
func (p *process) stop() error {
	pgid := p.pid()
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping %s: %w", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(stopGrace):
	}
	// The group may hold children of the component even after it exited.
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing %s: %w", p.name, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopGrace):
		return fmt.Errorf("%s (pid %d) does not exit after SIGKILL", p.name, pgid)
	}
}
