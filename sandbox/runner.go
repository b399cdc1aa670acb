package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Runner runs one sandboxed command. A failing command, a timeout or an
// OOM kill is data in the Result; an error means the backend could not
// do its job (engine down, image missing, setup failed, ctx cancelled).
// An error wrapping ErrBackendDown says no run can succeed until the
// backend is back: callers stop rather than retry.
type Runner interface {
	Run(ctx context.Context, spec Spec) (Result, error)
}

// Images prepares the image a bank's tasks run in. The image carries the
// bank's Go toolchain and the modules the base commit's go.mod needs, and
// may carry a build cache warmed for the bank and the base commit.
type Images interface {
	Prepare(ctx context.Context, req ImageRequest) (Image, error)
}

// ImageRequest says what a grading image must hold.
type ImageRequest struct {
	// GoVersion is the bank's Go toolchain, e.g. "1.26.8".
	GoVersion string
	// GoMod and GoSum are the base commit's (nil when it has none).
	GoMod, GoSum []byte
	// LocalModules are the go.mod files of the folders of the base commit
	// that GoMod replaces modules by (replace m => ./dir), by the slash
	// path of the folder as GoMod names it, cleaned ("dir"), so that the
	// modules those require are downloaded too.
	LocalModules map[string][]byte
	// BankDigest and BaseCommit name the (bank, base commit) pair a warm
	// image is built for.
	BankDigest, BaseCommit string
	// JS, when its Lockfile is set, are the base commit's JavaScript
	// packages, which the modules image installs (NodeModulesDir).
	JS JSDeps
}

// JSDeps are the base commit's npm lockfile and the package.json beside
// it, whose packages a modules image carries in sandbox.NodeModulesDir.
type JSDeps struct {
	// Lockfile is the lockfile's slash path in the repository
	// (ui/package-lock.json).
	Lockfile string
	// Lock and Package are the lockfile's and package.json's content at
	// the base commit.
	Lock, Package []byte
}

// Digest is the lockfile's path and the hex SHA-256 of the lockfile and
// package.json ("ui/package-lock.json sha256:..."): part of the modules
// image's tag, and of the report's receipt.
func (d JSDeps) Digest() string {
	if d.Lockfile == "" {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", d.Lockfile, len(d.Lock))
	h.Write(d.Lock)
	h.Write(d.Package)
	return d.Lockfile + " sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Warmer is an Images that can also build warm images: the image of an
// ImageRequest with a build cache warmed by compiling, once, the tests of
// the bank's Go packages on the base commit (cmcgrader prepare). Grading
// then picks a warm image by itself (Images.Prepare) when one exists for
// the bank and the base commit.
type Warmer interface {
	Images
	Warm(ctx context.Context, req WarmRequest) (Image, error)
}

// WarmRequest says what a warm image is built from.
type WarmRequest struct {
	ImageRequest
	// Workspace is a tar stream of the base commit.
	Workspace io.Reader
	// Packages are the package patterns whose tests are compiled.
	Packages []string
	// TestFiles are hidden test files by slash path, compiled with the
	// packages so that their imports are warm too.
	TestFiles map[string][]byte
	// Force rebuilds the image even if it exists.
	Force bool
}

// Image identifies the sandbox image. Reports keep it as JSON.
type Image struct {
	Ref string `json:"ref"`
	ID  string `json:"id"`
	// Warm says the image carries a build cache warmed for the bank and
	// the base commit (made by cmcgrader prepare).
	Warm bool `json:"warm"`
}

// Sentinel errors of every backend, wrapped with context by the functions
// that return them.
var (
	// ErrImageNotFound means the image is not present where the backend
	// runs. Images are never pulled: build them first.
	ErrImageNotFound = errors.New("image not found")
	// ErrSetup means the sandbox could not prepare the run (unpack the
	// workspace, copy the build cache) before the command started. The
	// command never ran; the Result returned beside it holds the wrapper's
	// exit code and stderr.
	ErrSetup = errors.New("sandbox setup failed")
	// ErrBackendDown means the backend itself stopped answering (the
	// engine's socket refuses connections, the daemon is gone): the run
	// was not done, and no other run can be until the backend is back.
	ErrBackendDown = errors.New("sandbox backend down")
)
