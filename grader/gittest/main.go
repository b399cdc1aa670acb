package gittest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// Main is the body of a command that serves repositories for scripts:
//
//	gitserve ROOT URLFILE
//
// It serves the repositories under ROOT, writes the base URL followed by a
// newline to URLFILE, and serves until it receives SIGINT or SIGTERM (or is
// killed). URLFILE is written to a temporary name in its folder and renamed,
// so it either does not exist yet or holds the whole URL: a script waits
// for it to appear. Stdin is not read, because background commands usually
// get an empty one. Main returns the exit status: 0 after a signal, 1 when
// the server could not start, 2 for a usage error. Messages go to stderr.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.Stderr)
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: gitserve ROOT URLFILE")
		return 2
	}
	s, err := newServer(args[0], stderr)
	if err != nil {
		fmt.Fprintf(stderr, "gitserve: %v\n", err)
		return 1
	}
	defer s.Close()
	if err := writeAtomic(args[1], s.URL()+"\n"); err != nil {
		fmt.Fprintf(stderr, "gitserve: write URL: %v\n", err)
		return 1
	}
	<-ctx.Done()
	if err := s.Close(); err != nil {
		fmt.Fprintf(stderr, "gitserve: close: %v\n", err)
		return 1
	}
	return 0
}

func writeAtomic(name, content string) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := io.WriteString(f, content); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
