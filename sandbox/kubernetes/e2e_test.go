package kubernetes

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cmcgrader/cmcgrader/internal/kubecluster"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/sandbox/docker"
	"github.com/cmcgrader/cmcgrader/sandbox/internal/owner"
)

// e2e is what the end-to-end tests share: one real cluster per test
// binary (starting one takes a while), its client, a namespace labelled
// as the backend requires, and the backend on it.
type e2e struct {
	cs    kubernetes.Interface
	ns    string
	b     *Backend
	image string
}

// TestE2E starts a real single-node cluster (internal/kubecluster),
// loads the grading image into it, and runs the backend's scenarios
// against it as subtests.
func TestE2E(t *testing.T) {
	c := kubecluster.ForTest(t)
	image := e2eImage(t)
	ctx := t.Context()
	began := time.Now()
	if err := c.LoadImage(ctx, image); err != nil {
		t.Fatalf("load %s into the cluster: %v", image, err)
	}
	t.Logf("image %s loaded into the cluster in %v", image, time.Since(began).Round(time.Millisecond))
	restCfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &e2e{cs: cs, ns: "cmcgrader-e2e", image: image}
	e.createNamespace(t)
	l := logrus.New()
	l.SetLevel(logrus.DebugLevel)
	l.SetOutput(testWriter{t})
	e.b, err = New(ctx, Config{Kubeconfig: c.Kubeconfig, Namespace: e.ns}, logrus.NewEntry(l))
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	t.Run("RefusesUnlabelledNamespace", e.refusesUnlabelledNamespace(c.Kubeconfig))
	t.Run("Plain", e.plain)
	t.Run("WorkspaceRenameAttack", e.workspaceRenameAttack)
	t.Run("Timeout", e.timeout)
	t.Run("OOM", e.oom)
	t.Run("ForkBomb", e.forkBomb(c.Node))
	t.Run("Cancel", e.cancel)
	t.Run("ImageMissing", e.imageMissing)
	t.Run("GC", e.gc)
	t.Run("SameAsDocker", e.sameAsDocker)
	t.Run("SampleSameAsDocker", e.sampleSameAsDocker(c))
}

// e2eImage is the grading image: CMCGRADER_TEST_IMAGE, else the one
// `make image` builds. The test fails when Docker does not have it.
func e2eImage(t *testing.T) string {
	t.Helper()
	ref := os.Getenv("CMCGRADER_TEST_IMAGE")
	if ref == "" {
		ref = "cmcgrader-sandbox:go1.26.8"
	}
	d, err := docker.New(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.ImageID(t.Context(), ref); err != nil {
		t.Fatalf("test image %s: %v (run `make image`)", ref, err)
	}
	return ref
}

// testWriter sends the backend's log to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// createNamespace creates the test namespace, enforcing Pod Security
// baseline, and waits for its default service account.
func (e *e2e) createNamespace(t *testing.T) {
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns, Labels: map[string]string{
		psaEnforce: "baseline", psaWarn: "restricted", psaAudit: "restricted",
	}}}
	if _, err := e.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := e.cs.CoreV1().ServiceAccounts(e.ns).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no default service account in %s: %v", e.ns, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// run runs spec and checks that the run's Job and Pod are gone after.
func (e *e2e) run(t *testing.T, ctx context.Context, spec sandbox.Spec) (sandbox.Result, error) {
	t.Helper()
	if spec.Image == "" {
		spec.Image = e.image
	}
	if spec.Limits.CPUs == 0 {
		spec.Limits.CPUs = 0.5
	}
	if spec.Limits.Memory == 0 {
		spec.Limits.Memory = 512 << 20
	}
	if spec.Limits.TmpBytes == 0 {
		spec.Limits.TmpBytes = 256 << 20
	}
	began := time.Now()
	res, err := e.b.Run(ctx, spec)
	t.Logf("run took %v (command %v): exit %d, timed out %t, oom %t, err %v", time.Since(began).Round(time.Millisecond), res.Duration.Round(time.Millisecond), res.ExitCode, res.TimedOut, res.OOMKilled, err)
	e.assertNoLeftovers(t)
	return res, err
}

// assertNoLeftovers fails the test when any Job or Pod of the grader is
// left in the namespace (Pods get a few seconds to go).
func (e *e2e) assertNoLeftovers(t *testing.T) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	sel := metav1.ListOptions{LabelSelector: LabelManaged + "=true"}
	jobs, err := e.cs.BatchV1().Jobs(e.ns).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) > 0 {
		t.Errorf("%d Jobs left after the run, e.g. %s", len(jobs.Items), jobs.Items[0].Name)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pods, err := e.cs.CoreV1().Pods(e.ns).List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d Pods left 10s after the run, e.g. %s", len(pods.Items), pods.Items[0].Name)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// workspace returns a tar of files by name.
func workspace(t *testing.T, files map[string]string) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

func (e *e2e) refusesUnlabelledNamespace(kubeconfig string) func(*testing.T) {
	return func(t *testing.T) {
		ctx := t.Context()
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cmcgrader-e2e-unlabelled"}}
		if _, err := e.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := New(ctx, Config{Kubeconfig: kubeconfig, Namespace: ns.Name}, nil)
		if err == nil || !strings.Contains(err.Error(), "does not enforce Pod Security") {
			t.Errorf("New on a namespace without Pod Security: %v, want a refusal", err)
		}
	}
}

func (e *e2e) plain(t *testing.T) {
	ws := workspace(t, map[string]string{"hello.txt": "hello from the workspace\n"})
	res, err := e.run(t, t.Context(), sandbox.Spec{
		Cmd:       sh(`cat hello.txt; echo "uid $(id -u)"; echo to-stderr >&2; exit 3`),
		Workspace: ws,
		Env:       []string{"EXTRA=1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "hello from the workspace\nuid 1000\n"; string(res.Stdout) != want {
		t.Errorf("stdout %q, want %q", res.Stdout, want)
	}
	if string(res.Stderr) != "to-stderr\n" {
		t.Errorf("stderr %q, want %q", res.Stderr, "to-stderr\n")
	}
	if res.ExitCode != 3 || res.TimedOut || res.OOMKilled {
		t.Errorf("exit %d timed out %t oom %t, want 3, false, false", res.ExitCode, res.TimedOut, res.OOMKilled)
	}
	if want := []sandbox.Exit{{Dir: ".", Code: 3}}; !slices.Equal(res.Exits, want) {
		t.Errorf("exits %+v, want %+v", res.Exits, want)
	}
}

// workspaceRenameAttack: an emptyDir is created 0777; unless the init
// container gives the workspace to its owner, the sandbox user could
// rename or replace the workspace's top-level entries (say, a hidden
// test the go command has yet to compile) mid-run.
func (e *e2e) workspaceRenameAttack(t *testing.T) {
	ws := workspace(t, map[string]string{"hidden_test.go": "package p\n", "p.go": "package p\n"})
	script := `mv hidden_test.go gone.go 2>/dev/null && echo RENAMED
rm -f p.go 2>/dev/null && echo REMOVED
echo x > planted.go 2>/dev/null && echo PLANTED
ls /work
stat -c '%u:%g %a' /work /tmp`
	res, err := e.run(t, t.Context(), sandbox.Spec{Cmd: sh(script), Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("hidden_test.go\np.go\n%d:%d 755\n0:0 1777\n", 1001, 1001)
	if string(res.Stdout) != want {
		t.Errorf("stdout %q, want %q: the sandbox user changed the workspace, or its owners and modes differ from Docker's", res.Stdout, want)
	}
}

func (e *e2e) timeout(t *testing.T) {
	const limit = 5 * time.Second
	began := time.Now()
	res, err := e.run(t, t.Context(), sandbox.Spec{Cmd: sh("echo started; sleep 600"), Limits: sandbox.Limits{Timeout: limit}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.ExitCode != 137 || res.Exits != nil {
		t.Errorf("timed out %t, exit %d, exits %v; want true, 137, nil", res.TimedOut, res.ExitCode, res.Exits)
	}
	if res.Duration < limit || res.Duration > limit+20*time.Second {
		t.Errorf("duration %v, want about %v", res.Duration, limit)
	}
	if string(res.Stdout) != "started\n" {
		t.Errorf("stdout %q: output before the kill is lost", res.Stdout)
	}
	t.Logf("timeout %v: run returned after %v", limit, time.Since(began).Round(time.Millisecond))
}

func (e *e2e) oom(t *testing.T) {
	// tail keeps the "last line" of an endless stream without newlines.
	res, err := e.run(t, t.Context(), sandbox.Spec{Cmd: []string{"tail", "/dev/zero"}, Limits: sandbox.Limits{Memory: 64 << 20, Timeout: 2 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OOMKilled || res.ExitCode != 137 || res.TimedOut {
		t.Errorf("OOMKilled %v, exit %d, timed out %v; want true, 137, false", res.OOMKilled, res.ExitCode, res.TimedOut)
	}
}

// forkBomb: a Pod cannot set its own pids limit; the node's podPidsLimit
// bounds the bomb, the run ends, and the node stays Ready. The count is
// sampled until the bomb has clearly grown, or for 30 s on a slow host,
// reading files only: forking may fail once the limit is reached.
func (e *e2e) forkBomb(node string) func(*testing.T) {
	return func(t *testing.T) {
		script := `bomb() { bomb & bomb & }
(bomb) 2>/dev/null &
p=/sys/fs/cgroup/pids/pids.current; [ -r $p ] || p=/sys/fs/cgroup/pids.current
read up _ < /proc/uptime; end=$((${up%.*} + 30))
max=0
while :; do
	read n < $p; [ $n -gt $max ] && max=$n
	[ $max -ge 256 ] && break
	read up _ < /proc/uptime; [ ${up%.*} -ge $end ] && break
done
echo $max`
		res, err := e.run(t, t.Context(), sandbox.Spec{Cmd: sh(script), Limits: sandbox.Limits{Timeout: time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		var peak int
		if _, err := fmt.Sscan(string(res.Stdout), &peak); err != nil {
			t.Fatalf("stdout %q stderr %q exit %d: %v", res.Stdout, res.Stderr, res.ExitCode, err)
		}
		const nodeLimit = 1024 // the test cluster's podPidsLimit
		if peak < 32 || peak > nodeLimit {
			t.Errorf("peak pids %d, want the bomb stopped at the node's limit %d", peak, nodeLimit)
		}
		t.Logf("fork bomb peaked at %d processes (podPidsLimit %d) in %v", peak, nodeLimit, res.Duration)
		n, err := e.cs.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
				t.Errorf("node %s not Ready after the fork bomb: %s", node, c.Message)
			}
		}
	}
}

func (e *e2e) cancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		// Cancel once the command runs.
		for ctx.Err() == nil {
			pods, err := e.cs.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: LabelManaged + "=true"})
			if err == nil && len(pods.Items) == 1 && classify(&pods.Items[0], e.image).stage == stageRunning {
				time.Sleep(2 * time.Second)
				cancel()
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	_, err := e.run(t, ctx, sandbox.Spec{Cmd: []string{"sleep", "600"}, Limits: sandbox.Limits{Timeout: 5 * time.Minute}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel: %v, want context.Canceled", err)
	}
}

func (e *e2e) imageMissing(t *testing.T) {
	_, err := e.run(t, t.Context(), sandbox.Spec{Image: "cmcgrader-no-such-image:1", Cmd: []string{"true"}})
	if !errors.Is(err, sandbox.ErrImageNotFound) {
		t.Errorf("Run with an image the node lacks: %v, want ErrImageNotFound", err)
	}
}

// gc: a Job labelled as the grader's, from a process that is gone, is
// collected; one of this process is kept.
func (e *e2e) gc(t *testing.T) {
	ctx := t.Context()
	dead := owner.Owner{Host: owner.Hostname(), PID: 1 << 22, Start: 1}.String() // above pid_max: never alive
	mk := func(name, ownerValue string) {
		js := jobSpec{name: name, spec: sandbox.Spec{Image: e.image, Cmd: []string{"sleep", "600"}},
			lim: sandbox.Limits{CPUs: 0.1, Memory: 64 << 20}.WithDefaults(), annotations: map[string]string{AnnotationOwner: ownerValue},
			pull: corev1.PullNever, ttl: time.Minute}
		if _, err := e.cs.BatchV1().Jobs(e.ns).Create(ctx, buildJob(js), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("cmcgrader-leftover", dead)
	mk("cmcgrader-live", e.b.owner)
	n, err := e.b.GC(ctx)
	if err != nil || n < 1 {
		t.Errorf("GC = %d, %v; want the leftover removed", n, err)
	}
	if _, err := e.cs.BatchV1().Jobs(e.ns).Get(ctx, "cmcgrader-live", metav1.GetOptions{}); err != nil {
		t.Errorf("GC removed the Job of a live grader: %v", err)
	}
	waitGone(t, e.cs, e.ns, "cmcgrader-leftover")
	if n, err := e.b.RemoveOwn(ctx); err != nil || n < 1 {
		t.Errorf("RemoveOwn = %d, %v; want this process's Job removed", n, err)
	}
	waitGone(t, e.cs, e.ns, "cmcgrader-live")
	e.assertNoLeftovers(t)
}

// waitGone waits up to a minute for the Job name to be gone.
func waitGone(t *testing.T, cs kubernetes.Interface, ns, name string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := cs.BatchV1().Jobs(ns).Get(t.Context(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still there a minute after its removal (%v)", name, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// sameAsDocker runs the same Specs through the Docker backend and this
// one: a plain command, and a driver run of go test whose test binaries
// run as users of their own. Exit code, stdout (timings aside) and the
// supervisor's exits must agree.
func (e *e2e) sameAsDocker(t *testing.T) {
	d, err := docker.New(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	files := map[string]string{
		"go.mod":        "module example.com/m\n\ngo 1.26\n",
		"m.go":          "package m\n\nfunc Add(a, b int) int { return a + b }\n",
		"m_test.go":     "package m\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal(\"add\")\n\t}\n}\n\nfunc TestFails(t *testing.T) { t.Fatal(\"wanted failure\") }\n",
		"sub/s.go":      "package sub\n",
		"sub/s_test.go": "package sub\n\nimport \"testing\"\n\nfunc TestSub(t *testing.T) {}\n",
	}
	specs := map[string]sandbox.Spec{
		"plain": {Cmd: sh(`cat m.go; ls -R; echo err >&2; exit 7`)},
		"go test driver": {Cmd: []string{"go", "test", "-count=1", "-exec=" + sandbox.ExecHelper, "./..."}, Driver: true,
			Limits: sandbox.Limits{Memory: 1 << 30, CPUs: 1, TmpBytes: 512 << 20, Timeout: 5 * time.Minute}},
	}
	timing := regexp.MustCompile(`[0-9]+\.[0-9]+s`)
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			spec.Image = e.image
			spec.Workspace = workspace(t, files)
			kres, kerr := e.run(t, t.Context(), spec)
			spec.Workspace = workspace(t, files)
			spec.Limits = withE2EDefaults(spec.Limits)
			began := time.Now()
			dres, derr := d.Run(t.Context(), spec)
			t.Logf("docker run took %v (command %v)", time.Since(began).Round(time.Millisecond), dres.Duration.Round(time.Millisecond))
			if kerr != nil || derr != nil {
				t.Fatalf("kubernetes: %v; docker: %v", kerr, derr)
			}
			if kres.ExitCode != dres.ExitCode {
				t.Errorf("exit code: kubernetes %d, docker %d", kres.ExitCode, dres.ExitCode)
			}
			ko, do := timing.ReplaceAllString(string(kres.Stdout), "Ns"), timing.ReplaceAllString(string(dres.Stdout), "Ns")
			if ko != do {
				t.Errorf("stdout differs:\nkubernetes: %q\ndocker:     %q", ko, do)
			}
			if !slices.Equal(sortedExits(kres.Exits), sortedExits(dres.Exits)) {
				t.Errorf("exits: kubernetes %+v, docker %+v", kres.Exits, dres.Exits)
			}
			if len(kres.Exits) == 0 {
				t.Errorf("no exits reported: %q", kres.Stderr)
			}
		})
	}
}

// withE2EDefaults gives l the limits e.run gives a Spec, for Docker.
func withE2EDefaults(l sandbox.Limits) sandbox.Limits {
	if l.CPUs == 0 {
		l.CPUs = 0.5
	}
	if l.Memory == 0 {
		l.Memory = 512 << 20
	}
	if l.TmpBytes == 0 {
		l.TmpBytes = 256 << 20
	}
	return l
}

// sortedExits orders exits by folder: test binaries run at once end in
// any order.
func sortedExits(x []sandbox.Exit) []sandbox.Exit {
	out := slices.Clone(x)
	slices.SortFunc(out, func(a, b sandbox.Exit) int {
		return strings.Compare(a.Dir+fmt.Sprint(a.Code), b.Dir+fmt.Sprint(b.Code))
	})
	return out
}
