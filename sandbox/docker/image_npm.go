package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// ErrNPMInstall says the base commit's JavaScript packages could not be
// installed on the host (most often: no npm registry reachable).
var ErrNPMInstall = errors.New("could not install ui dependencies")

// jsTag is the modules image tag for tag with deps' packages: it grows
// by the digest of deps (none without a lockfile).
func jsTag(tag string, deps sandbox.JSDeps) string {
	if deps.Lockfile == "" {
		return tag
	}
	sum := sha256.Sum256([]byte(deps.Digest()))
	return tag + "-js-" + hex.EncodeToString(sum[:])[:12]
}

// npmCommand is the host command that installs the packages of the
// package.json and lockfile in dir into dir/node_modules: exactly the
// lockfile's versions (npm ci), and no package's install scripts, which
// would run code of the registry's on the host.
func npmCommand(ctx context.Context, npm, dir string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--no-update-notifier")
	cmd.Dir = dir
	return cmd
}

// installJSDeps writes deps' package.json and lockfile into dir and runs
// npmCommand there; node_modules is then dir/node_modules. The error
// wraps ErrNPMInstall and says where to run prepare.
func installJSDeps(ctx context.Context, log *logrus.Entry, npm string, deps sandbox.JSDeps, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock := path.Base(deps.Lockfile)
	if err := os.WriteFile(filepath.Join(dir, lock), deps.Lock, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), deps.Package, 0o644); err != nil {
		return err
	}
	if err := run(ctx, log, npmCommand(ctx, npm, dir)); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: npm ci for %s: %v; run prepare where the registry is reachable", ErrNPMInstall, deps.Lockfile, err)
	}
	return nil
}

// nodeModulesAt is where a modules image keeps the node_modules of the
// lockfile at slash path lockfile: sandbox.NodeModulesDir, then the
// lockfile's folder.
func nodeModulesAt(lockfile string) string {
	return path.Join(sandbox.NodeModulesDir, path.Dir(lockfile), "node_modules")
}
