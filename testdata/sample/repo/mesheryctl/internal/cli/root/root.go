// Package root builds mesheryctl's command tree.
package root

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/meshery/meshery/mesheryctl/internal/cli/root/mesh"
	"github.com/meshery/meshery/mesheryctl/internal/cli/root/system"
)

var (
	// Version is the mesheryctl release, set at build time with -ldflags.
	Version = "v0.8.0"
	// Commit is the commit mesheryctl was built from, set at build time.
	Commit = "unknown"
)

var errNotImplemented = errors.New("not implemented")

// NewRootCmd returns the mesheryctl command. Commands write to the
// command's OutOrStdout.
func NewRootCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "mesheryctl",
		Short:         "Manage Meshery from the command line",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	src := system.HTTPSource{BaseURL: "http://localhost:9081"}
	cmd.AddCommand(newVersionCmd(), system.NewSystemCmd(src), mesh.NewMeshCmd())
	return cmd
}
