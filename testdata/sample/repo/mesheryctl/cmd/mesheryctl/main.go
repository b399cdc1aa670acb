// Command mesheryctl is Meshery's command line client.
package main

import (
	"fmt"
	"os"

	"github.com/meshery/meshery/mesheryctl/internal/cli/root"
)

func main() {
	if err := root.NewRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
