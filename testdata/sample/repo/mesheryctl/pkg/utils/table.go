// Package utils holds output helpers shared by mesheryctl's commands.
package utils

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// PrintTable writes header and rows as left-aligned columns separated by at
// least two spaces.
func PrintTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
