package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/sandbox/internal/owner"
)

// Labels and annotations the backend puts on every Job and Pod it creates.
// Label values cannot hold the owner's HOST/PID/START, so the owner is an
// annotation; Spec.Labels are annotations too (a task ID need not be a
// valid label value).
const (
	// LabelManaged marks a Job or Pod as the grader's; GC only looks at
	// these, and the default-deny NetworkPolicy selects them.
	LabelManaged = "dev.cmcgrader.managed"
	// LabelRun names the run (the Job's name) on the Job and its Pod.
	LabelRun = "dev.cmcgrader.run"
	// AnnotationOwner names the grader process that created the object,
	// as HOST/PID/START (see package sandbox/internal/owner).
	AnnotationOwner = "dev.cmcgrader.owner"
	// NetworkPolicyName is the default-deny NetworkPolicy New creates.
	NetworkPolicyName = "cmcgrader-sandbox-deny-all"
)

// Pod Security Admission labels of a namespace.
const (
	psaEnforce = "pod-security.kubernetes.io/enforce"
	psaWarn    = "pod-security.kubernetes.io/warn"
	psaAudit   = "pod-security.kubernetes.io/audit"
)

// ErrAPI means the Kubernetes API server could not be reached. It is
// wrapped with context by the functions that return it, and matches
// sandbox.ErrBackendDown.
var ErrAPI error = apiDown{}

type apiDown struct{}

func (apiDown) Error() string { return "kubernetes API server unreachable" }
func (apiDown) Unwrap() error { return sandbox.ErrBackendDown }

// Config says which cluster and namespace the backend runs sandboxes in.
type Config struct {
	// Kubeconfig is the kubeconfig file. Empty means $KUBECONFIG, else
	// ~/.kube/config, else the in-cluster configuration of a grader that
	// runs in a Pod.
	Kubeconfig string
	// Namespace is where Jobs run. Empty means the kubeconfig context's
	// namespace (or the Pod's own, in-cluster), else "default".
	Namespace string
	// Pids is the runs' process limit, checked against the nodes'
	// podPidsLimit (a Pod cannot set its own). Zero means
	// sandbox.DefaultLimits.Pids.
	Pids int64
	// PullPolicy is the Pods' imagePullPolicy. Empty means Never: the
	// nodes already hold the images under the references runs name. Use
	// IfNotPresent for images pushed to a registry the nodes pull from.
	PullPolicy corev1.PullPolicy
	// TTL is how long a finished Job stays before the cluster removes it
	// (ttlSecondsAfterFinished), should the grader not remove it itself.
	// Zero means ten minutes.
	TTL time.Duration
	// ScheduleTimeout is how long a Pod may wait for a node with room
	// before the run fails. Zero means five minutes.
	ScheduleTimeout time.Duration
}

// Backend runs sandboxes as Jobs in one namespace. Safe for concurrent use.
type Backend struct {
	cs     kubernetes.Interface
	ns     string
	owner  string // value of AnnotationOwner for this process
	log    *logrus.Entry
	pull   corev1.PullPolicy
	ttl    time.Duration
	sched  time.Duration
	attach attachFunc                      // streams to a Pod's container
	ping   func(ctx context.Context) error // asks the API server whether it is ready
}

var _ sandbox.Runner = (*Backend)(nil)

// New connects to the cluster cfg names, runs the start checks (see
// Check) and returns the backend. A nil log discards messages.
func New(ctx context.Context, cfg Config, log *logrus.Entry) (*Backend, error) {
	restCfg, ns, err := loadConfig(cfg)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	b, err := newBackend(cs, ns, cfg, log)
	if err != nil {
		return nil, err
	}
	b.attach = attacher(restCfg, cs)
	b.ping = func(ctx context.Context) error {
		_, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	}
	if err := b.Check(ctx, cfg.Pids, configzReader(cs)); err != nil {
		return nil, err
	}
	return b, nil
}

// newBackend returns a backend on cs, without checks or attach.
func newBackend(cs kubernetes.Interface, ns string, cfg Config, log *logrus.Entry) (*Backend, error) {
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = logrus.NewEntry(l)
	}
	self, err := owner.Self()
	if err != nil {
		return nil, err
	}
	b := &Backend{cs: cs, ns: ns, owner: self, log: log, pull: cfg.PullPolicy, ttl: cfg.TTL, sched: cfg.ScheduleTimeout}
	if b.pull == "" {
		b.pull = corev1.PullNever
	}
	if b.ttl <= 0 {
		b.ttl = 10 * time.Minute
	}
	if b.sched <= 0 {
		b.sched = 5 * time.Minute
	}
	b.ping = func(context.Context) error { _, err := cs.Discovery().ServerVersion(); return err }
	return b, nil
}

// loadConfig reads the client configuration and the namespace of cfg.
func loadConfig(cfg Config) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if cfg.Kubeconfig != "" {
		rules.ExplicitPath = cfg.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	restCfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes configuration: %w (give --kubeconfig, set KUBECONFIG, or run in a Pod)", err)
	}
	ns := cfg.Namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, "", fmt.Errorf("kubernetes namespace: %w (give --namespace)", err)
		}
	}
	// Runs stream for minutes: no overall request timeout. Each run makes
	// a few requests of its own, and runs go at once: client-go's default
	// rate (5 a second) would hold them back.
	restCfg.Timeout = 0
	restCfg.QPS, restCfg.Burst = 50, 100
	// The API server warns at every Job that the Pod would break Pod
	// Security restricted (the warn label asked for it): that is known
	// (see SECURITY.md), not news for the grader's output.
	restCfg.WarningHandlerWithContext = rest.NoWarnings{}
	return restCfg, ns, nil
}

// Namespace is where the backend runs its Jobs.
func (b *Backend) Namespace() string { return b.ns }

// Annotations returns the annotations every Job and Pod the backend
// creates carries. The map is a fresh copy.
func (b *Backend) Annotations() map[string]string {
	return map[string]string{AnnotationOwner: b.owner}
}

// Ping checks that the API server answers now (a readiness probe).
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.ping(ctx); err != nil {
		return b.apiErr("ping", err)
	}
	return nil
}

// HasRuntime says whether the cluster has the RuntimeClass name (e.g.
// gvisor), which Spec.Runtime names.
func (b *Backend) HasRuntime(ctx context.Context, name string) (bool, error) {
	_, err := b.cs.NodeV1().RuntimeClasses().Get(ctx, name, metaGet)
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err):
		return false, nil
	}
	return false, b.apiErr("get RuntimeClass "+name, err)
}

// apiErr wraps err from the API server with op, adding ErrAPI when the
// server could not be reached (no answer at all, as opposed to an
// answer that says no).
func (b *Backend) apiErr(op string, err error) error {
	if unreachable(err) {
		return fmt.Errorf("%s: %w: %w", op, ErrAPI, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unreachable says whether err means no answer came from the server.
func unreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return false
	}
	var ue *url.Error
	var oe *net.OpError
	return errors.As(err, &ue) || errors.As(err, &oe) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// streamErr wraps err, the failure of a stream the API server served,
// with op; unless ctx was cancelled the server is asked whether it is
// ready, and ErrAPI is added when it does not answer.
func (b *Backend) streamErr(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil || unreachable(err) {
		return b.apiErr(op, err)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
	defer cancel()
	if perr := b.ping(pctx); unreachable(perr) {
		return fmt.Errorf("%s: %w: %w", op, ErrAPI, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// pingTimeout bounds the readiness question that tells a cut stream from
// a server that went away.
const pingTimeout = 5 * time.Second
