package kubernetes

import (
	"context"
	"fmt"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// PublishFunc makes the image ref, prepared on the grader's host, usable
// by the cluster's nodes (e.g. tags and pushes it to a registry they pull
// from) and returns the reference Pods name it by.
type PublishFunc func(ctx context.Context, ref string) (clusterRef string, err error)

// Images prepares images with Inner (the Docker backend's image builder,
// on the grader's host) and makes them available to the cluster. The
// Image it returns keeps Inner's Ref (what the report names) and carries
// in ID the reference the cluster runs: what the grader passes to
// Spec.Image. Without Publish, the nodes are assumed to hold the image
// under its local reference already (loaded by hand; Pods use
// imagePullPolicy Never, and a Pod that does not find it fails with
// sandbox.ErrImageNotFound and a hint).
type Images struct {
	// Inner prepares the image on the grader's host. Required.
	Inner sandbox.Images
	// Publish, when set, makes each prepared image available to the
	// nodes.
	Publish PublishFunc
}

var _ sandbox.Images = (*Images)(nil)

// Prepare returns the image of req, as the cluster names it.
func (im *Images) Prepare(ctx context.Context, req sandbox.ImageRequest) (sandbox.Image, error) {
	img, err := im.Inner.Prepare(ctx, req)
	if err != nil {
		return sandbox.Image{}, err
	}
	return im.publish(ctx, img)
}

// publish turns img into the image the cluster runs.
func (im *Images) publish(ctx context.Context, img sandbox.Image) (sandbox.Image, error) {
	ref := img.Ref
	if ref == "" {
		ref = img.ID
	}
	if im.Publish == nil {
		return sandbox.Image{Ref: img.Ref, ID: ref, Warm: img.Warm}, nil
	}
	cref, err := im.Publish(ctx, ref)
	if err != nil {
		return sandbox.Image{}, fmt.Errorf("make image %s available to the cluster: %w", ref, err)
	}
	return sandbox.Image{Ref: img.Ref, ID: cref, Warm: img.Warm}, nil
}
