package kubernetes

import (
	"fmt"
	"maps"
	"math"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/sandbox/internal/protocol"
)

// Names inside a run's Pod.
const (
	// containerName runs the supervisor.
	containerName = "sandbox"
	// prepareName is the init container that gives /work and /tmp the
	// owners and modes the Docker backend gives them.
	prepareName = "prepare"
	workVolume  = "work"
	tmpVolume   = "tmp"
)

// prepareScript runs as root in the init container, holding only
// CAP_CHOWN and CAP_FOWNER: an emptyDir is created 0777, which would let
// the sandbox user rename or replace the workspace's top-level entries
// mid-run. The workspace belongs to protocol.WorkspaceOwner, mode 0755,
// and /tmp is 1777, as on Docker.
var prepareScript = fmt.Sprintf("chown %d:%d %s && chmod 0755 %s && chmod 1777 /tmp",
	protocol.WorkspaceOwner, protocol.WorkspaceOwner, sandbox.Workdir, sandbox.Workdir)

// startSlack is added to Limits.Timeout for the Job's and the Pod's
// activeDeadlineSeconds, which count from the Pod's start (scheduling and
// the init container included): they are the cluster's backstop should
// the grader be gone; the grader's own timer is the run's limit.
const startSlack = 2 * time.Minute

// jobSpec is what a run's Job is built from.
type jobSpec struct {
	name        string // the Job's name, also LabelRun's value
	spec        sandbox.Spec
	lim         sandbox.Limits // defaults applied
	env         []string       // protocol.Env(spec.Env)
	annotations map[string]string
	pull        corev1.PullPolicy
	ttl         time.Duration
}

// buildJob returns the Job of one run: one Pod, never restarted, that
// runs the supervisor with the hardening and the limits of js.
func buildJob(js jobSpec) *batchv1.Job {
	labels := map[string]string{LabelManaged: "true", LabelRun: js.name}
	deadline := int64(math.Ceil((js.lim.Timeout + startSlack).Seconds()))
	meta := metav1.ObjectMeta{Name: js.name, Labels: labels, Annotations: js.annotations}
	return &batchv1.Job{
		ObjectMeta: meta,
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr(int32(0)),
			Completions:             ptr(int32(1)),
			Parallelism:             ptr(int32(1)),
			ActiveDeadlineSeconds:   ptr(deadline),
			TTLSecondsAfterFinished: ptr(int32(js.ttl.Seconds())),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels), Annotations: maps.Clone(js.annotations)},
				Spec:       podSpec(js, deadline),
			},
		},
	}
}

// podSpec is the Pod of a run.
func podSpec(js jobSpec, deadline int64) corev1.PodSpec {
	ps := corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		// The pause process is the shared namespace's PID 1 and reaps
		// orphans, as Docker's --init does.
		ShareProcessNamespace:        ptr(true),
		AutomountServiceAccountToken: ptr(false),
		EnableServiceLinks:           ptr(false),
		HostNetwork:                  false,
		HostPID:                      false,
		HostIPC:                      false,
		ActiveDeadlineSeconds:        ptr(deadline),
		// The supervisor ignores SIGTERM (it outlives the command to
		// report on it): a deleted run is killed at once.
		TerminationGracePeriodSeconds: ptr(int64(0)),
		SecurityContext: &corev1.PodSecurityContext{
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Volumes: []corev1.Volume{
			memoryVolume(workVolume, js.lim.WorkspaceBytes),
			memoryVolume(tmpVolume, js.lim.TmpBytes),
		},
		InitContainers: []corev1.Container{prepareContainer(js)},
		Containers:     []corev1.Container{sandboxContainer(js)},
	}
	if js.spec.Runtime != "" {
		ps.RuntimeClassName = ptr(js.spec.Runtime)
	}
	return ps
}

// sandboxContainer runs the supervisor as root in the container with
// CAP_SETUID, CAP_SETGID and CAP_SETPCAP only, like the Docker backend;
// it reads the private files and the workspace on stdin.
func sandboxContainer(js jobSpec) corev1.Container {
	return corev1.Container{
		Name:            containerName,
		Image:           js.spec.Image,
		ImagePullPolicy: js.pull,
		Command:         protocol.Entrypoint(),
		Args:            protocol.Args(js.spec),
		WorkingDir:      sandbox.Workdir,
		Env:             envVars(js.env),
		Stdin:           true,
		StdinOnce:       true,
		TTY:             false,
		Resources:       resources(js.lim),
		VolumeMounts:    mounts(),
		SecurityContext: securityContext("SETUID", "SETGID", "SETPCAP"),
		// Candidate output goes through the attached streams only.
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
}

// prepareContainer sets the owners and modes of /work and /tmp before
// the supervisor starts (prepareScript), as root with CAP_CHOWN and
// CAP_FOWNER only.
func prepareContainer(js jobSpec) corev1.Container {
	return corev1.Container{
		Name:            prepareName,
		Image:           js.spec.Image,
		ImagePullPolicy: js.pull,
		Command:         []string{"/bin/sh", "-c", prepareScript},
		Resources:       resources(js.lim),
		VolumeMounts:    mounts(),
		SecurityContext: securityContext("CHOWN", "FOWNER"),
	}
}

// securityContext is root in the container with every capability dropped
// but add, no privilege escalation, a read-only root and RuntimeDefault
// seccomp.
func securityContext(add ...corev1.Capability) *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsUser:                ptr(int64(0)),
		RunAsGroup:               ptr(int64(0)),
		RunAsNonRoot:             ptr(false),
		Privileged:               ptr(false),
		AllowPrivilegeEscalation: ptr(false),
		ReadOnlyRootFilesystem:   ptr(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: add},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// resources are the run's memory and CPU, requested and limited alike
// (Guaranteed QoS: the scheduler places a run only where its limits fit).
func resources(lim sandbox.Limits) corev1.ResourceRequirements {
	rl := corev1.ResourceList{
		corev1.ResourceMemory: *resource.NewQuantity(lim.Memory, resource.BinarySI),
		corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(math.Ceil(lim.CPUs*1000)), resource.DecimalSI),
	}
	return corev1.ResourceRequirements{Limits: rl, Requests: rl.DeepCopy()}
}

// memoryVolume is a tmpfs emptyDir of size bytes.
func memoryVolume(name string, size int64) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
		Medium:    corev1.StorageMediumMemory,
		SizeLimit: resource.NewQuantity(size, resource.BinarySI),
	}}}
}

// mounts puts the workspace at sandbox.Workdir and the tmp volume at /tmp.
func mounts() []corev1.VolumeMount {
	return []corev1.VolumeMount{
		{Name: workVolume, MountPath: sandbox.Workdir},
		{Name: tmpVolume, MountPath: "/tmp"},
	}
}

// envVars turns KEY=VALUE pairs into the container's environment.
func envVars(env []string) []corev1.EnvVar {
	out := make([]corev1.EnvVar, 0, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, corev1.EnvVar{Name: k, Value: v})
	}
	return out
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
