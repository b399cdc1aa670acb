package system

import "github.com/spf13/cobra"

// NewStatusCmd returns `mesheryctl system status`.
//
// It prints the components of src as a table (utils.PrintTable) with the
// header NAME, STATUS, VERSION and one row per component, sorted by name.
// An error of src is returned wrapped (so errors.Is finds it). With
// --strict, after printing the table, a component whose status is not
// "running" makes the command fail with an error wrapping ErrNotHealthy
// that names the component.
func NewStatusCmd(src StatusSource) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the state of Meshery's components",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errNotImplemented
		},
	}
}
