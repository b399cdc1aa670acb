package docker

import (
	"context"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/sirupsen/logrus"
)

// LayerClient is the part of the Docker client that adds one layer to an
// image (commitLayer): a container made from the parent and never
// started, one tar stream copied into it, one commit.
// *client.Client satisfies it.
type LayerClient interface {
	ContainerCreate(ctx context.Context, opts client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	CopyToContainer(ctx context.Context, id string, opts client.CopyToContainerOptions) (client.CopyToContainerResult, error)
	ContainerCommit(ctx context.Context, id string, opts client.ContainerCommitOptions) (client.ContainerCommitResult, error)
	ContainerRemove(ctx context.Context, id string, opts client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
}

var _ LayerClient = (*client.Client)(nil)

// layerCmd is the command of the containers image layers are written
// into: they are never started, but the engine wants a command, and the
// commit keeps it as the image's default command (base images have none).
// Every run names its own command.
var layerCmd = []string{"true"}

// commitLayer makes the image tag from parent plus exactly one layer: the
// tar stream write writes (names relative to the root, owners and modes
// in its headers), and labels added to the parent's. The stream goes to
// the engine as it is written, never whole in memory or on disk. The
// container it goes through is created, not started, and always removed.
// It returns the new image's ID.
func commitLayer(ctx context.Context, cli LayerClient, log *logrus.Entry, parent, tag string, labels map[string]string, write func(io.Writer) error) (string, error) {
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: parent, Cmd: layerCmd},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	if err != nil {
		return "", fmt.Errorf("create the layer's container from %s: %w", parent, err)
	}
	defer removeBuildContainer(ctx, cli, log, created.ID)
	err = phase(log, "write layer", func() error {
		pr, stop := pipe(write)
		defer stop()
		_, err := cli.CopyToContainer(ctx, created.ID, client.CopyToContainerOptions{DestinationPath: "/", Content: pr})
		return err
	})
	if err != nil {
		return "", err
	}
	var id string
	err = phase(log, "commit", func() error {
		res, err := cli.ContainerCommit(ctx, created.ID, client.ContainerCommitOptions{
			Reference: tag,
			NoPause:   true,
			Config:    &container.Config{Labels: labels},
		})
		id = res.ID
		return err
	})
	return id, err
}

// removeBuildContainer removes a container an image build made; it runs
// after the caller gave up too.
func removeBuildContainer(ctx context.Context, cli LayerClient, log *logrus.Entry, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	_, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		log.WithError(err).WithField("container", id).Warn("remove an image build's container")
	}
}
