package kubecluster

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// Cluster networking. The ranges keep clear of Docker's default
// 172.17.0.0/16; the pod bridge carries no outside traffic (no
// masquerading).
const (
	serviceRange = "10.97.0.0/24"
	podSubnet    = "10.244.77.0/24"
	bridgeName   = "kcbr0"
)

// serviceAPIIP is the first address of serviceRange, the in-cluster
// address of the API server's service.
var serviceAPIIP = net.IPv4(10, 97, 0, 1)

// pauseImage is the name the pod sandbox image is imported under.
const pauseImage = "cmcgrader.local/kube-pause:" + KubeVersion

// layout holds the paths and ports of one cluster's temporary root.
type layout struct {
	root    string
	pki     string // certificates and keys
	node    string
	nodeIP  net.IP
	etcd    int // client port
	peer    int // etcd peer port
	api     int // API server port
	cm      int // controller-manager port
	sched   int // scheduler port
	kubelet int // kubelet port
	healthz int // kubelet health port
}

// path joins elem under the root.
func (l *layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.root}, elem...)...)
}

// pkiFile is the path of one file of the PKI directory.
func (l *layout) pkiFile(name string) string { return filepath.Join(l.pki, name) }

// apiURL is the API server's address.
func (l *layout) apiURL() string { return "https://127.0.0.1:" + strconv.Itoa(l.api) }

// etcdURL is etcd's client address.
func (l *layout) etcdURL() string { return "http://127.0.0.1:" + strconv.Itoa(l.etcd) }

// containerdSocket is the gRPC socket of the cluster's containerd.
func (l *layout) containerdSocket() string { return l.path("containerd", "containerd.sock") }

// kubeconfig is the path of the kubeconfig of one client certificate.
func (l *layout) kubeconfig(cert string) string { return l.path(cert + ".kubeconfig") }

// freePorts picks n distinct free TCP ports on loopback.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("picking a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// writeFiles writes every configuration file of the cluster under the
// root: kubeconfigs, containerd's configuration, the CNI network and the
// kubelet's configuration.
func (l *layout) writeFiles() error {
	files := map[string]string{
		l.path("containerd", "config.toml"):             l.containerdConfig(),
		l.path("cni", "net.d", "10-cmcgrader.conflist"): l.cniConfig(),
		l.path("kubelet.yaml"):                          l.kubeletConfig(),
		l.path("resolv.conf"):                           "",
	}
	for _, cert := range []string{"admin", "controller-manager", "scheduler", "kubelet-client"} {
		files[l.kubeconfig(cert)] = l.kubeconfigFor(cert)
	}
	for name, text := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return fmt.Errorf("cluster files: %w", err)
		}
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			return fmt.Errorf("cluster files: %w", err)
		}
	}
	return nil
}

// kubeconfigFor is a kubeconfig that reaches the API server with the
// client certificate cert.
func (l *layout) kubeconfigFor(cert string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: cmcgrader
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %s
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: cmcgrader
  context:
    cluster: cmcgrader
    user: %s
    namespace: default
current-context: cmcgrader
`, l.apiURL(), l.pkiFile("ca.crt"), cert, l.pkiFile(cert+".crt"), l.pkiFile(cert+".key"), cert)
}

// containerdConfig is the configuration of the cluster's own containerd:
// its own root, state and sockets, the CRI plugin on cgroupfs, the CNI
// network of the root, and oom_score_adj kept within what the host allows
// (no CAP_SYS_RESOURCE in some VMs).
func (l *layout) containerdConfig() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
`, l.path("containerd", "root"), l.path("containerd", "state"), l.containerdSocket(),
		l.containerdSocket()+".ttrpc", l.path("containerd", "opt"), pauseImage, l.path("cni", "net.d"))
}

// cniConfig is the pod network: one bridge, addresses from host-local
// (containerd adds the loopback interface itself).
func (l *layout) cniConfig() string {
	return fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "cmcgrader-kube",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": %q,
        "ranges": [[{"subnet": %q}]]
      }
    }
  ]
}
`, bridgeName, l.path("cni", "ipam"), podSubnet)
}

// podPidsLimit bounds the processes of every pod of the node.
const podPidsLimit = 1024

// kubeletConfig is the kubelet's configuration: cgroupfs on cgroup v1, the
// cluster's containerd, client certificates only, a pids limit per pod,
// and eviction thresholds low enough for a well-filled disk.
func (l *layout) kubeletConfig() string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://%s
address: 127.0.0.1
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
tlsCertFile: %s
tlsPrivateKeyFile: %s
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: %s
authorization:
  mode: AlwaysAllow
podPidsLimit: %d
failSwapOn: false
resolvConf: %s
podLogsDir: %s
volumePluginDir: %s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 50Mi
  nodefs.available: "1%%"
  nodefs.inodesFree: "1%%"
  imagefs.available: "1%%"
  imagefs.inodesFree: "1%%"
rotateCertificates: false
serverTLSBootstrap: false
`, l.containerdSocket(), l.kubelet, l.healthz, l.pkiFile("kubelet.crt"), l.pkiFile("kubelet.key"),
		l.pkiFile("ca.crt"), podPidsLimit, l.path("resolv.conf"), l.path("pod-logs"), l.path("kubelet", "volume-plugins"))
}
