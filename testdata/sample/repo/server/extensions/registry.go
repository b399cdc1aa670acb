package extensions

import (
	"errors"
	"sync"
)

var (
	// ErrInvalidName is wrapped when an adapter's name is empty.
	ErrInvalidName = errors.New("invalid adapter name")
	// ErrDuplicate is wrapped when an adapter's name is already registered.
	ErrDuplicate = errors.New("adapter already registered")
)

// Registry holds the adapters the server knows, by name. It is safe for
// concurrent use.
type Registry struct {
	mu       sync.RWMutex
	adapters map[string]Adapter
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{adapters: map[string]Adapter{}}
}

// Register adds a. An empty name gives an error wrapping ErrInvalidName; a
// name already registered gives an error wrapping ErrDuplicate and keeps the
// first adapter.
func (r *Registry) Register(a Adapter) error {
	return ErrNotImplemented
}

// Get returns the adapter registered under name.
func (r *Registry) Get(name string) (Adapter, bool) {
	return nil, false
}

// Names returns the registered names in ascending order.
func (r *Registry) Names() []string {
	return nil
}
