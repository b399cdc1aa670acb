// Package kubernetes runs sandboxes as Kubernetes Jobs: each
// sandbox.Spec becomes a Job whose one Pod runs the grading image's
// supervisor, the way package sandbox/docker runs it in a container. It
// implements sandbox.Runner with the same protocol (package
// sandbox/internal/protocol): the supervisor's entrypoint, arguments and
// environment, the private files ahead of the workspace tar on the Pod's
// stdin (pods/attach through the websocket executor, SPDY as fallback),
// stderr through the same preamble and record cutter, stdout and stderr
// capped the same way, so a Result means the same on both backends.
//
// The Pod keeps the Docker sandbox's trust model: its container starts
// the supervisor as root in the container with no capability but
// CAP_SETUID, CAP_SETGID and CAP_SETPCAP (no privilege escalation,
// RuntimeDefault seccomp, read-only root), and the supervisor runs all
// candidate code as uid 1000 and each test binary as a uid of its own.
// Pod Security "restricted" forbids such a Pod, so the namespace must
// enforce "baseline": New refuses a namespace that enforces nothing, or
// enforces "restricted" (see SECURITY.md).
//
// New checks the cluster before any run: the namespace's Pod Security
// labels, the default-deny NetworkPolicy of the sandboxes (created when
// absent), and the nodes' podPidsLimit where the kubelet configuration is
// readable. GC removes the Jobs and Pods of grader processes that are
// gone; RemoveOwn those of this process.
//
// Example:
//
//	b, err := kubernetes.New(ctx, kubernetes.Config{Namespace: "grading"}, log)
//	if err != nil {
//		return err
//	}
//	res, err := b.Run(ctx, sandbox.Spec{Image: "registry.example/cmcgrader-sandbox@sha256:...", Cmd: []string{"go", "test", "./..."}})
package kubernetes
