// Package bytesize reads and writes byte counts the way the grader's flags
// and messages show them, in binary units.
package bytesize

import (
	"fmt"

	"github.com/docker/go-units"
)

// Format writes n for a message: "100 bytes", "512 MiB", "1.5 MiB".
func Format(n int64) string {
	switch {
	case n < 1<<20:
		return fmt.Sprintf("%d bytes", n)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// Parse reads a positive size with an optional binary unit, as docker's
// --memory flag does: 512MiB, 2GiB, 64KiB, 2g, 512m, 1.5GiB or plain
// bytes, up to 1 PiB.
func Parse(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil || n <= 0 || n > 1<<50 {
		return 0, fmt.Errorf("want a positive size such as 512MiB or 2GiB, got %q", s)
	}
	return n, nil
}

// Flag is a size flag (it implements pflag.Value and flag.Value).
type Flag int64

// Set parses v with Parse.
func (f *Flag) Set(v string) error {
	n, err := Parse(v)
	if err != nil {
		return err
	}
	*f = Flag(n)
	return nil
}

// String writes the size in the unit it divides: 512MiB, 2GiB, 100B.
func (f Flag) String() string {
	n := int64(f)
	for _, u := range []struct {
		unit  string
		shift uint
	}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.unit)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// Type names the flag's type in help text.
func (Flag) Type() string { return "size" }
