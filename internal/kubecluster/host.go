package kubecluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cmcgrader/cmcgrader/internal/mountinfo"
)

// hostSysctls are the host settings the kubelet rewrites at start; Stop
// puts back what they were.
var hostSysctls = []string{"vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"}

// readSysctls reads hostSysctls.
func readSysctls() (map[string]string, error) {
	vals := map[string]string{}
	for _, name := range hostSysctls {
		data, err := os.ReadFile(filepath.Join("/proc/sys", name))
		if err != nil {
			return nil, fmt.Errorf("reading sysctl: %w", err)
		}
		vals[name] = strings.TrimSpace(string(data))
	}
	return vals, nil
}

// writeSysctls writes back values read by readSysctls, only where they
// changed.
func writeSysctls(vals map[string]string) error {
	now, err := readSysctls()
	if err != nil {
		return err
	}
	var errs []error
	for name, v := range vals {
		if now[name] == v {
			continue
		}
		if err := os.WriteFile(filepath.Join("/proc/sys", name), []byte(v+"\n"), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restoring sysctl %s=%s: %w", strings.ReplaceAll(name, "/", "."), v, err))
		}
	}
	return errors.Join(errs...)
}

// dns1123 is what a node name must look like.
var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// nodeName is the name the node registers under. The API server reaches
// the kubelet by this name (the kubelet refuses a loopback node address),
// and the kubelet listens on loopback only, so the name must resolve to
// loopback: the host's name when it does, else "localhost".
func nodeName() string {
	host, err := os.Hostname()
	host = strings.ToLower(host)
	if err != nil || !dns1123.MatchString(host) {
		return "localhost"
	}
	addrs, err := net.LookupHost(host)
	if err != nil || len(addrs) == 0 {
		return "localhost"
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			return "localhost"
		}
	}
	return host
}

// defaultRouteIP is the first IPv4 address of the interface of the
// default route, from /proc/net/route. The kubelet wants a node address
// that is not loopback; nothing is sent to it.
func defaultRouteIP() (net.IP, error) {
	data, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return nil, fmt.Errorf("finding the node address: %w", err)
	}
	iface := defaultRouteInterface(data)
	if iface == "" {
		return nil, errors.New("finding the node address: no default route in /proc/net/route")
	}
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("finding the node address: %w", err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return nil, fmt.Errorf("finding the node address: %w", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.To4(), nil
		}
	}
	return nil, fmt.Errorf("finding the node address: interface %s has no IPv4 address", iface)
}

// defaultRouteInterface is the interface of the first default route in
// the text of /proc/net/route, or "".
func defaultRouteInterface(routes []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(routes))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 8 && f[1] == "00000000" && f[7] == "00000000" {
			return f[0]
		}
	}
	return ""
}

// unmountUnder detaches every mount at or below root (pods' volumes,
// containerd's snapshots and sandboxes' /dev/shm).
func unmountUnder(root string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("listing mounts: %w", err)
	}
	var errs []error
	for _, mp := range mountinfo.Under(data, root) {
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", mp, err))
		}
	}
	return errors.Join(errs...)
}

// killProcessesMatching sends SIGKILL to every process whose command line
// holds all of words, and returns their ids.
func killProcessesMatching(words ...string) []int {
	var killed []int
	for _, pid := range processesMatching(words...) {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed = append(killed, pid)
		}
	}
	return killed
}

// processesMatching lists the processes whose command line holds all of
// words.
func processesMatching(words ...string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(data) == 0 {
			continue
		}
		cmdline := string(bytes.ReplaceAll(data, []byte{0}, []byte{' '}))
		if containsAll(cmdline, words) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// containsAll tells whether s holds every one of words.
func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// kubepodsCgroups are the cgroup directories the kubelet puts pods in,
// one per cgroup v1 hierarchy, or the one of cgroup v2.
func kubepodsCgroups() []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	if fi, err := os.Stat("/sys/fs/cgroup/kubepods"); err == nil && fi.IsDir() {
		dirs = append(dirs, "/sys/fs/cgroup/kubepods")
	}
	return dirs
}

// cgroupPids lists the processes in the cgroup dir and below.
func cgroupPids(dir string) []int {
	var pids []int
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(path, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// podPids lists every process in the kubelet's pod cgroups.
func podPids() []int {
	var pids []int
	for _, dir := range kubepodsCgroups() {
		pids = append(pids, cgroupPids(dir)...)
	}
	slices.Sort(pids)
	return slices.Compact(pids)
}

// killPods kills every process in the kubelet's pod cgroups and waits
// (briefly) for them to be gone, then removes the cgroups.
func killPods() error {
	deadline := time.Now().Add(stopGrace)
	for {
		pids := podPids()
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pod processes %v survive SIGKILL", pids)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, dir := range kubepodsCgroups() {
		removeCgroupTree(dir)
	}
	return nil
}

// removeCgroupTree removes a cgroup directory and its children, deepest
// first (cgroup directories go with rmdir, not unlink); what is still busy
// stays.
func removeCgroupTree(dir string) {
	var dirs []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	slices.SortStableFunc(dirs, func(a, b string) int { return len(b) - len(a) })
	for _, d := range dirs {
		syscall.Rmdir(d)
	}
}

// netnsDir is where containerd's CRI pins pods' network namespaces.
const netnsDir = "/var/run/netns"

// listNetns lists the pinned network namespaces containerd's CRI names
// (cni-…).
func listNetns() map[string]bool {
	names := map[string]bool{}
	entries, _ := os.ReadDir(netnsDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "cni-") {
			names[e.Name()] = true
		}
	}
	return names
}

// removeNewNetns removes the pinned network namespaces that were not there
// before (a killed pod's sandbox leaves its own).
func removeNewNetns(before map[string]bool) error {
	var errs []error
	for name := range listNetns() {
		if before[name] {
			continue
		}
		p := filepath.Join(netnsDir, name)
		syscall.Unmount(p, syscall.MNT_DETACH)
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("removing network namespace %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// removeBridge deletes the pod network's bridge interface, if there is
// one.
func removeBridge() error {
	if _, err := os.Stat(filepath.Join("/sys/class/net", bridgeName)); err != nil {
		return nil
	}
	if out, err := exec.Command("ip", "link", "delete", bridgeName).CombinedOutput(); err != nil {
		return fmt.Errorf("ip link delete %s: %w: %s", bridgeName, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// containerLogLinks is where the kubelet links each container's log.
const containerLogLinks = "/var/log/containers"

// removeLogLinks removes the kubelet's links to container logs that point
// under root.
func removeLogLinks(root string) error {
	entries, err := os.ReadDir(containerLogLinks)
	if err != nil {
		return nil
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(containerLogLinks, e.Name())
		target, err := os.Readlink(p)
		if err != nil || !strings.HasPrefix(target, root+"/") {
			continue
		}
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("removing container log link: %w", err))
		}
	}
	return errors.Join(errs...)
}

// rootPrefix starts the name of every cluster root in the temporary
// directory.
const rootPrefix = "cmcgrader-kube-"

// cleanStale removes what a test cluster of an earlier process left when
// that process died without Stop: its containerd shims and pods, its
// mounts and its root. Only call it holding the host lock, when no cluster
// runs.
func cleanStale(log io.Writer) error {
	roots, err := filepath.Glob(filepath.Join(os.TempDir(), rootPrefix+"*"))
	if err != nil || len(roots) == 0 {
		return err
	}
	fmt.Fprintf(log, "kubecluster: removing the leftovers of %d earlier test clusters\n", len(roots))
	var errs []error
	for _, root := range roots {
		// A dead cluster's pods are the only ones on the host: Start
		// refuses to run beside another kubelet's.
		if len(killProcessesMatching("containerd-shim", root+"/")) > 0 {
			errs = append(errs, killPods())
		}
		killProcessesMatching(root + "/")
		errs = append(errs, unmountUnder(root), removeLogLinks(root))
		if err := os.RemoveAll(root); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", root, err))
		}
	}
	errs = append(errs, removeBridge())
	return errors.Join(errs...)
}
