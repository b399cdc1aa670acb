package flock

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// waitLimit bounds every wait for a lock that should come.
const waitLimit = 10 * time.Second

type result struct {
	unlock func()
	err    error
}

// lockAsync starts Lock and returns the channel its result arrives on.
func lockAsync(ctx context.Context, name string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		unlock, err := Lock(ctx, name)
		ch <- result{unlock, err}
	}()
	return ch
}

func TestSecondWaits(t *testing.T) {
	name := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	second := lockAsync(context.Background(), name)
	select {
	case r := <-second:
		t.Fatalf("second Lock returned while the first held the lock (err %v)", r.err)
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	select {
	case r := <-second:
		if r.err != nil {
			t.Fatalf("second Lock: %v", r.err)
		}
		r.unlock()
	case <-time.After(waitLimit):
		t.Fatal("second Lock still waits after the first released the lock")
	}
}

func TestContextEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		// end returns a context that ends while Lock waits, and the
		// error Lock must return.
		end func(t *testing.T) (context.Context, error)
	}{
		{"cancelled while waiting", func(t *testing.T) (context.Context, error) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			t.Cleanup(cancel)
			return ctx, context.Canceled
		}},
		{"deadline while waiting", func(t *testing.T) (context.Context, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			t.Cleanup(cancel)
			return ctx, context.DeadlineExceeded
		}},
		{"cancelled before", func(t *testing.T) (context.Context, error) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, context.Canceled
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "x.lock")
			unlock, err := Lock(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			ctx, want := tc.end(t)
			select {
			case r := <-lockAsync(ctx, name):
				if r.err != want {
					t.Fatalf("Lock = %v, want %v", r.err, want)
				}
			case <-time.After(waitLimit):
				t.Fatal("Lock still waits after its context ended")
			}
			// The abandoned wait must not keep the lock once it gets it.
			unlock()
			select {
			case r := <-lockAsync(context.Background(), name):
				if r.err != nil {
					t.Fatal(r.err)
				}
				r.unlock()
			case <-time.After(waitLimit):
				t.Fatal("the lock stays held after an abandoned wait")
			}
		})
	}
}

func TestFreeLockWithEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Lock(ctx, filepath.Join(t.TempDir(), "x.lock")); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with an ended context = %v, want context.Canceled", err)
	}
}

func TestOpenError(t *testing.T) {
	if _, err := Lock(context.Background(), filepath.Join(t.TempDir(), "missing", "x.lock")); err == nil {
		t.Error("Lock in a missing folder succeeded")
	}
}
