package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/sandbox/docker"
	"github.com/cmcgrader/cmcgrader/tasks"
)

func (a *app) imageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the sandbox image",
		Args:  noArgs,
	}
	var bankDir, goVersion string
	var force bool
	build := &cobra.Command{
		Use:   "build (--bank DIR | --go VERSION)",
		Short: "Build the base sandbox image without a registry",
		Long: `Build the base sandbox image from Debian packages (debootstrap) and the Go
toolchain from the Go module proxy, at the Go version the bank asks for.
It needs root (debootstrap) and no container registry. The image is tagged
cmcgrader-sandbox:go<version>; an existing tag is kept unless --force.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := goVersion
			if bankDir != "" {
				b, err := tasks.Load(bankDir)
				if err != nil {
					return fmt.Errorf("load bank: %w", err)
				}
				v = b.Go
			}
			if v == "" {
				return usageError{errors.New("give --bank or --go: the Go version the image carries")}
			}
			d, err := docker.New(cmd.Context(), a.log)
			if err != nil {
				return err
			}
			defer d.Close()
			a.log.Logger.SetLevel(max(a.log.Logger.Level, logrus.InfoLevel))
			id, err := docker.BuildBase(cmd.Context(), d.Client(), a.log, docker.BaseOptions{GoVersion: v, Force: force})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s %s\n", docker.BaseTag(v), id)
			return nil
		},
	}
	build.Flags().StringVar(&bankDir, "bank", "", "task bank whose Go version to use")
	build.Flags().StringVar(&goVersion, "go", "", "Go version, e.g. 1.26.8")
	build.Flags().BoolVar(&force, "force", false, "rebuild even if the image exists")
	cmd.AddCommand(build)
	return cmd
}

// images prepares grading images through the sandbox package.
type images struct {
	docker *docker.Engine
	log    *logrus.Entry
	// fixed, when set, is used as is.
	fixed string
}

var _ sandbox.Images = (*images)(nil)

func (im *images) Prepare(ctx context.Context, req sandbox.ImageRequest) (sandbox.Image, error) {
	if im.fixed != "" {
		id, err := im.docker.ImageID(ctx, im.fixed)
		if err != nil {
			return sandbox.Image{}, fmt.Errorf("--image %s: %w", im.fixed, err)
		}
		return sandbox.Image{Ref: im.fixed, ID: id}, nil
	}
	mod, err := im.modules(ctx, req)
	if err != nil || len(req.GoMod) == 0 || req.BankDigest == "" || req.BaseCommit == "" {
		return mod, err
	}
	key := docker.WarmKey(req.BankDigest, req.BaseCommit, mod.ID)
	id, err := docker.FindWarm(ctx, im.docker.Client(), key)
	if err != nil || id == "" {
		im.log.WithField("hint", "cmcgrader prepare").Info("no warm image for this bank and base commit: compiling cold")
		return mod, err
	}
	return sandbox.Image{Ref: docker.WarmTag(key), ID: id, Warm: true}, nil
}

// modules returns the modules image of the request, built if needed (or
// the base image when the base commit has no go.mod).
func (im *images) modules(ctx context.Context, req sandbox.ImageRequest) (sandbox.Image, error) {
	base := docker.BaseTag(req.GoVersion)
	if _, err := im.docker.ImageID(ctx, base); err != nil {
		if errors.Is(err, sandbox.ErrImageNotFound) {
			return sandbox.Image{}, fmt.Errorf("sandbox image %s not found: build it with `make image` or `cmcgrader image build --go %s`", base, req.GoVersion)
		}
		return sandbox.Image{}, err
	}
	if len(req.GoMod) == 0 {
		id, err := im.docker.ImageID(ctx, base)
		return sandbox.Image{Ref: base, ID: id}, err
	}
	ref := docker.ModulesTag(req.GoVersion, req.GoMod, req.GoSum)
	id, err := docker.BuildModules(ctx, im.docker.Client(), im.log, docker.ModulesOptions{
		BaseImage: base, GoMod: req.GoMod, GoSum: req.GoSum, Tag: ref, GoProxy: os.Getenv("GOPROXY"),
	})
	if err != nil {
		return sandbox.Image{}, err
	}
	return sandbox.Image{Ref: ref, ID: id}, nil
}
