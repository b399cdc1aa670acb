package main

import (
	"fmt"
	"strconv"
	"strings"
)

// sizeFlag is a byte count given as a number with an optional binary unit:
// 512MiB, 2GiB, 64KiB, or plain bytes. The short forms k, m, g (as in
// `docker run --memory 2g`) mean the same binary units.
type sizeFlag int64

var sizeUnits = []struct {
	suffixes []string
	shift    uint
}{
	{[]string{"GiB", "G", "g"}, 30},
	{[]string{"MiB", "M", "m"}, 20},
	{[]string{"KiB", "K", "k"}, 10},
	{[]string{"B", ""}, 0},
}

func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(n)
	return nil
}

func (s sizeFlag) String() string { return formatSize(int64(s)) }

func (s sizeFlag) Type() string { return "size" }

func parseSize(v string) (int64, error) {
	for _, u := range sizeUnits {
		for _, suf := range u.suffixes {
			num, ok := strings.CutSuffix(v, suf)
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil || n <= 0 || n > (1<<62)>>u.shift {
				return 0, fmt.Errorf("want a positive size such as 512MiB or 2GiB, got %q", v)
			}
			return n << u.shift, nil
		}
	}
	panic("unreachable: the empty suffix matches")
}

func formatSize(n int64) string {
	for _, u := range sizeUnits {
		if u.shift > 0 && n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffixes[0]
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
