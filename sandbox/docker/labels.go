package docker

import (
	"github.com/cmcgrader/cmcgrader/sandbox/internal/owner"
)

// Labels the grader puts on every Docker object it creates.
const (
	// LabelManaged marks an object as the grader's; GC only looks at these.
	LabelManaged = "dev.cmcgrader.managed"
	// LabelOwner names the grader process that created the object, as
	// HOST/PID/START (see Owner). GC removes objects whose owner is gone.
	LabelOwner = "dev.cmcgrader.owner"
)

// Owner identifies one grader process: see package sandbox/internal/owner.
type Owner = owner.Owner

// ParseOwner parses a LabelOwner value made by Owner.String.
func ParseOwner(s string) (Owner, error) { return owner.Parse(s) }

// selfOwner returns the LabelOwner value of the current process.
func selfOwner() (string, error) { return owner.Self() }

// processStart reads the start time of process pid (owner.ProcessStart).
func processStart(pid int) (uint64, error) { return owner.ProcessStart(pid) }

// liveness decides the state of the owner label value s (owner.Liveness).
func liveness(s, host string, started func(pid int) (uint64, error)) owner.State {
	return owner.Liveness(s, host, started)
}

// The states liveness returns.
const (
	ownerAlive   = owner.Alive
	ownerForeign = owner.Foreign
	ownerDead    = owner.Dead
	ownerInvalid = owner.Invalid
)

// hostname is os.Hostname with a stable fallback.
func hostname() string { return owner.Hostname() }
