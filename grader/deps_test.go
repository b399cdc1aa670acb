package grader

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNoBackendDeps checks that grading links no sandbox backend: the
// grading packages and the sandbox contract import nothing of the Docker
// engine's client, containerd or OpenTelemetry, which sandbox/docker
// brings in, nor of the Kubernetes client, which sandbox/kubernetes does. A backend is chosen by the command that wires it.
func TestNoBackendDeps(t *testing.T) {
	const module = "github.com/cmcgrader/cmcgrader"
	grading := []string{
		module + "/grader/...",
		module + "/tasks/...",
		module + "/internal/...",
		module + "/sandbox",
		module + "/sandbox/internal/...",
	}
	banned := []string{"github.com/moby/", "github.com/docker/", "github.com/containerd/", "go.opentelemetry.io/", "k8s.io/"}
	// go-units parses sizes such as 512MiB; it imports only the standard
	// library, and no engine code.
	allowed := map[string]bool{"github.com/docker/go-units": true}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", append([]string{"list", "-deps"}, grading...)...).Output()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		t.Fatalf("go list -deps: %v\n%s", err, ee.Stderr)
	}
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps listed no package")
	}
	for _, dep := range deps {
		for _, b := range banned {
			if strings.HasPrefix(dep, b) && !allowed[dep] {
				t.Errorf("grading depends on %s: only a backend (sandbox/docker, sandbox/kubernetes) may import %s", dep, b)
			}
		}
	}
	t.Logf("%d packages in the dependencies of %s", len(deps), strings.Join(grading, " "))
}
