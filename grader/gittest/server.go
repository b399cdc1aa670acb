package gittest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Server serves the git repositories under one folder over smart HTTP on
// 127.0.0.1.
type Server struct {
	url  string
	srv  *http.Server
	done chan error // the result of srv.Serve

	closeOnce sync.Once
	closeErr  error
}

// NewServer serves the repositories under root until Close. A repository
// at root/fork.git is fetched from URL()+"/fork.git".
func NewServer(root string) (*Server, error) {
	return newServer(root, io.Discard)
}

// Serve starts a server for root that stops when t ends, and returns its
// base URL. The backend's diagnostics go to t.Log.
func Serve(t testing.TB, root string) (url string) {
	t.Helper()
	lw := &logWriter{t: t}
	s, err := newServer(root, lw)
	if err != nil {
		t.Fatalf("gittest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("gittest: close: %v", err)
		}
		lw.stop()
	})
	return s.URL()
}

func newServer(root string, stderr io.Writer) (*Server, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("repository root %s: not a folder", abs)
	}
	git, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("find git: %w", err)
	}
	h := &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Dir:  abs,
		Env: []string{
			"GIT_PROJECT_ROOT=" + abs,
			"GIT_HTTP_EXPORT_ALL=1",
			// Only the repositories' own config counts, so that a test
			// behaves the same on every machine.
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=" + os.DevNull,
			"HOME=" + abs,
		},
		Stderr: stderr,
		Logger: log.New(stderr, "cgi: ", 0),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{
		url:  "http://" + ln.Addr().String(),
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// URL returns the server's base URL, http://127.0.0.1:PORT, without a
// trailing slash.
func (s *Server) URL() string { return s.url }

// Close stops the server after the requests in flight are answered (or
// after 10 seconds). It may be called more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, s.srv.Close())
		}
		if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		s.closeErr = err
	})
	return s.closeErr
}

// logWriter sends the backend's stderr to t.Log until the test ends.
type logWriter struct {
	t       testing.TB
	mu      sync.Mutex
	stopped bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Logf("git http-backend: %s", p)
	}
	return len(p), nil
}

func (w *logWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}
