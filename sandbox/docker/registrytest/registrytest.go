// Package registrytest runs a real container registry on loopback for
// tests: Debian's docker-registry (the distribution registry, v2 API),
// with its storage in a folder the caller owns. The Docker engine treats
// registries on 127.0.0.0/8 as insecure by default, so images push to it
// over plain HTTP with no engine configuration.
//
// In a test:
//
//	reg := registrytest.Serve(t) // stopped when the test ends
//	// push to reg.Addr + "/repo:tag"
//
// Outside a test, Start returns a registry that runs until Close.
package registrytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Command is the registry program Debian's docker-registry package
// installs.
const Command = "docker-registry"

// startTimeout bounds the wait for the registry to answer /v2/.
const startTimeout = 30 * time.Second

// ErrNoRegistry is returned by Start when the docker-registry program is
// not installed.
var ErrNoRegistry = errors.New(Command + " not found: install Debian's docker-registry package (apt-get install docker-registry, or `make registry`)")

// Registry is a running docker-registry on a loopback port.
type Registry struct {
	// Addr is HOST:PORT, e.g. 127.0.0.1:40123: the registry part of an
	// image name pushed to it.
	Addr string

	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
	err    error // the exit status, set before done is closed
}

// Start runs docker-registry on a free 127.0.0.1 port with its
// configuration and storage under dir, and waits until it answers.
func Start(ctx context.Context, dir string) (*Registry, error) {
	bin, err := exec.LookPath(Command)
	if err != nil {
		return nil, ErrNoRegistry
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	config, err := writeConfig(dir, addr)
	if err != nil {
		return nil, err
	}
	r := &Registry{Addr: addr, stderr: &lockedBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(bin, "serve", config)
	r.cmd.Stdout = r.stderr
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", Command, err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	if err := r.waitReady(ctx); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Serve is Start for a test: the registry's files are in a temporary
// folder, it is stopped when the test ends, and a failure to start fails
// the test.
func Serve(t testing.TB) *Registry {
	t.Helper()
	r, err := Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// Close stops the registry and waits for it to exit.
func (r *Registry) Close() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Kill()
	<-r.done
}

// Log returns what the registry printed so far.
func (r *Registry) Log() string { return r.stderr.String() }

// URL returns the registry's base URL, http://HOST:PORT.
func (r *Registry) URL() string { return "http://" + r.Addr }

// waitReady polls /v2/ until it answers 200, the registry exits or
// startTimeout passes.
func (r *Registry) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if r.answers(ctx) {
			return nil
		}
		select {
		case <-r.done:
			return fmt.Errorf("%s exited before answering (%v): %s", Command, r.err, strings.TrimSpace(r.Log()))
		case <-ctx.Done():
			return fmt.Errorf("%s at %s did not answer within %s: %s", Command, r.Addr, startTimeout, strings.TrimSpace(r.Log()))
		case <-tick.C:
		}
	}
}

// answers reports whether GET /v2/ returns 200.
func (r *Registry) answers(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL()+"/v2/", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// writeConfig writes the registry's configuration under dir, with its
// storage in dir/storage, and returns its path.
func writeConfig(dir, addr string) (string, error) {
	storage := filepath.Join(dir, "storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return "", fmt.Errorf("registry storage: %w", err)
	}
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
http:
  addr: %q
`, storage, addr)
	name := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(name, []byte(config), 0o644); err != nil {
		return "", fmt.Errorf("registry config: %w", err)
	}
	return name, nil
}

// lockedBuffer is a bytes.Buffer safe for one writer and other readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
