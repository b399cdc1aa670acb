package docker

import (
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// Images picks, and builds when needed, the image a bank grades in: the
// warm image of the bank and the base commit when one was built
// (BuildWarm), else the modules image of the base commit's go.mod, built
// on the base image of the bank's Go version (BuildModules), else, with no
// go.mod, the base image itself. The base image is never built here: it
// must exist (BuildBase).
type Images struct {
	// Engine is where images are looked up and built. Required.
	Engine *Engine
	// Log receives the builds' progress and the choice of image. Required.
	Log *logrus.Entry
	// Fixed, when set, is the image every request gets, as is.
	Fixed string
	// GoProxy is GOPROXY for the modules' download (ModulesOptions).
	// Empty keeps the host environment's.
	GoProxy string
}

var _ sandbox.Warmer = (*Images)(nil)

// Prepare returns the image for req.
func (im *Images) Prepare(ctx context.Context, req sandbox.ImageRequest) (sandbox.Image, error) {
	if im.Fixed != "" {
		id, err := im.Engine.ImageID(ctx, im.Fixed)
		if err != nil {
			return sandbox.Image{}, fmt.Errorf("--image %s: %w", im.Fixed, err)
		}
		return sandbox.Image{Ref: im.Fixed, ID: id}, nil
	}
	mod, err := im.Modules(ctx, req)
	if err != nil || len(req.GoMod) == 0 || req.BankDigest == "" || req.BaseCommit == "" {
		return mod, err
	}
	key := WarmKey(req.BankDigest, req.BaseCommit, mod.ID)
	id, err := FindWarm(ctx, im.Engine.Client(), key)
	if err != nil || id == "" {
		im.Log.WithField("hint", "cmcgrader prepare").Info("no warm image for this bank and base commit: compiling cold")
		return mod, err
	}
	return sandbox.Image{Ref: WarmTag(key), ID: id, Warm: true}, nil
}

// Modules returns the modules image of req, built if needed (or the base
// image when the base commit has no go.mod). It ignores Fixed and warm
// images.
func (im *Images) Modules(ctx context.Context, req sandbox.ImageRequest) (sandbox.Image, error) {
	base := BaseTag(req.GoVersion)
	if _, err := im.Engine.ImageID(ctx, base); err != nil {
		if errors.Is(err, sandbox.ErrImageNotFound) {
			return sandbox.Image{}, fmt.Errorf("sandbox image %s not found: build it with `make image` or `cmcgrader image build --go %s`", base, req.GoVersion)
		}
		return sandbox.Image{}, err
	}
	if len(req.GoMod) == 0 {
		id, err := im.Engine.ImageID(ctx, base)
		return sandbox.Image{Ref: base, ID: id}, err
	}
	ref := jsTag(ModulesTag(req.GoVersion, req.GoMod, req.GoSum, req.LocalModules), req.JS)
	id, err := BuildModules(ctx, im.Engine.Client(), im.Log, ModulesOptions{
		BaseImage: base, GoMod: req.GoMod, GoSum: req.GoSum, LocalModules: req.LocalModules, Tag: ref, GoProxy: im.GoProxy,
		JS: req.JS,
	})
	if err != nil {
		return sandbox.Image{}, err
	}
	return sandbox.Image{Ref: ref, ID: id}, nil
}

// Warm builds the warm image of req on its modules image (BuildWarm) and
// returns it; an existing one is kept unless req.Force.
func (im *Images) Warm(ctx context.Context, req sandbox.WarmRequest) (sandbox.Image, error) {
	mod, err := im.Modules(ctx, req.ImageRequest)
	if err != nil {
		return sandbox.Image{}, err
	}
	key := WarmKey(req.BankDigest, req.BaseCommit, mod.ID)
	id, err := BuildWarm(ctx, im.Engine.Client(), im.Log, WarmOptions{
		ModulesImage: mod.ID,
		Key:          key,
		Workspace:    req.Workspace,
		Packages:     req.Packages,
		TestFiles:    req.TestFiles,
		Force:        req.Force,
	})
	if err != nil {
		return sandbox.Image{}, err
	}
	return sandbox.Image{Ref: WarmTag(key), ID: id, Warm: true}, nil
}
