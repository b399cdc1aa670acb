package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func namespace(labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "grading", Labels: labels}}
}

func node(name string) *corev1.Node { return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}} }

// testBackend returns a backend on a fake clientset holding objs, and
// the hook that records its log.
func testBackend(t *testing.T, objs ...runtime.Object) (*Backend, *fake.Clientset, *logtest.Hook) {
	t.Helper()
	l, hook := logtest.NewNullLogger()
	cs := fake.NewClientset(objs...)
	b, err := newBackend(cs, "grading", Config{}, logrus.NewEntry(l))
	if err != nil {
		t.Fatal(err)
	}
	return b, cs, hook
}

// configz answers with the kubelet configuration body, or err.
func configz(body string, err error) configzFunc {
	return func(context.Context, string) ([]byte, error) { return []byte(body), err }
}

func TestCheck(t *testing.T) {
	const fix = "pod-security.kubernetes.io/enforce=baseline"
	good := map[string]string{psaEnforce: "baseline", psaWarn: "restricted", psaAudit: "restricted"}
	tests := []struct {
		name     string
		labels   map[string]string
		configz  configzFunc
		noNodes  bool
		errHas   []string // empty: no error
		warnHas  []string // every one must be logged as a warning
		warnings int      // how many warnings, when no error
	}{
		{name: "baseline, limit below", labels: good, configz: configz(`{"kubeletconfig":{"podPidsLimit":256}}`, nil)},
		{name: "baseline, limit equal", labels: good, configz: configz(`{"kubeletconfig":{"podPidsLimit":512}}`, nil)},
		{name: "no enforce label", labels: nil, configz: configz(`{}`, nil), errHas: []string{"namespace grading does not enforce Pod Security", fix}},
		{name: "restricted", labels: map[string]string{psaEnforce: "restricted"}, errHas: []string{"enforces Pod Security restricted", "CAP_SETUID", "SECURITY.md", fix}},
		{name: "privileged", labels: map[string]string{psaEnforce: "privileged"}, errHas: []string{"privileged", fix}},
		{name: "unknown level", labels: map[string]string{psaEnforce: "strict"}, errHas: []string{`"strict"`, fix}},
		{name: "baseline without warn/audit", labels: map[string]string{psaEnforce: "baseline"}, configz: configz(`{"kubeletconfig":{"podPidsLimit":512}}`, nil),
			warnHas: []string{psaWarn + "=restricted", psaAudit + "=restricted"}, warnings: 2},
		{name: "pids unset", labels: good, configz: configz(`{"kubeletconfig":{"maxPods":110}}`, nil), errHas: []string{"node n1 sets no podPidsLimit", "podPidsLimit: 512"}},
		{name: "pids -1", labels: good, configz: configz(`{"kubeletconfig":{"podPidsLimit":-1}}`, nil), errHas: []string{"sets no podPidsLimit"}},
		{name: "pids above", labels: good, configz: configz(`{"kubeletconfig":{"podPidsLimit":4096}}`, nil), warnHas: []string{"podPidsLimit 4096 is above the runs' limit of 512"}, warnings: 1},
		{name: "configz forbidden", labels: good, configz: configz("", errors.New(`nodes "n1" is forbidden`)), warnHas: []string{"cannot read the kubelet configuration", "nodes/proxy get", "forbidden"}, warnings: 1},
		{name: "configz garbage", labels: good, configz: configz("<html>", nil), warnHas: []string{"unreadable kubelet configuration"}, warnings: 1},
		{name: "nodes not listable", labels: good, noNodes: true, warnHas: []string{"cannot list the nodes", "nodes list"}, warnings: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, cs, hook := testBackend(t, namespace(tt.labels), node("n1"))
			if tt.noNodes {
				cs.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, errors.New(`nodes is forbidden: User "grader" cannot list resource "nodes"`)
				})
			}
			err := b.Check(context.Background(), 0, tt.configz)
			if len(tt.errHas) > 0 {
				if err == nil {
					t.Fatal("Check passed, want an error")
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			var warns []string
			for _, e := range hook.AllEntries() {
				if e.Level == logrus.WarnLevel {
					warns = append(warns, e.Message)
				}
			}
			if len(warns) != tt.warnings {
				t.Errorf("%d warnings, want %d: %q", len(warns), tt.warnings, warns)
			}
			all := strings.Join(warns, "\n")
			for _, s := range tt.warnHas {
				if !strings.Contains(all, s) {
					t.Errorf("warnings %q do not say %q", all, s)
				}
			}
		})
	}
}

func TestCheckNetworkPolicyOnce(t *testing.T) {
	b, cs, _ := testBackend(t, namespace(map[string]string{psaEnforce: "baseline", psaWarn: "restricted", psaAudit: "restricted"}))
	ok := configz(`{"kubeletconfig":{"podPidsLimit":512}}`, nil)
	for i := range 3 {
		if err := b.Check(context.Background(), 0, ok); err != nil {
			t.Fatalf("Check %d: %v", i, err)
		}
	}
	creates := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == "create" && a.GetResource().Resource == "networkpolicies" {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("NetworkPolicy created %d times, want once", creates)
	}
	np, err := cs.NetworkingV1().NetworkPolicies("grading").Get(context.Background(), NetworkPolicyName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if np.Spec.PodSelector.MatchLabels[LabelManaged] != "true" || len(np.Spec.Ingress) != 0 || len(np.Spec.Egress) != 0 ||
		len(np.Spec.PolicyTypes) != 2 {
		t.Errorf("NetworkPolicy %+v: want both directions denied for the managed Pods", np.Spec)
	}
}

func TestCheckAPIDown(t *testing.T) {
	b, cs, _ := testBackend(t)
	cs.PrependReactor("get", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, &netErr{}
	})
	err := b.Check(context.Background(), 0, configz("", nil))
	if !errors.Is(err, ErrAPI) {
		t.Errorf("Check on a server that does not answer: %v, want ErrAPI", err)
	}
}
