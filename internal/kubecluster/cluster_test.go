package kubecluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helloLine is what the test image prints.
const helloLine = "hello from the kubecluster test pod"

// TestClusterRunsPod starts a real cluster, runs a pod of an image loaded
// from Docker, and checks that Stop leaves nothing behind: no process, no
// root, the host's sysctls as they were.
func TestClusterRunsPod(t *testing.T) {
	image := buildHelloImage(t)

	start := time.Now()
	c := ForTest(t)
	t.Logf("timing: ForTest (host lock, binaries, cluster up) %s", time.Since(start).Round(100*time.Millisecond))
	ctx := t.Context()
	// What Start read under the host lock: another test cluster may have
	// run before this one got the lock.
	before := c.sysctls

	during, err := readSysctls()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("host sysctls before %v, with the kubelet running %v", before, during)

	loadStart := time.Now()
	if err := c.LoadImage(ctx, image); err != nil {
		t.Fatal(err)
	}
	t.Logf("timing: image load %s", time.Since(loadStart).Round(100*time.Millisecond))

	podStart := time.Now()
	phase, log := runPod(ctx, t, c, image)
	t.Logf("timing: pod create to %s %s", phase, time.Since(podStart).Round(100*time.Millisecond))
	if phase != "Succeeded" {
		t.Errorf("pod phase %s, want Succeeded", phase)
	}
	if !strings.Contains(log, helloLine) {
		t.Errorf("pod log %q does not hold %q", log, helloLine)
	}

	root := c.layout.root
	var pids []int
	for _, p := range c.procs {
		pids = append(pids, p.pid())
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	checkNothingLeft(t, root, pids)
	after, err := readSysctls()
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range before {
		if after[name] != v {
			t.Errorf("sysctl %s is %s after Stop, was %s at Start", name, after[name], v)
		}
	}
}

// checkNothingLeft fails t if a component, a shim or a pod process of the
// stopped cluster still runs, or its root is still there.
func checkNothingLeft(t *testing.T, root string, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("process %d of the cluster still runs after Stop", pid)
		}
	}
	if left := processesMatching(root); len(left) > 0 {
		t.Errorf("processes %v still name the cluster root %s after Stop", left, root)
	}
	if left := podPids(); len(left) > 0 {
		t.Errorf("pod processes %v still run after Stop", left)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("cluster root %s still there after Stop (%v)", root, err)
	}
	if _, err := os.Stat(filepath.Join("/sys/class/net", bridgeName)); err == nil {
		t.Errorf("bridge %s still there after Stop", bridgeName)
	}
}

// buildHelloImage builds a FROM-scratch Docker image whose one static
// program prints helloLine, labelled cmcgrader.test=kcluster, removed when
// the test ends.
func buildHelloImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":     "module hello\n\ngo 1.22\n",
		"main.go":    fmt.Sprintf("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(%q) }\n", helloLine),
		"Dockerfile": "FROM scratch\nCOPY hello /hello\nUSER 1000:1000\nENTRYPOINT [\"/hello\"]\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-o", "hello", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the test program: %v\n%s", err, out)
	}
	ref := fmt.Sprintf("cmcgrader-kcluster-hello:%d", time.Now().UnixNano())
	cmd := exec.Command("docker", "build", "-q", "--label", "cmcgrader.test=kcluster", "-t", ref, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("docker", "rmi", "-f", ref).CombinedOutput(); err != nil {
			t.Errorf("docker rmi %s: %v\n%s", ref, err, out)
		}
	})
	return ref
}

// runPod runs image as a pod that meets Pod Security "restricted" and
// returns the phase it ended in and its log.
func runPod(ctx context.Context, t *testing.T, c *Cluster, image string) (phase, log string) {
	t.Helper()
	const path = "/api/v1/namespaces/default/pods"
	pod := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "hello", "labels": map[string]string{"cmcgrader.test": "kcluster"}},
		"spec": map[string]any{
			"restartPolicy":                "Never",
			"automountServiceAccountToken": false,
			"enableServiceLinks":           false,
			"securityContext": map[string]any{
				"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000,
				"seccompProfile": map[string]string{"type": "RuntimeDefault"},
			},
			"containers": []map[string]any{{
				"name": "hello", "image": image, "imagePullPolicy": "Never",
				"securityContext": map[string]any{
					"allowPrivilegeEscalation": false,
					"readOnlyRootFilesystem":   true,
					"capabilities":             map[string]any{"drop": []string{"ALL"}},
				},
			}},
		},
	}
	if _, err := c.api.do(ctx, "POST", path, pod); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		data, err := c.api.get(ctx, path+"/hello")
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Status struct {
				Phase             string
				ContainerStatuses []json.RawMessage
			}
		}
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatal(err)
		}
		phase = p.Status.Phase
		if phase == "Succeeded" || phase == "Failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod still %s after 3m: %s", phase, data)
		}
		time.Sleep(250 * time.Millisecond)
	}
	data, err := c.api.get(ctx, path+"/hello/log")
	if err != nil {
		t.Fatalf("pod log: %v", err)
	}
	return phase, string(data)
}
