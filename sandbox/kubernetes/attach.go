package kubernetes

import (
	"context"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

// attachFunc streams stdin to the supervisor container of Pod pod in
// namespace ns, and its stdout and stderr back, until the container's
// streams end.
type attachFunc func(ctx context.Context, ns, pod string, stdin io.Reader, stdout, stderr io.Writer) error

// attacher returns the attachFunc of a cluster: pods/attach with stdin,
// stdout and stderr and no TTY, through the websocket executor, falling
// back to SPDY when the server cannot upgrade to websockets (as client-go
// recommends).
func attacher(cfg *rest.Config, cs kubernetes.Interface) attachFunc {
	return func(ctx context.Context, ns, pod string, stdin io.Reader, stdout, stderr io.Writer) error {
		req := cs.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name(pod).SubResource("attach").
			VersionedParams(&corev1.PodAttachOptions{
				Container: containerName,
				Stdin:     true,
				Stdout:    true,
				Stderr:    true,
				TTY:       false,
			}, scheme.ParameterCodec)
		ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
		if err != nil {
			return err
		}
		spdy, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
		if err != nil {
			return err
		}
		exec, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
		if err != nil {
			return err
		}
		return exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr, Tty: false})
	}
}
