package kubernetes

import (
	"context"
	"net"
	"net/url"
	"os/exec"
	"slices"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cmcgrader/cmcgrader/sandbox/internal/owner"
)

// netErr is a connection refused, as client-go returns it.
type netErr struct{}

func (*netErr) Error() string { return "dial tcp 127.0.0.1:6443: connect: connection refused" }
func (*netErr) Unwrap() error {
	return &url.Error{Op: "Get", URL: "https://127.0.0.1:6443", Err: &net.OpError{Op: "dial", Net: "tcp"}}
}

func managedMeta(name, ownerValue string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: name, Namespace: "grading", Labels: map[string]string{LabelManaged: "true"}}
	if ownerValue != "-" {
		m.Annotations = map[string]string{AnnotationOwner: ownerValue}
	}
	return m
}

func TestGC(t *testing.T) {
	host := owner.Hostname()
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	childStart, err := owner.ProcessStart(child.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	live := owner.Owner{Host: host, PID: child.Process.Pid, Start: childStart}.String()
	dead := owner.Owner{Host: host, PID: gone.Process.Pid, Start: 1}.String()
	reused := owner.Owner{Host: host, PID: child.Process.Pid, Start: childStart + 1}.String()
	foreign := owner.Owner{Host: "other-host.invalid", PID: 1, Start: 1}.String()

	var objs []runtime.Object
	add := func(name, ownerValue string) {
		objs = append(objs, &batchv1.Job{ObjectMeta: managedMeta(name, ownerValue)}, &corev1.Pod{ObjectMeta: managedMeta(name+"-pod", ownerValue)})
	}
	add("live", live)
	add("dead", dead)
	add("reused", reused)
	add("foreign", foreign)
	add("malformed", "not-an-owner")
	add("missing", "-")
	// Not the grader's: never looked at.
	objs = append(objs, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "grading"}})
	b, cs, _ := testBackend(t, objs...)

	n, err := b.GC(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	jobs, _ := cs.BatchV1().Jobs("grading").List(ctx, metav1.ListOptions{})
	pods, _ := cs.CoreV1().Pods("grading").List(ctx, metav1.ListOptions{})
	var left []string
	for _, j := range jobs.Items {
		left = append(left, j.Name)
	}
	for _, p := range pods.Items {
		left = append(left, p.Name)
	}
	slices.Sort(left)
	want := []string{"foreign", "foreign-pod", "live", "live-pod", "other"}
	if !slices.Equal(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}
	if n != 8 {
		t.Errorf("GC removed %d, want 8 (4 Jobs, 4 Pods)", n)
	}

	// RemoveOwn takes this process's objects only.
	self := b.owner
	_, _ = cs.BatchV1().Jobs("grading").Create(ctx, &batchv1.Job{ObjectMeta: managedMeta("mine", self)}, metav1.CreateOptions{})
	if n, err := b.RemoveOwn(ctx); err != nil || n != 1 {
		t.Errorf("RemoveOwn = %d, %v; want 1, nil", n, err)
	}
	if n, err := b.GC(ctx); err != nil || n != 0 {
		t.Errorf("second GC = %d, %v; want 0, nil", n, err)
	}
}
