package kubernetes

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// podWith returns a Pod of phase whose supervisor container is in state.
func podWith(phase corev1.PodPhase, state corev1.ContainerState) *corev1.Pod {
	p := &corev1.Pod{}
	p.Status.Phase = phase
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: state}}
	return p
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "msg of " + reason}}
}

func exited(code int32, reason string) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}
}

func TestClassifyAndResult(t *testing.T) {
	unschedulable := &corev1.Pod{}
	unschedulable.Status.Phase = corev1.PodPending
	unschedulable.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Insufficient memory."}}
	deadline := podWith(corev1.PodFailed, exited(137, "Error"))
	deadline.Status.Reason = "DeadlineExceeded"
	deadlineNoState := &corev1.Pod{}
	deadlineNoState.Status.Phase = corev1.PodFailed
	deadlineNoState.Status.Reason = "DeadlineExceeded"
	initFailed := podWith(corev1.PodPending, waiting("PodInitializing"))
	initFailed.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: prepareName, State: exited(1, "Error")}}
	initNoImage := podWith(corev1.PodPending, waiting("PodInitializing"))
	initNoImage.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: prepareName, State: waiting("ErrImageNeverPull")}}
	initDone := podWith(corev1.PodRunning, corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})
	initDone.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: prepareName, State: exited(0, "Completed")}}

	tests := []struct {
		name    string
		pod     *corev1.Pod
		stage   podStage
		errIs   error  // for stageFailed
		errHas  string // for stageFailed and stageUnschedulable
		code    int    // for stageExited
		oom     bool
		timeout bool
	}{
		{name: "pending", pod: podWith(corev1.PodPending, waiting("ContainerCreating")), stage: stageWaiting},
		{name: "no status yet", pod: &corev1.Pod{}, stage: stageWaiting},
		{name: "running", pod: initDone, stage: stageRunning},
		{name: "exit 0", pod: podWith(corev1.PodSucceeded, exited(0, "Completed")), stage: stageExited, code: 0},
		{name: "exit 1", pod: podWith(corev1.PodFailed, exited(1, "Error")), stage: stageExited, code: 1},
		{name: "setup failed", pod: podWith(corev1.PodFailed, exited(125, "Error")), stage: stageExited, code: 125},
		{name: "oom killed", pod: podWith(corev1.PodFailed, exited(137, "OOMKilled")), stage: stageExited, code: 137, oom: true},
		{name: "deadline exceeded", pod: deadline, stage: stageExited, code: 137, timeout: true},
		{name: "deadline exceeded, no state", pod: deadlineNoState, stage: stageExited, code: 137, timeout: true},
		{name: "never pull", pod: podWith(corev1.PodPending, waiting("ErrImageNeverPull")), stage: stageFailed, errIs: sandbox.ErrImageNotFound, errHas: "ctr -n k8s.io images import"},
		{name: "pull backoff", pod: podWith(corev1.PodPending, waiting("ImagePullBackOff")), stage: stageFailed, errIs: sandbox.ErrImageNotFound, errHas: "ImagePullBackOff"},
		{name: "pull error", pod: podWith(corev1.PodPending, waiting("ErrImagePull")), stage: stageFailed, errIs: sandbox.ErrImageNotFound},
		{name: "bad image name", pod: podWith(corev1.PodPending, waiting("InvalidImageName")), stage: stageFailed, errIs: sandbox.ErrImageNotFound},
		{name: "init image missing", pod: initNoImage, stage: stageFailed, errIs: sandbox.ErrImageNotFound, errHas: "container prepare"},
		{name: "init failed", pod: initFailed, stage: stageFailed, errHas: "init container prepare"},
		{name: "config error", pod: podWith(corev1.PodPending, waiting("CreateContainerConfigError")), stage: stageFailed, errHas: "cannot start"},
		{name: "unschedulable", pod: unschedulable, stage: stageUnschedulable, errHas: "Insufficient memory"},
		{name: "failed without state", pod: &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted"}}, stage: stageFailed, errHas: "Evicted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := classify(tt.pod, "img:1")
			if v.stage != tt.stage {
				t.Fatalf("stage %d, want %d (err %v)", v.stage, tt.stage, v.err)
			}
			if tt.errIs != nil && !errors.Is(v.err, tt.errIs) {
				t.Errorf("error %v, want it to wrap %v", v.err, tt.errIs)
			}
			if tt.errHas != "" && (v.err == nil || !strings.Contains(v.err.Error(), tt.errHas)) {
				t.Errorf("error %v, want it to say %q", v.err, tt.errHas)
			}
			if tt.errIs == nil && tt.errHas == "" && v.err != nil {
				t.Errorf("unexpected error %v", v.err)
			}
			if v.stage != stageExited {
				return
			}
			var res sandbox.Result
			applyExit(&res, v)
			if res.ExitCode != tt.code || res.OOMKilled != tt.oom || res.TimedOut != tt.timeout {
				t.Errorf("result exit %d oom %t timeout %t, want %d %t %t", res.ExitCode, res.OOMKilled, res.TimedOut, tt.code, tt.oom, tt.timeout)
			}
		})
	}
}

func TestApplyExitDeleted(t *testing.T) {
	// A Pod the grader deleted at its timeout has no terminated state.
	res := sandbox.Result{TimedOut: true}
	applyExit(&res, podView{stage: stageExited})
	if res.ExitCode != 137 || !res.TimedOut || res.OOMKilled {
		t.Errorf("got %+v, want exit 137, timed out", res)
	}
}
