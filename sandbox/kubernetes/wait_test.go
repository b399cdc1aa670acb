package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

func TestWaitRunning(t *testing.T) {
	unschedulable := podWith(corev1.PodPending, corev1.ContainerState{})
	unschedulable.Status.ContainerStatuses = nil
	unschedulable.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Insufficient cpu."}}
	tests := []struct {
		name   string
		pod    *corev1.Pod // nil: none appears
		errIs  error
		errHas string
	}{
		{name: "running", pod: podWith(corev1.PodRunning, corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})},
		{name: "already exited", pod: podWith(corev1.PodFailed, exited(125, "Error"))},
		{name: "image missing", pod: podWith(corev1.PodPending, waiting("ErrImageNeverPull")), errIs: sandbox.ErrImageNotFound, errHas: "img:1"},
		{name: "unschedulable", pod: unschedulable, errHas: "not scheduled within 300ms: no node can take the Pod: 0/1 nodes are available: 1 Insufficient cpu. (free or add nodes"},
		{name: "never starts", errHas: "its Pod did not start within 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, cs, _ := testBackend(t)
			b.sched = 300 * time.Millisecond
			if tt.pod != nil {
				tt.pod.Name, tt.pod.Namespace = "cmcgrader-j-abcde", "grading"
				tt.pod.Labels = map[string]string{LabelRun: "cmcgrader-j", LabelManaged: "true"}
				if _, err := cs.CoreV1().Pods("grading").Create(context.Background(), tt.pod, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			pod, err := b.waitRunning(context.Background(), "cmcgrader-j", "img:1")
			if tt.errIs == nil && tt.errHas == "" {
				if err != nil || pod != "cmcgrader-j-abcde" {
					t.Fatalf("waitRunning = %q, %v", pod, err)
				}
				return
			}
			if err == nil {
				t.Fatal("waitRunning passed, want an error")
			}
			if tt.errIs != nil && !errors.Is(err, tt.errIs) {
				t.Errorf("error %v does not wrap %v", err, tt.errIs)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not say %q", err, tt.errHas)
			}
		})
	}
}

func TestWaitRunningCancelled(t *testing.T) {
	b, _, _ := testBackend(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := b.waitRunning(ctx, "cmcgrader-j", "img:1")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("waitRunning after cancel: %v, want context.Canceled", err)
	}
}

func TestAPIErr(t *testing.T) {
	b, _, _ := testBackend(t)
	tests := []struct {
		name string
		err  error
		down bool
	}{
		{"connection refused", &netErr{}, true},
		{"errno", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"cut", io.ErrUnexpectedEOF, true},
		{"not found", apierrors.NewNotFound(schema.GroupResource{Resource: "jobs"}, "x"), false},
		{"forbidden", apierrors.NewForbidden(schema.GroupResource{Resource: "jobs"}, "x", errors.New("rbac")), false},
		{"server busy", apierrors.NewServiceUnavailable("later"), false},
		{"cancelled", context.Canceled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.apiErr("create job", tt.err)
			if errors.Is(err, sandbox.ErrBackendDown) != tt.down || errors.Is(err, ErrAPI) != tt.down {
				t.Errorf("apiErr(%v) = %v; backend down %t, want %t", tt.err, err, errors.Is(err, sandbox.ErrBackendDown), tt.down)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("apiErr(%v) = %v, does not wrap the cause", tt.err, err)
			}
		})
	}
}
