package kubernetes

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/sandbox/internal/protocol"
)

func TestBuildJob(t *testing.T) {
	tests := []struct {
		name    string
		spec    sandbox.Spec
		pull    corev1.PullPolicy
		runtime string // want RuntimeClassName, "" for none
		args    []string
	}{
		{
			name: "defaults",
			spec: sandbox.Spec{Image: "img:1", Cmd: []string{"go", "test", "./..."}},
			pull: corev1.PullNever,
			args: []string{"--", "go", "test", "./..."},
		},
		{
			name: "limits, runtime and driver",
			spec: sandbox.Spec{
				Image: "reg.example/img@sha256:ab", Cmd: []string{"go", "test"}, Runtime: "gvisor", Driver: true, Stdin: "in",
				Limits: sandbox.Limits{Timeout: 90 * time.Second, Memory: 256 << 20, CPUs: 1.5, WorkspaceBytes: 64 << 20, TmpBytes: 128 << 20},
			},
			pull:    corev1.PullIfNotPresent,
			runtime: "gvisor",
			args:    []string{"--driver", "--stdin", "in", "--", "go", "test"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := tt.spec.Limits.WithDefaults()
			env, err := protocol.Env([]string{"X=1"})
			if err != nil {
				t.Fatal(err)
			}
			job := buildJob(jobSpec{name: "cmcgrader-x", spec: tt.spec, lim: lim, env: env,
				annotations: map[string]string{AnnotationOwner: "h/1/2", "dev.cmcgrader.task": "a/b"}, pull: tt.pull, ttl: 10 * time.Minute})
			checkJob(t, job.Spec.BackoffLimit != nil && *job.Spec.BackoffLimit == 0, "backoffLimit 0")
			deadline := int64((lim.Timeout + startSlack) / time.Second)
			checkJob(t, *job.Spec.ActiveDeadlineSeconds == deadline, "job activeDeadlineSeconds %d", deadline)
			checkJob(t, *job.Spec.TTLSecondsAfterFinished == 600, "ttlSecondsAfterFinished 600")
			for _, l := range []map[string]string{job.Labels, job.Spec.Template.Labels} {
				checkJob(t, l[LabelManaged] == "true" && l[LabelRun] == "cmcgrader-x", "labels managed and run: %v", l)
			}
			for _, a := range []map[string]string{job.Annotations, job.Spec.Template.Annotations} {
				checkJob(t, a[AnnotationOwner] == "h/1/2" && a["dev.cmcgrader.task"] == "a/b", "owner and spec labels as annotations: %v", a)
			}

			ps := job.Spec.Template.Spec
			checkJob(t, ps.RestartPolicy == corev1.RestartPolicyNever, "restartPolicy Never")
			checkJob(t, *ps.ShareProcessNamespace, "shareProcessNamespace")
			checkJob(t, !*ps.AutomountServiceAccountToken, "no service account token")
			checkJob(t, !*ps.EnableServiceLinks, "no service links")
			checkJob(t, !ps.HostNetwork && !ps.HostPID && !ps.HostIPC, "no host namespaces")
			checkJob(t, *ps.ActiveDeadlineSeconds == deadline, "pod activeDeadlineSeconds")
			checkJob(t, *ps.TerminationGracePeriodSeconds == 0, "no grace period")
			checkJob(t, ps.SecurityContext.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault, "pod seccomp RuntimeDefault")
			if tt.runtime == "" {
				checkJob(t, ps.RuntimeClassName == nil, "no runtimeClassName")
			} else {
				checkJob(t, ps.RuntimeClassName != nil && *ps.RuntimeClassName == tt.runtime, "runtimeClassName %s", tt.runtime)
			}
			checkVolume(t, ps.Volumes, workVolume, lim.WorkspaceBytes)
			checkVolume(t, ps.Volumes, tmpVolume, lim.TmpBytes)

			checkJob(t, len(ps.Containers) == 1 && len(ps.InitContainers) == 1, "one container, one init container")
			c := ps.Containers[0]
			checkJob(t, c.Name == containerName && c.Image == tt.spec.Image && c.ImagePullPolicy == tt.pull, "container image and pull policy")
			checkJob(t, slices.Equal(c.Command, protocol.Entrypoint()), "supervisor entrypoint")
			checkJob(t, slices.Equal(c.Args, tt.args), "args %q, got %q", tt.args, c.Args)
			checkJob(t, c.WorkingDir == sandbox.Workdir, "workdir")
			checkJob(t, c.Stdin && c.StdinOnce && !c.TTY, "stdin, stdinOnce, no tty")
			checkJob(t, slices.Contains(c.Env, corev1.EnvVar{Name: "X", Value: "1"}) && slices.Contains(c.Env, corev1.EnvVar{Name: "GOPROXY", Value: "off"}), "env %v", c.Env)
			checkSecurity(t, c.SecurityContext, "SETGID", "SETPCAP", "SETUID")
			checkResources(t, c.Resources, lim)
			checkMounts(t, c.VolumeMounts)

			ic := ps.InitContainers[0]
			checkJob(t, ic.Image == tt.spec.Image && ic.ImagePullPolicy == tt.pull, "init image")
			checkJob(t, slices.Equal(ic.Command, []string{"/bin/sh", "-c", "chown 1001:1001 /work && chmod 0755 /work && chmod 1777 /tmp"}), "init command %q", ic.Command)
			checkSecurity(t, ic.SecurityContext, "CHOWN", "FOWNER")
			checkResources(t, ic.Resources, lim)
			checkMounts(t, ic.VolumeMounts)
		})
	}
}

func checkJob(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf("want "+format, args...)
	}
}

func checkSecurity(t *testing.T, sc *corev1.SecurityContext, add ...string) {
	t.Helper()
	var got []string
	for _, c := range sc.Capabilities.Add {
		got = append(got, string(c))
	}
	slices.Sort(got)
	checkJob(t, slices.Equal(got, add), "capabilities added %v, got %v", add, got)
	checkJob(t, slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}), "drop ALL")
	checkJob(t, *sc.RunAsUser == 0 && *sc.RunAsGroup == 0 && !*sc.RunAsNonRoot, "root in the container")
	checkJob(t, !*sc.Privileged && !*sc.AllowPrivilegeEscalation, "no privilege, no escalation")
	checkJob(t, *sc.ReadOnlyRootFilesystem, "read-only root")
	checkJob(t, sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault, "seccomp RuntimeDefault")
}

func checkResources(t *testing.T, r corev1.ResourceRequirements, lim sandbox.Limits) {
	t.Helper()
	mem := resource.NewQuantity(lim.Memory, resource.BinarySI)
	cpu := resource.NewMilliQuantity(int64(lim.CPUs*1000), resource.DecimalSI)
	for _, l := range []corev1.ResourceList{r.Limits, r.Requests} {
		checkJob(t, l.Memory().Equal(*mem), "memory %v, got %v", mem, l.Memory())
		checkJob(t, l.Cpu().Equal(*cpu), "cpu %v, got %v", cpu, l.Cpu())
	}
}

func checkVolume(t *testing.T, vols []corev1.Volume, name string, size int64) {
	t.Helper()
	for _, v := range vols {
		if v.Name == name {
			ed := v.EmptyDir
			checkJob(t, ed != nil && ed.Medium == corev1.StorageMediumMemory && ed.SizeLimit.Value() == size, "volume %s: memory emptyDir of %d bytes", name, size)
			return
		}
	}
	t.Errorf("no volume %s", name)
}

func checkMounts(t *testing.T, m []corev1.VolumeMount) {
	t.Helper()
	var got []string
	for _, vm := range m {
		got = append(got, vm.Name+"="+vm.MountPath)
		checkJob(t, !vm.ReadOnly, "mount %s writable", vm.Name)
	}
	want := []string{"work=/work", "tmp=/tmp"}
	checkJob(t, slices.Equal(got, want), "mounts %v, got %v", want, got)
	checkJob(t, strings.Contains(prepareScript, "/work"), "prepare script names /work")
}
