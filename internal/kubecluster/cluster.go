package kubecluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// Options configure Start.
type Options struct {
	// CacheDir is where the built Kubernetes binaries are kept; empty
	// means os.UserCacheDir()/cmcgrader/kube.
	CacheDir string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Cluster is a running single-node cluster. Stop ends it.
type Cluster struct {
	// Kubeconfig is the path of a kubeconfig with cluster-admin rights
	// (client certificate in group system:masters).
	Kubeconfig string
	// Node is the name of the one node.
	Node string

	layout  layout
	bins    binaries
	log     io.Writer
	procs   []*process // in start order
	sysctls map[string]string
	netns   map[string]bool // pinned network namespaces before start
	api     *apiClient

	stopOnce sync.Once
	stopErr  error
	done     chan struct{} // closed by Stop
}

// Start builds the binaries (once: they are cached), starts etcd, the API
// server, the controller-manager, the scheduler, a containerd of its own
// and a kubelet in a new temporary root, and returns when the node is
// Ready and the default service account exists. On any failure it stops
// what it started, restores the host and returns an error that shows the
// end of the failing component's log. Start takes no host lock: a caller
// other than ForTest must make sure no other cluster runs on the host.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	log, cacheDir, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if err := checkHostTools(); err != nil {
		return nil, err
	}
	if pids := podPids(); len(pids) > 0 {
		// Stop kills whatever runs in the pod cgroups: never another
		// kubelet's pods.
		return nil, fmt.Errorf("processes %v run in the host's kubepods cgroups: another kubelet runs on this host, and the test cluster needs the host to itself", pids)
	}
	bins, err := ensureBinaries(ctx, cacheDir, log)
	if err != nil {
		return nil, err
	}
	c := &Cluster{bins: bins, log: log, done: make(chan struct{})}
	if c.sysctls, err = readSysctls(); err != nil {
		return nil, err
	}
	c.netns = listNetns()
	if err := c.boot(ctx); err != nil {
		if stopErr := c.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("and tearing down: %w", stopErr))
		}
		return nil, err
	}
	return c, nil
}

// checkHostTools reports the host programs the cluster runs that are
// missing, and how to install them.
func checkHostTools() error {
	var missing []string
	for _, path := range []string{"/usr/bin/etcd", "/usr/bin/containerd", "/usr/bin/ctr", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback"} {
		if !isFile(path) {
			missing = append(missing, path)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %v: install Debian's etcd-server, containerd and containernetworking-plugins (make kube-deps)", missing)
	}
	return nil
}

// boot lays out the root and starts the components in order, waiting for
// each one the next needs.
func (c *Cluster) boot(ctx context.Context) error {
	start := time.Now()
	if err := c.prepare(); err != nil {
		return err
	}
	fmt.Fprintf(c.log, "kubecluster: root %s, node %s, API server %s\n", c.layout.root, c.Node, c.layout.apiURL())
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"etcd", c.startEtcd},
		{"kube-apiserver", c.startAPIServer},
		{"controllers", c.startControllers},
		{"containerd", c.startContainerd},
		{"kubelet", c.startKubelet},
		{"node Ready", c.waitNodeReady},
		{"default service account", c.waitDefaultServiceAccount},
	}
	for _, s := range steps {
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("starting the test cluster (%s): %w", s.name, err)
		}
		fmt.Fprintf(c.log, "kubecluster: %s up after %s\n", s.name, time.Since(start).Round(100*time.Millisecond))
	}
	return nil
}

// prepare makes the temporary root with its certificates and files.
func (c *Cluster) prepare() error {
	root, err := os.MkdirTemp("", rootPrefix)
	if err != nil {
		return fmt.Errorf("cluster root: %w", err)
	}
	c.layout.root = root // for Stop, whatever fails next
	nodeIP, err := defaultRouteIP()
	if err != nil {
		return err
	}
	ports, err := freePorts(7)
	if err != nil {
		return err
	}
	c.Node = nodeName()
	c.layout = layout{
		root: root, pki: root + "/pki", node: c.Node, nodeIP: nodeIP,
		etcd: ports[0], peer: ports[1], api: ports[2], cm: ports[3], sched: ports[4], kubelet: ports[5], healthz: ports[6],
	}
	c.Kubeconfig = c.layout.kubeconfig("admin")
	if err := os.Mkdir(c.layout.pki, 0o700); err != nil {
		return fmt.Errorf("cluster root: %w", err)
	}
	if err := writePKI(c.layout.pki, c.Node, nodeIP); err != nil {
		return err
	}
	if err := c.layout.writeFiles(); err != nil {
		return err
	}
	c.api, err = newAPIClient(c.layout.apiURL(), c.layout.pkiFile("ca.crt"), c.layout.pkiFile("admin.crt"), c.layout.pkiFile("admin.key"))
	return err
}

// run starts one component, its log in NAME.log under the root.
func (c *Cluster) run(name, path string, args ...string) (*process, error) {
	p, err := startProcess(name, c.layout.path(name+".log"), path, args...)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

// startEtcd starts etcd on loopback and waits for it to be healthy.
func (c *Cluster) startEtcd(ctx context.Context) error {
	l := &c.layout
	peer := "http://127.0.0.1:" + strconv.Itoa(l.peer)
	p, err := c.run("etcd", "/usr/bin/etcd",
		"--name=kube", "--data-dir="+l.path("etcd"),
		"--listen-client-urls="+l.etcdURL(), "--advertise-client-urls="+l.etcdURL(),
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=kube="+peer, "--initial-cluster-state=new",
		"--unsafe-no-fsync", "--log-level=warn")
	if err != nil {
		return err
	}
	return waitFor(ctx, time.Minute, p, func(ctx context.Context) error {
		body, err := plainGet(ctx, l.etcdURL()+"/health")
		if err == nil && !bytes.Contains(body, []byte(`"health":"true"`)) {
			err = fmt.Errorf("etcd health: %s", body)
		}
		return err
	})
}

// startAPIServer starts kube-apiserver and waits for /readyz.
func (c *Cluster) startAPIServer(ctx context.Context) error {
	l := &c.layout
	p, err := c.run("kube-apiserver", c.bins.path("kube-apiserver"),
		"--etcd-servers="+l.etcdURL(),
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(l.api),
		"--advertise-address="+l.nodeIP.String(),
		"--tls-cert-file="+l.pkiFile("apiserver.crt"), "--tls-private-key-file="+l.pkiFile("apiserver.key"),
		"--client-ca-file="+l.pkiFile("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+l.pkiFile("sa.pub"),
		"--service-account-signing-key-file="+l.pkiFile("sa.key"),
		"--service-cluster-ip-range="+serviceRange,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction,PodSecurity",
		"--kubelet-client-certificate="+l.pkiFile("apiserver-kubelet-client.crt"),
		"--kubelet-client-key="+l.pkiFile("apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority="+l.pkiFile("ca.crt"),
		"--kubelet-preferred-address-types=Hostname",
		"--profiling=false", "--v=1")
	if err != nil {
		return err
	}
	return waitFor(ctx, 5*time.Minute, p, func(ctx context.Context) error {
		_, err := c.api.get(ctx, "/readyz")
		return err
	})
}

// startControllers starts the controller-manager and the scheduler.
func (c *Cluster) startControllers(context.Context) error {
	l := &c.layout
	if _, err := c.run("kube-controller-manager", c.bins.path("kube-controller-manager"),
		"--kubeconfig="+l.kubeconfig("controller-manager"),
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(l.cm),
		"--service-account-private-key-file="+l.pkiFile("sa.key"),
		"--root-ca-file="+l.pkiFile("ca.crt"),
		"--use-service-account-credentials=true",
		"--service-cluster-ip-range="+serviceRange,
		"--leader-elect=false", "--profiling=false", "--v=1"); err != nil {
		return err
	}
	_, err := c.run("kube-scheduler", c.bins.path("kube-scheduler"),
		"--kubeconfig="+l.kubeconfig("scheduler"),
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(l.sched),
		"--leader-elect=false", "--profiling=false", "--v=1")
	return err
}

// startContainerd starts the cluster's own containerd and imports the
// pause image into it.
func (c *Cluster) startContainerd(ctx context.Context) error {
	p, err := c.run("containerd", "/usr/bin/containerd", "--config", c.layout.path("containerd", "config.toml"))
	if err != nil {
		return err
	}
	if err := waitFor(ctx, time.Minute, p, func(ctx context.Context) error {
		_, err := os.Stat(c.layout.containerdSocket())
		return err
	}); err != nil {
		return err
	}
	archive, err := pauseArchive(c.bins.pause)
	if err != nil {
		return err
	}
	return waitFor(ctx, time.Minute, p, func(ctx context.Context) error {
		return c.importImage(ctx, bytes.NewReader(archive))
	})
}

// startKubelet starts the kubelet as root against the cluster's
// containerd.
func (c *Cluster) startKubelet(ctx context.Context) error {
	l := &c.layout
	p, err := c.run("kubelet", c.bins.path("kubelet"),
		"--config="+l.path("kubelet.yaml"),
		"--kubeconfig="+l.kubeconfig("kubelet-client"),
		"--root-dir="+l.path("kubelet"),
		"--cert-dir="+l.path("kubelet", "pki"),
		"--hostname-override="+c.Node,
		"--node-ip="+l.nodeIP.String(),
		"--v=1")
	if err != nil {
		return err
	}
	return waitFor(ctx, 2*time.Minute, p, func(ctx context.Context) error {
		_, err := plainGet(ctx, "http://127.0.0.1:"+strconv.Itoa(l.healthz)+"/healthz")
		return err
	})
}

// waitNodeReady waits for the node's Ready condition.
func (c *Cluster) waitNodeReady(ctx context.Context) error {
	kubelet := c.procs[len(c.procs)-1]
	return waitFor(ctx, 5*time.Minute, kubelet, func(ctx context.Context) error {
		return c.api.nodeReady(ctx, c.Node)
	})
}

// waitDefaultServiceAccount waits for the service account controller to
// make "default" in namespace default (pods wait for it otherwise).
func (c *Cluster) waitDefaultServiceAccount(ctx context.Context) error {
	cm := c.process("kube-controller-manager")
	return waitFor(ctx, 2*time.Minute, cm, func(ctx context.Context) error {
		_, err := c.api.get(ctx, "/api/v1/namespaces/default/serviceaccounts/default")
		return err
	})
}

// process is the running component named name.
func (c *Cluster) process(name string) *process {
	for _, p := range c.procs {
		if p.name == name {
			return p
		}
	}
	return nil
}

// waitFor polls check until it succeeds, p exits (the error shows its
// log), limit passes or ctx ends.
func waitFor(ctx context.Context, limit time.Duration, p *process, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		if err := p.exitedErr(); err != nil {
			return err
		}
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %v (%w); end of %s:\n%s", limit, last, ctx.Err(), p.log, p.logTail())
		case <-p.exited:
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// stopped tells whether Stop was called.
func (c *Cluster) stopped() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Stop ends the cluster: the kubelet, the pods' processes, the control
// plane and containerd (with its shims), unmounts what they mounted under
// the root, removes the pod network's leftovers and the root, and puts
// back the host sysctls the kubelet changed. It can be called more than
// once; later calls return the first call's error.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		close(c.done)
		c.stopErr = c.teardown()
	})
	return c.stopErr
}

// teardown is Stop's work; it does every step and joins the errors.
func (c *Cluster) teardown() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	start := time.Now()
	if p := c.process("kubelet"); p != nil {
		add(p.stop())
	}
	add(killPods())
	for i := len(c.procs) - 1; i >= 0; i-- {
		if c.procs[i].name != "kubelet" {
			add(c.procs[i].stop())
		}
	}
	if c.layout.root != "" {
		killProcessesMatching("containerd-shim", c.layout.containerdSocket())
		add(unmountUnder(c.layout.root))
		add(removeLogLinks(c.layout.root))
	}
	add(removeNewNetns(c.netns))
	add(removeBridge())
	if c.sysctls != nil {
		add(writeSysctls(c.sysctls))
	}
	if c.layout.root != "" {
		if err := os.RemoveAll(c.layout.root); err != nil {
			add(fmt.Errorf("removing the cluster root: %w", err))
		}
	}
	fmt.Fprintf(c.log, "kubecluster: stopped in %s\n", time.Since(start).Round(100*time.Millisecond))
	if len(errs) > 0 {
		return fmt.Errorf("stopping the test cluster: %w", errors.Join(errs...))
	}
	return nil
}
