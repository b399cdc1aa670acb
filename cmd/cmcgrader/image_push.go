package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/internal/escape"
	"github.com/cmcgrader/cmcgrader/sandbox/docker"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// imageRef holds the flags naming the image to push or export.
type imageRef struct {
	ref, bankDir, goVersion string
}

// add registers the flags on cmd.
func (r *imageRef) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.ref, "ref", "", "image to use, by name:tag or ID (default: the sandbox image of --bank or --go)")
	cmd.Flags().StringVar(&r.bankDir, "bank", "", "task bank whose sandbox image to use (cmcgrader-sandbox:go<its Go version>)")
	cmd.Flags().StringVar(&r.goVersion, "go", "", "Go version whose sandbox image to use, e.g. 1.26.8")
}

// resolve returns the image the flags name: --ref as given, else the base
// sandbox image of the bank's or the given Go version, as image build
// tags it.
func (r *imageRef) resolve() (string, error) {
	set := 0
	for _, v := range []string{r.ref, r.bankDir, r.goVersion} {
		if v != "" {
			set++
		}
	}
	switch {
	case set == 0:
		return "", usageError{errors.New("give --ref IMAGE, --bank DIR or --go VERSION: the image to use")}
	case set > 1:
		return "", usageError{errors.New("give only one of --ref, --bank and --go")}
	case r.ref != "":
		return r.ref, nil
	case r.goVersion != "":
		return docker.BaseTag(r.goVersion), nil
	}
	b, err := tasks.Load(r.bankDir)
	if err != nil {
		return "", fmt.Errorf("load bank: %w", err)
	}
	return docker.BaseTag(b.Go), nil
}

func (a *app) imagePushCmd() *cobra.Command {
	var ref imageRef
	var to, authFile string
	cmd := &cobra.Command{
		Use:   "push --to REGISTRY (--ref IMAGE | --bank DIR | --go VERSION)",
		Short: "Push the sandbox image to a registry, for a cluster",
		Long: `Tag the image REGISTRY/<repository>:<tag> and push it through the Docker
engine. REGISTRY is HOST[:PORT][/PATH], without a scheme. Progress goes
to stderr as plain lines; the pushed image by digest
(REGISTRY/<repository>@sha256:...) goes to stdout: that immutable
reference is what a cluster should run. --auth-file holds the registry's
credentials as one base64-encoded JSON object, e.g. the output of
  printf '{"username":"U","password":"P"}' | base64 -w0
Without it the push sends no credentials. The engine reaches registries
on 127.0.0.0/8 over plain HTTP; others need HTTPS or the engine's
insecure-registries setting.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return usageError{errors.New("--to is required: the registry to push to, HOST[:PORT][/PATH]")}
			}
			if err := docker.CheckRegistry(to); err != nil {
				return usageError{fmt.Errorf("--to: %w", err)}
			}
			image, err := ref.resolve()
			if err != nil {
				return err
			}
			var auth string
			if authFile != "" {
				if auth, err = docker.ReadRegistryAuth(authFile); err != nil {
					return fmt.Errorf("--auth-file: %w", err)
				}
			}
			d, err := docker.New(cmd.Context(), a.log)
			if err != nil {
				return err
			}
			defer d.Close()
			digestRef, err := d.Push(cmd.Context(), image, to, docker.PushOptions{
				RegistryAuth: auth,
				Progress:     func(line string) { fmt.Fprintln(a.stderr, escape.Line(line)) },
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, digestRef)
			return nil
		},
	}
	ref.add(cmd)
	cmd.Flags().StringVar(&to, "to", "", "registry to push to, HOST[:PORT][/PATH] (required)")
	cmd.Flags().StringVar(&authFile, "auth-file", "", "file holding the registry credentials as base64-encoded JSON")
	return cmd
}

func (a *app) imageExportCmd() *cobra.Command {
	var ref imageRef
	var out string
	cmd := &cobra.Command{
		Use:   "export --out FILE (--ref IMAGE | --bank DIR | --go VERSION)",
		Short: "Save the sandbox image to a file, for nodes without a registry",
		Long: `Save the image, and only it, to FILE as a docker save archive, written
to a temporary file and renamed into place. A Kubernetes node whose
runtime is containerd loads it with
  ctr -n k8s.io images import FILE
and Pods then run it by name with imagePullPolicy: Never.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{errors.New("--out is required: the file to write")}
			}
			image, err := ref.resolve()
			if err != nil {
				return err
			}
			d, err := docker.New(cmd.Context(), a.log)
			if err != nil {
				return err
			}
			defer d.Close()
			id, size, err := d.Export(cmd.Context(), image, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "exported %s (%s, %.1f MiB) to %s\n", image, escape.Line(id), float64(size)/(1<<20), out)
			fmt.Fprintf(a.stdout, "load it on a node without a registry: ctr -n k8s.io images import %s\n", out)
			return nil
		},
	}
	ref.add(cmd)
	cmd.Flags().StringVar(&out, "out", "", "file to write the image archive to (required)")
	return cmd
}
