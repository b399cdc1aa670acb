// Command kubebuild builds, once, the Kubernetes binaries the test
// cluster of package kubecluster runs, into its cache (see
// docs/kubernetes.md). It prints progress on stderr and exits 1 when the
// build fails.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cmcgrader/cmcgrader/internal/kubecluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := kubecluster.Build(ctx, kubecluster.Options{Log: os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, "kubebuild:", err)
		os.Exit(1)
	}
}
