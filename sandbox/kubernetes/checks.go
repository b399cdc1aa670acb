package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// configzFunc reads a node's kubelet configuration as the API server's
// node proxy serves it (/api/v1/nodes/NODE/proxy/configz).
type configzFunc func(ctx context.Context, node string) ([]byte, error)

// configzReader reads configz through cs.
func configzReader(cs kubernetes.Interface) configzFunc {
	return func(ctx context.Context, node string) ([]byte, error) {
		return cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy", "configz").DoRaw(ctx)
	}
}

// Check runs the start checks of the cluster, and fails when the
// sandboxes would be weaker than on Docker:
//
//   - the namespace must enforce Pod Security "baseline" (not nothing,
//     not "restricted", which forbids the supervisor; see SECURITY.md);
//   - the default-deny NetworkPolicy of the sandboxes is created when
//     absent (the cluster's network plugin must enforce it);
//   - every node must set podPidsLimit (a Pod cannot set its own
//     process limit): unset fails, above pids is reported, unreadable
//     (RBAC) is reported.
//
// What it merely reports goes to the log as warnings.
func (b *Backend) Check(ctx context.Context, pids int64, configz configzFunc) error {
	ns, err := b.cs.CoreV1().Namespaces().Get(ctx, b.ns, metaGet)
	if err != nil {
		return b.apiErr("check namespace "+b.ns, err)
	}
	warns, err := checkNamespace(ns)
	if err != nil {
		return err
	}
	b.warn(warns)
	if err := b.ensureNetworkPolicy(ctx); err != nil {
		return err
	}
	if pids <= 0 {
		pids = sandbox.DefaultLimits.Pids
	}
	warns, err = b.checkPids(ctx, pids, configz)
	if err != nil {
		return err
	}
	b.warn(warns)
	return nil
}

func (b *Backend) warn(msgs []string) {
	for _, m := range msgs {
		b.log.Warn(m)
	}
}

// checkNamespace checks the namespace's Pod Security labels: it must
// enforce baseline, and should warn and audit restricted.
func checkNamespace(ns *corev1.Namespace) (warnings []string, err error) {
	const fix = "label it " + psaEnforce + "=baseline"
	switch lvl := ns.Labels[psaEnforce]; lvl {
	case "baseline":
	case "":
		return nil, fmt.Errorf("namespace %s does not enforce Pod Security; %s", ns.Name, fix)
	case "restricted":
		return nil, fmt.Errorf("namespace %s enforces Pod Security restricted, which forbids the sandbox's supervisor: it starts as root in the container with CAP_SETUID, CAP_SETGID and CAP_SETPCAP, which it needs to run candidate code and each test binary as users of their own, so that candidate code cannot forge results (see SECURITY.md); %s", ns.Name, fix)
	case "privileged":
		return nil, fmt.Errorf("namespace %s enforces Pod Security privileged, which allows any Pod; %s", ns.Name, fix)
	default:
		return nil, fmt.Errorf("namespace %s: unknown Pod Security level %q; %s", ns.Name, lvl, fix)
	}
	for _, l := range []string{psaWarn, psaAudit} {
		if ns.Labels[l] != "restricted" {
			warnings = append(warnings, fmt.Sprintf("namespace %s: label it %s=restricted, so that what a sandbox Pod holds beyond restricted is reported", ns.Name, l))
		}
	}
	return warnings, nil
}

// networkPolicy denies all ingress and egress of the sandboxes' Pods.
func networkPolicy() *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: NetworkPolicyName, Labels: map[string]string{LabelManaged: "true"}},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{LabelManaged: "true"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		},
	}
}

// ensureNetworkPolicy creates the default-deny NetworkPolicy when the
// namespace has none of that name.
func (b *Backend) ensureNetworkPolicy(ctx context.Context) error {
	nps := b.cs.NetworkingV1().NetworkPolicies(b.ns)
	_, err := nps.Get(ctx, NetworkPolicyName, metaGet)
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return b.apiErr("get NetworkPolicy "+NetworkPolicyName, err)
	}
	_, err = nps.Create(ctx, networkPolicy(), metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return b.apiErr("create NetworkPolicy "+NetworkPolicyName, err)
	}
	b.log.WithField("namespace", b.ns).WithField("networkpolicy", NetworkPolicyName).
		Info("created the sandboxes' default-deny NetworkPolicy (the cluster's network plugin must enforce NetworkPolicies)")
	return nil
}

// kubeletConfigz is the part of a configz answer the check reads.
type kubeletConfigz struct {
	KubeletConfig *struct {
		PodPidsLimit *int64 `json:"podPidsLimit"`
	} `json:"kubeletconfig"`
}

// checkPids reads every node's podPidsLimit. A node without one fails
// the check; one above pids, or one that cannot be read, is reported.
func (b *Backend) checkPids(ctx context.Context, pids int64, configz configzFunc) (warnings []string, err error) {
	nodes, err := b.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		if unreachable(err) {
			return nil, b.apiErr("list nodes", err)
		}
		return []string{fmt.Sprintf("cannot list the nodes to check their podPidsLimit (%v; RBAC: nodes list, nodes/proxy get): make sure every node's kubelet sets podPidsLimit at most %d", err, pids)}, nil
	}
	for _, n := range nodes.Items {
		w, err := nodePids(ctx, n.Name, pids, configz)
		if err != nil {
			return nil, err
		}
		if w != "" {
			warnings = append(warnings, w)
		}
	}
	return warnings, nil
}

// nodePids checks one node's podPidsLimit against pids.
func nodePids(ctx context.Context, node string, pids int64, configz configzFunc) (warning string, err error) {
	raw, err := configz(ctx, node)
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		err = fmt.Errorf("%w (HTTP %d)", err, st.Status().Code)
	}
	if err != nil {
		return fmt.Sprintf("node %s: cannot read the kubelet configuration (GET /api/v1/nodes/%s/proxy/configz: %v; RBAC: nodes/proxy get): make sure its podPidsLimit is set, at most %d", node, node, err, pids), nil
	}
	var cz kubeletConfigz
	if err := json.Unmarshal(raw, &cz); err != nil || cz.KubeletConfig == nil {
		return fmt.Sprintf("node %s: unreadable kubelet configuration from configz: make sure its podPidsLimit is set, at most %d", node, pids), nil
	}
	lim := cz.KubeletConfig.PodPidsLimit
	switch {
	case lim == nil || *lim <= 0:
		return "", fmt.Errorf("node %s sets no podPidsLimit: a sandbox could start processes until the node has none left (a fork bomb); set podPidsLimit: %d in its kubelet configuration", node, pids)
	case *lim > pids:
		return fmt.Sprintf("node %s: podPidsLimit %d is above the runs' limit of %d processes: sandboxes there may start up to %d", node, *lim, pids, *lim), nil
	}
	return "", nil
}
