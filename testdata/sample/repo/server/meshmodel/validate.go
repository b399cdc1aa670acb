package meshmodel

import "errors"

// ErrInvalidComponent is wrapped by every error of ValidateComponent.
var ErrInvalidComponent = errors.New("invalid component")

// ValidateComponent checks a component definition:
//
//   - kind is required, starts with an ASCII upper-case letter and holds
//     only ASCII letters and digits;
//   - apiVersion is required;
//   - schema is a JSON object whose "type" is "object".
//
// Each problem is an error that wraps ErrInvalidComponent and names the
// field ("kind: ...", "apiVersion: ...", "schema: ..."); several problems
// are joined with errors.Join. A valid component gives nil.
func ValidateComponent(c Component) error {
	return ErrNotImplemented
}
