package kubernetes

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// podStage is where a run's Pod is, as far as Run cares.
type podStage int

const (
	stageWaiting       podStage = iota // not yet running: wait
	stageUnschedulable                 // no node has room (yet): wait, up to ScheduleTimeout
	stageRunning                       // the supervisor runs: attach
	stageExited                        // the supervisor's container ended
	stageFailed                        // the Pod cannot run: error
)

// podView is what classify makes of a Pod.
type podView struct {
	stage podStage
	// exit is the supervisor's terminated state (stageExited).
	exit *corev1.ContainerStateTerminated
	// deadline says the Pod's activeDeadlineSeconds ended it.
	deadline bool
	// err is why the Pod cannot run (stageFailed); the scheduler's
	// message for stageUnschedulable.
	err error
}

// imageMissing are the reasons a container waits with when its image
// cannot be had.
var imageMissing = map[string]bool{
	"ErrImageNeverPull": true,
	"ImagePullBackOff":  true,
	"ErrImagePull":      true,
	"InvalidImageName":  true,
}

// cannotStart are the reasons a container waits with when the runtime
// refuses it; retrying does not help.
var cannotStart = map[string]bool{
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
	"StartError":                 true,
}

// classify says where pod is. image names the run's image for the hint
// of a missing image.
func classify(pod *corev1.Pod, image string) podView {
	if pod.Status.Reason == "DeadlineExceeded" {
		return podView{stage: stageExited, deadline: true, exit: terminated(pod.Status.ContainerStatuses)}
	}
	if v, ok := initView(pod, image); ok {
		return v
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name != containerName {
			continue
		}
		switch st := cs.State; {
		case st.Terminated != nil:
			return podView{stage: stageExited, exit: st.Terminated}
		case st.Running != nil:
			return podView{stage: stageRunning}
		case st.Waiting != nil:
			if v, ok := waitingView(cs.Name, st.Waiting, image); ok {
				return v
			}
		}
	}
	switch pod.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		return podView{stage: stageFailed, err: fmt.Errorf("the Pod ended before its sandbox started: phase %s, %s", pod.Status.Phase, statusText(pod))}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return podView{stage: stageUnschedulable, err: fmt.Errorf("no node can take the Pod: %s", c.Message)}
		}
	}
	return podView{stage: stageWaiting}
}

// initView classifies the init container's failures.
func initView(pod *corev1.Pod, image string) (podView, bool) {
	for _, cs := range pod.Status.InitContainerStatuses {
		st := cs.State
		if st.Waiting != nil {
			if v, ok := waitingView(cs.Name, st.Waiting, image); ok {
				return v, true
			}
		}
		if t := st.Terminated; t != nil && t.ExitCode != 0 {
			return podView{stage: stageFailed, err: fmt.Errorf("init container %s (sets the owners of %s and /tmp) exited %d: %s %s",
				cs.Name, sandbox.Workdir, t.ExitCode, t.Reason, strings.TrimSpace(t.Message))}, true
		}
	}
	return podView{}, false
}

// waitingView classifies a waiting container: a missing image or a
// container the runtime refuses ends the run; other reasons wait.
func waitingView(name string, w *corev1.ContainerStateWaiting, image string) (podView, bool) {
	switch {
	case imageMissing[w.Reason]:
		return podView{stage: stageFailed, err: fmt.Errorf("container %s: image %s: %s: %s: %w (load it into the nodes' container runtime, e.g. docker save %s | ctr -n k8s.io images import -, or push it with --image-registry)",
			name, image, w.Reason, strings.TrimSpace(w.Message), sandbox.ErrImageNotFound, image)}, true
	case cannotStart[w.Reason]:
		return podView{stage: stageFailed, err: fmt.Errorf("container %s cannot start: %s: %s", name, w.Reason, strings.TrimSpace(w.Message))}, true
	}
	return podView{}, false
}

// terminated returns the supervisor's terminated state, if any.
func terminated(statuses []corev1.ContainerStatus) *corev1.ContainerStateTerminated {
	for _, cs := range statuses {
		if cs.Name == containerName && cs.State.Terminated != nil {
			return cs.State.Terminated
		}
	}
	return nil
}

// statusText sums up a Pod's status for an error message.
func statusText(pod *corev1.Pod) string {
	s := pod.Status.Reason
	if m := strings.TrimSpace(pod.Status.Message); m != "" {
		s += ": " + m
	}
	if s == "" {
		s = "no reason given"
	}
	return s
}

// applyExit sets the exit code, the OOM kill and the timeout of res from
// how the Pod ended (v). A Pod killed by its deadline is timed out; a
// container the grader deleted has no state: 137, as a killed one.
func applyExit(res *sandbox.Result, v podView) {
	if v.deadline {
		res.TimedOut = true
	}
	if v.exit == nil {
		res.ExitCode = 137
		return
	}
	res.ExitCode = int(v.exit.ExitCode)
	res.OOMKilled = v.exit.Reason == "OOMKilled"
}
