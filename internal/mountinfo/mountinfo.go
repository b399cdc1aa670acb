// Package mountinfo reads the mount table of /proc/self/mountinfo: which
// mount points lie under a folder, so that what a tool mounted there (a
// debootstrap chroot, a kubelet's pod volumes) can be detached before the
// folder is removed.
package mountinfo

import (
	"bufio"
	"bytes"
	"slices"
	"strconv"
	"strings"
)

// Under lists the mount points at or below root in the text of
// /proc/self/mountinfo, deepest first (the order to detach them in).
func Under(mountinfo []byte, root string) []string {
	var mounts []string
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		mp := Unescape(f[4])
		if mp == root || strings.HasPrefix(mp, root+"/") {
			mounts = append(mounts, mp)
		}
	}
	slices.SortStableFunc(mounts, func(a, b string) int { return len(b) - len(a) })
	return mounts
}

// Unescape undoes mountinfo's octal escapes (\040 for a space).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
