// Package mesh holds `mesheryctl mesh`: the commands about service meshes.
package mesh

import (
	"github.com/spf13/cobra"

	"github.com/meshery/meshery/mesheryctl/pkg/utils"
)

// Supported lists the meshes Meshery has an adapter for.
var Supported = []struct{ Name, Adapter, Port string }{
	{"istio", "meshery-istio", "10000"},
	{"linkerd", "meshery-linkerd", "10001"},
	{"consul", "meshery-consul", "10002"},
	{"cilium", "meshery-cilium", "10012"},
}

// NewMeshCmd returns `mesheryctl mesh`.
func NewMeshCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mesh",
		Short: "Work with service meshes",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the meshes Meshery supports",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rows := make([][]string, 0, len(Supported))
			for _, m := range Supported {
				rows = append(rows, []string{m.Name, m.Adapter, m.Port})
			}
			return utils.PrintTable(cmd.OutOrStdout(), []string{"MESH", "ADAPTER", "PORT"}, rows)
		},
	})
	return cmd
}
