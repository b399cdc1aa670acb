package docker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/internal/capture"
)

// opaModule is the Go module the opa command is built from.
const opaModule = "github.com/open-policy-agent/opa"

var opaVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// hostOPA returns the path of the opa command of opts.OPAVersion for the
// image (linux/amd64, static), building it on the host with the host's go
// command from the module proxy when opts.OPACache does not hold it yet.
// The build needs the module proxy (the host's GOPROXY); a cached one
// needs nothing.
func hostOPA(ctx context.Context, log *logrus.Entry, opts BaseOptions) (string, error) {
	if !opaVersionRE.MatchString(opts.OPAVersion) {
		return "", fmt.Errorf("opa version %q: want a release like %s", opts.OPAVersion, DefaultOPAVersion)
	}
	dir := filepath.Join(opts.OPACache, opts.OPAVersion)
	bin := filepath.Join(dir, "opa")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(opts.OPACache, 0o755); err != nil {
		return "", fmt.Errorf("build opa: %w", err)
	}
	tmp, err := os.MkdirTemp(opts.OPACache, ".build-")
	if err != nil {
		return "", fmt.Errorf("build opa: %w", err)
	}
	defer os.RemoveAll(tmp)
	log.WithField("version", opts.OPAVersion).Info("building opa on the host from the Go module proxy")
	cmd := exec.CommandContext(ctx, opts.GoCommand, "install", "-trimpath", "-ldflags=-s -w", opaModule+"@v"+opts.OPAVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Join(tmp, "bin"), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=", "GO111MODULE=on")
	out := capture.NewTail(4 << 10)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build opa %s with %s install: %w: %s", opts.OPAVersion, opts.GoCommand, err, bytes.TrimSpace(out.Bytes()))
	}
	// Into place by rename, so that a concurrent build or a crash never
	// leaves half a binary under the version's name.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build opa: %w", err)
	}
	if err := os.Rename(filepath.Join(tmp, "bin", "opa"), bin); err != nil {
		return "", fmt.Errorf("build opa: %w", err)
	}
	return bin, nil
}
