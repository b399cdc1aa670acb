package interrupt

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

// raise sends sig to this process.
func raise(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		t.Fatal(err)
	}
}

func TestContext(t *testing.T) {
	quits := make(chan os.Signal, 2)
	ctx, stop := Context(context.Background(), func(sig os.Signal) { quits <- sig }, syscall.SIGUSR1)
	defer stop()

	raise(t, syscall.SIGUSR1)
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the first signal did not cancel the context")
	}
	var s *Signal
	if cause := context.Cause(ctx); !errors.As(cause, &s) || s.Sig != syscall.SIGUSR1 || !errors.Is(cause, context.Canceled) {
		t.Errorf("cause %v, want a *Signal for SIGUSR1 that matches context.Canceled", cause)
	}
	select {
	case sig := <-quits:
		t.Fatalf("quit called with %v at the first signal", sig)
	default:
	}

	raise(t, syscall.SIGUSR1)
	select {
	case sig := <-quits:
		if sig != syscall.SIGUSR1 {
			t.Errorf("quit called with %v, want SIGUSR1", sig)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second signal did not call quit")
	}
}

func TestContextStop(t *testing.T) {
	ctx, stop := Context(context.Background(), func(sig os.Signal) { t.Errorf("quit called with %v", sig) }, syscall.SIGUSR2)
	stop()
	stop()
	if ctx.Err() == nil {
		t.Error("stop did not cancel the context")
	}
	var s *Signal
	if errors.As(context.Cause(ctx), &s) {
		t.Errorf("cause %v after stop, want no signal", context.Cause(ctx))
	}
}

func TestExitStatus(t *testing.T) {
	if got := ExitStatus(os.Interrupt); got != 130 {
		t.Errorf("ExitStatus(SIGINT) = %d, want 130", got)
	}
	if got := ExitStatus(syscall.SIGTERM); got != 143 {
		t.Errorf("ExitStatus(SIGTERM) = %d, want 143", got)
	}
}
