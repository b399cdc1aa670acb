// Package extensions is the server's extension surface: providers that
// supply identity and persistence, and adapters that manage a service mesh.
package extensions

import (
	"context"
	"errors"
)

// ErrNotImplemented is returned by features that are not written yet.
var ErrNotImplemented = errors.New("not implemented")

// Capability names a feature a provider offers.
type Capability string

const (
	// CapabilityPersistence stores designs and results.
	CapabilityPersistence Capability = "persistence"
	// CapabilityUsers knows users and their sessions.
	CapabilityUsers Capability = "users"
)

// Provider supplies identity and persistence to the server.
type Provider interface {
	// Name identifies the provider, e.g. "None" or "Meshery".
	Name() string
	// Capabilities lists what the provider offers.
	Capabilities() []Capability
}

// Adapter manages one service mesh.
type Adapter interface {
	// Name identifies the adapter, e.g. "meshery-istio".
	Name() string
	// Ping checks the adapter is reachable.
	Ping(ctx context.Context) error
}

// LocalProvider is the provider used when no remote provider is configured.
type LocalProvider struct{}

// Name implements Provider.
func (LocalProvider) Name() string { return "None" }

// Capabilities implements Provider.
func (LocalProvider) Capabilities() []Capability {
	return []Capability{CapabilityPersistence}
}

// Has reports whether p offers capability c.
func Has(p Provider, c Capability) bool {
	for _, got := range p.Capabilities() {
		if got == c {
			return true
		}
	}
	return false
}
