package flock

import (
	"context"
	"fmt"
	"os"
	"syscall"
)

// Lock takes an exclusive flock on the file name, created (mode 0600) if
// needed, and returns the func that releases it. It waits while another
// process, or another Lock of this one, holds the lock. When ctx ends
// first it returns ctx.Err(); the lock it was still waiting for is then
// released as soon as it is taken.
func Lock(ctx context.Context, name string) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", name, err)
		}
		return func() { f.Close() }, nil
	case <-ctx.Done():
		go func() { <-done; f.Close() }()
		return nil, ctx.Err()
	}
}
