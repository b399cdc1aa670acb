// Package meshmodel loads the models and components Meshery knows about and
// answers questions about them.
//
// A model folder holds a model.json and a components/ folder with one JSON
// file per component:
//
//	kubernetes/model.json
//	kubernetes/components/Pod.json
package meshmodel

import (
	"encoding/json"
	"errors"
)

// ErrNotImplemented is returned by features that are not written yet.
var ErrNotImplemented = errors.New("not implemented")

// Model is a versioned set of components, e.g. Kubernetes v1.29.0.
type Model struct {
	// Name is the model's unique, lowercase name.
	Name string `json:"name"`
	// DisplayName is the name shown to users.
	DisplayName string `json:"displayName"`
	// Version is the model's semantic version, "v1.2.3" or "1.2.3", with an
	// optional pre-release suffix ("v1.2.3-rc.1").
	Version string `json:"version"`
	// Category groups models in the UI.
	Category string `json:"category"`
	// Components are the model's components, sorted by kind.
	Components []Component `json:"components,omitempty"`
}

// Component is one kind of resource a model defines.
type Component struct {
	// Kind is the component's kind, e.g. "Deployment".
	Kind string `json:"kind"`
	// APIVersion is the API version of the kind, e.g. "apps/v1".
	APIVersion string `json:"apiVersion"`
	// DisplayName is the name shown to users.
	DisplayName string `json:"displayName"`
	// Model is the name of the model the component belongs to; the loader
	// fills it in.
	Model string `json:"model"`
	// Schema is the JSON schema of the component's settings.
	Schema json.RawMessage `json:"schema"`
}
