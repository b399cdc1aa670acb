// Package kubecluster runs a real single-node Kubernetes cluster on this
// host for tests: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, a containerd of its own and a kubelet, all in one
// temporary root directory, torn down by Stop.
//
// The Kubernetes binaries are built once from the k8s.io/kubernetes module
// through the Go module proxy and cached (see Options.CacheDir); etcd,
// containerd and the CNI plugins come from the host's packages. Only one
// cluster runs on a host at a time: ForTest takes a host-wide lock.
//
// Example:
//
//	c := kubecluster.ForTest(t) // stopped by t.Cleanup
//	if err := c.LoadImage(ctx, "my-image:tag"); err != nil {
//		t.Fatal(err)
//	}
//	// talk to the API server with c.Kubeconfig; pods use
//	// imagePullPolicy: Never.
package kubecluster
