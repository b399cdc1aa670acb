package main

import (
	"context"
	"fmt"
	"os"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/sandbox/docker"
	"github.com/cmcgrader/cmcgrader/sandbox/kubernetes"
)

// backendFlags choose where sandboxes run.
type backendFlags struct {
	backend, kubeconfig, namespace, registry string
}

func (f *backendFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.backend, "backend", "docker", "where sandboxes run: docker (this host's engine) or kubernetes (Jobs in a cluster)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster, with --backend kubernetes (default: $KUBECONFIG, ~/.kube/config, or the Pod's own)")
	fl.StringVar(&f.namespace, "namespace", "", "namespace the sandbox Jobs run in, with --backend kubernetes (default: the kubeconfig context's)")
	fl.StringVar(&f.registry, "image-registry", "", "registry the cluster's nodes pull grading images from, with --backend kubernetes; images are pushed there (default: none, the nodes hold the images already)")
}

// check reports bad combinations as usage errors.
func (f *backendFlags) check() error {
	switch f.backend {
	case "", "docker":
		for name, v := range map[string]string{"--kubeconfig": f.kubeconfig, "--namespace": f.namespace, "--image-registry": f.registry} {
			if v != "" {
				return usageError{fmt.Errorf("%s needs --backend kubernetes", name)}
			}
		}
	case "kubernetes":
		if f.registry != "" {
			if err := docker.CheckRegistry(f.registry); err != nil {
				return usageError{fmt.Errorf("--image-registry: %w", err)}
			}
		}
	default:
		return usageError{fmt.Errorf("--backend %q: want docker or kubernetes", f.backend)}
	}
	return nil
}

// sandboxes is the chosen backend: its runner, the images it runs, and
// how to collect its leftovers.
type sandboxes struct {
	runner    sandbox.Runner
	images    sandbox.Images
	removeOwn func(context.Context) (int, error)
	close     func()
}

// gcer is a backend that collects the leftovers of crashed graders.
type gcer interface {
	GC(ctx context.Context) (int, error)
	RemoveOwn(ctx context.Context) (int, error)
	HasRuntime(ctx context.Context, name string) (bool, error)
}

// openSandboxes connects to the backend f chooses, collects leftovers of
// crashed runs and checks the runtime. Images are built with this host's
// Docker engine for both backends; with kubernetes they are then made
// available to the cluster (pushed with --image-registry).
func (a *app) openSandboxes(ctx context.Context, f *runFlags) (*sandboxes, error) {
	eng, err := docker.New(ctx, a.log)
	if err != nil {
		return nil, err
	}
	images := &docker.Images{Engine: eng, Log: a.log, Fixed: f.image, GoProxy: os.Getenv("GOPROXY")}
	sb := &sandboxes{runner: eng, images: images, removeOwn: eng.RemoveOwn, close: func() { eng.Close() }}
	var be gcer = eng
	where := "the Docker engine has no such runtime; register it in the daemon's configuration"
	if f.backend == "kubernetes" {
		kb, err := a.openKubernetes(ctx, f, eng, images)
		if err != nil {
			eng.Close()
			return nil, err
		}
		sb.runner, sb.images, sb.removeOwn = kb, kubeImages(eng, images, f), kb.RemoveOwn
		be = kb
		where = "the cluster has no such RuntimeClass"
	}
	if n, err := be.GC(ctx); err != nil {
		a.log.WithError(err).Warn("could not collect leftovers of earlier runs")
	} else if n > 0 {
		a.log.WithField("removed", n).Info("collected leftovers of earlier runs")
	}
	if f.runtime != "" {
		ok, err := be.HasRuntime(ctx, f.runtime)
		if err != nil {
			sb.close()
			return nil, err
		}
		if !ok {
			sb.close()
			return nil, fmt.Errorf("--runtime %s: %s", f.runtime, where)
		}
	}
	return sb, nil
}

// openKubernetes connects to the cluster and runs its start checks.
func (a *app) openKubernetes(ctx context.Context, f *runFlags, eng *docker.Engine, images *docker.Images) (*kubernetes.Backend, error) {
	cfg := kubernetes.Config{Kubeconfig: f.kubeconfig, Namespace: f.namespace, Pids: sandbox.DefaultLimits.Pids}
	if f.registry != "" {
		cfg.PullPolicy = corev1.PullIfNotPresent
	}
	// client-go logs through klog to stderr, e.g. every stream an
	// interrupt or a timeout closes; the backend reports what matters
	// itself.
	klog.SetLogger(logr.Discard())
	kb, err := kubernetes.New(ctx, cfg, a.log)
	if err != nil {
		return nil, err
	}
	// Docker's own leftovers (image builds) are collected too.
	if _, err := eng.GC(ctx); err != nil {
		a.log.WithError(err).Warn("could not collect leftovers of earlier image builds")
	}
	return kb, nil
}

// kubeImages wraps the Docker images for the cluster: pushed to
// --image-registry, or run under their local names.
func kubeImages(eng *docker.Engine, images *docker.Images, f *runFlags) sandbox.Images {
	ki := &kubernetes.Images{Inner: images}
	if f.registry != "" {
		// The grading image goes to the registry, and the cluster runs it
		// by digest.
		ki.Publish = func(ctx context.Context, ref string) (string, error) {
			return eng.Push(ctx, ref, f.registry, docker.PushOptions{})
		}
	}
	return ki
}
