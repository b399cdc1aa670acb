package root

import "github.com/spf13/cobra"

// newVersionCmd returns `mesheryctl version`.
//
// It prints "mesheryctl <Version> (commit <Commit>)" and a newline. With
// --short it prints only the version and a newline. With --output json (-o
// json) it prints a JSON object {"version": ..., "commit": ...}; any other
// --output value is an error.
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print mesheryctl's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errNotImplemented
		},
	}
}
