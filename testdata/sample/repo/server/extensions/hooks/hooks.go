// Package hooks runs extension hooks on server events.
package hooks

import (
	"context"
	"errors"
)

// ErrNotImplemented is returned by features that are not written yet.
var ErrNotImplemented = errors.New("not implemented")

// Event is something that happened in the server.
type Event struct {
	// Name is the event's name, e.g. "design.deployed".
	Name string
	// Data holds the event's details.
	Data map[string]string
}

// Hook reacts to an event.
type Hook func(ctx context.Context, ev *Event) error

// Chain returns a hook that runs hooks in order and stops at the first
// error, which it returns unchanged. Before each hook it checks ctx: once
// ctx is done, it returns ctx.Err() and runs no further hook. A chain of no
// hooks returns nil.
func Chain(hooks ...Hook) Hook {
	return func(ctx context.Context, ev *Event) error {
		return ErrNotImplemented
	}
}

// Func adapts a function without a context to a Hook.
func Func(f func(ev *Event) error) Hook {
	return func(_ context.Context, ev *Event) error { return f(ev) }
}
