package interrupt

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Signal is the cause of a context cancelled by a signal. It matches
// context.Canceled.
type Signal struct {
	Sig os.Signal
}

func (s *Signal) Error() string { return "signal " + s.Sig.String() }

// Is reports whether target is context.Canceled.
func (s *Signal) Is(target error) bool { return target == context.Canceled }

// Context returns a copy of parent that is cancelled, with a *Signal as
// its cause, when the process gets the first of sigs. At the second,
// quit is called with it, from another goroutine: it should clean up
// briefly and exit the process. stop releases the signals (they act as
// they did before) and cancels the context.
func Context(parent context.Context, quit func(os.Signal), sigs ...os.Signal) (ctx context.Context, stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, sigs...)
	ctx, cancel := context.WithCancelCause(parent)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			cancel(&Signal{Sig: sig})
		case <-done:
			return
		}
		select {
		case sig := <-ch:
			quit(sig)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel(nil)
		})
	}
}

// ExitStatus is the exit status of a process ended by sig, as a shell
// reports it: 128 plus the signal's number (130 for an interrupt).
func ExitStatus(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}
