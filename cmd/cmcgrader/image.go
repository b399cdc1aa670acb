package main

import (
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

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
	cmd.AddCommand(build, a.imagePushCmd(), a.imageExportCmd())
	return cmd
}
