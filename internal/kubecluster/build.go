package kubecluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/cmcgrader/cmcgrader/internal/flock"
)

// KubeVersion is the Kubernetes release the cluster runs. containerd 1.6,
// the one Debian ships, speaks the CRI versions Kubernetes up to 1.37
// accepts.
const KubeVersion = "v1.37.2"

// kubeModule is the module the Kubernetes binaries are built from.
const kubeModule = "k8s.io/kubernetes"

// kubeCommands are the commands built from kubeModule, each by its
// directory under cmd/.
var kubeCommands = []string{"kube-apiserver", "kubelet", "kube-controller-manager", "kube-scheduler"}

// binaries are the paths of the programs a cluster runs.
type binaries struct {
	dir   string // holds kubeCommands
	pause string // the pod sandbox program
}

// path is the path of one of kubeCommands.
func (b binaries) path(name string) string { return filepath.Join(b.dir, name) }

// stagingVersion is the version the k8s.io staging modules are published
// under for a Kubernetes version: v1.37.2 gives v0.37.2.
func stagingVersion(kube string) (string, error) {
	rest, ok := strings.CutPrefix(kube, "v1.")
	if !ok {
		return "", fmt.Errorf("kubernetes version %q does not start with v1.", kube)
	}
	return "v0." + rest, nil
}

// cacheKey names one cache entry: the Kubernetes version and the Go
// toolchain that built it, from `go version`.
func cacheKey(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "version").Output()
	if err != nil {
		return "", fmt.Errorf("go version: %w (the Kubernetes binaries are built with the go command: put it on PATH)", err)
	}
	fields := strings.Fields(string(out)) // go version go1.26.8 linux/amd64
	if len(fields) < 4 {
		return "", fmt.Errorf("go version printed %q, want \"go version goX.Y.Z os/arch\"", strings.TrimSpace(string(out)))
	}
	key := "kubernetes-" + KubeVersion + "-" + fields[2] + "-" + fields[3]
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '-'
	}, key), nil
}

// defaultCacheDir is where built binaries are kept when Options.CacheDir
// is empty.
func defaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set Options.CacheDir or HOME): %w", err)
	}
	return filepath.Join(dir, "cmcgrader", "kube"), nil
}

// ensureBinaries returns the cached binaries, building what is missing.
// Builds are serialized by a lock in the cache directory, and each result
// appears by one rename, so a killed build leaves no half entry.
func ensureBinaries(ctx context.Context, cacheDir string, log io.Writer) (binaries, error) {
	key, err := cacheKey(ctx)
	if err != nil {
		return binaries{}, err
	}
	entry := filepath.Join(cacheDir, key)
	b := binaries{dir: filepath.Join(entry, "bin"), pause: filepath.Join(entry, "pause")}
	if b.complete() {
		fmt.Fprintf(log, "kubecluster: binaries cached in %s\n", entry)
		return b, nil
	}
	if err := os.MkdirAll(entry, 0o755); err != nil {
		return binaries{}, fmt.Errorf("binary cache: %w", err)
	}
	unlock, err := flock.Lock(ctx, filepath.Join(cacheDir, "build.lock"))
	if err != nil {
		return binaries{}, fmt.Errorf("waiting for the binary cache lock: %w", err)
	}
	defer unlock()
	src, err := downloadModule(ctx)
	if err != nil {
		return binaries{}, err
	}
	if !b.haveCommands() {
		start := time.Now()
		fmt.Fprintf(log, "kubecluster: building Kubernetes %s into %s (once; takes long)\n", KubeVersion, b.dir)
		if err := buildCommands(ctx, src, entry, b.dir); err != nil {
			return binaries{}, err
		}
		fmt.Fprintf(log, "kubecluster: built Kubernetes in %s\n", time.Since(start).Round(time.Second))
	}
	if !isFile(b.pause) {
		if err := buildPause(ctx, src, entry, b.pause); err != nil {
			return binaries{}, err
		}
	}
	return b, nil
}

// complete tells whether every binary is in the cache.
func (b binaries) complete() bool { return b.haveCommands() && isFile(b.pause) }

// haveCommands tells whether every one of kubeCommands is in the cache.
func (b binaries) haveCommands() bool {
	for _, name := range kubeCommands {
		if !isFile(b.path(name)) {
			return false
		}
	}
	return true
}

// isFile tells whether name is a regular file.
func isFile(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

// downloadModule fetches the Kubernetes module through the Go module
// proxy and returns its (read-only) directory in the module cache.
func downloadModule(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", kubeModule+"@"+KubeVersion)
	cmd.Dir = os.TempDir() // outside any module
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", kubeModule, KubeVersion, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w: %s", kubeModule, KubeVersion, err, tail(stderr.String(), 2000))
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s printed no Dir", kubeModule, KubeVersion)
	}
	return info.Dir, nil
}

// buildCommands builds kubeCommands from the module in src into dst,
// working in the directory build under entry. That directory is always
// the same path, so a rebuild (after a killed one, say) finds the
// Kubernetes packages in Go's build cache, whose keys hold their
// directory.
func buildCommands(ctx context.Context, src, entry, dst string) error {
	work := filepath.Join(entry, "build")
	if err := os.RemoveAll(work); err != nil { // a killed build's
		return fmt.Errorf("kubernetes build: %w", err)
	}
	defer os.RemoveAll(work)
	tree, err := prepareSource(src, work)
	if err != nil {
		return err
	}
	out := filepath.Join(work, "bin")
	if err := os.Mkdir(out, 0o755); err != nil {
		return fmt.Errorf("kubernetes build: %w", err)
	}
	args := []string{"build", "-o", out + "/", "-ldflags", versionLDFlags()}
	for _, name := range kubeCommands {
		args = append(args, "./cmd/"+name)
	}
	cmd := goCommand(ctx, tree, args...)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build of Kubernetes %s: %w: %s", KubeVersion, err, tail(string(output), 4000))
	}
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("kubernetes build: %w", err)
	}
	if err := os.Rename(out, dst); err != nil {
		return fmt.Errorf("kubernetes build: %w", err)
	}
	return nil
}

// prepareSource copies the module in src to work/src, writable, without
// its workspace and vendor files and with its go.mod rewritten to build
// outside the Kubernetes repository, and returns the copy's path.
func prepareSource(src, work string) (string, error) {
	tree := filepath.Join(work, "src")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", fmt.Errorf("kubernetes build: %w", err)
	}
	if err := os.CopyFS(tree, os.DirFS(src)); err != nil {
		return "", fmt.Errorf("copying %s for the build: %w", src, err)
	}
	for _, name := range []string{"go.work", "go.work.sum", "vendor"} {
		if err := os.RemoveAll(filepath.Join(tree, name)); err != nil {
			return "", fmt.Errorf("kubernetes build: %w", err)
		}
	}
	if err := rewriteGoMod(filepath.Join(tree, "go.mod")); err != nil {
		return "", err
	}
	return tree, nil
}

// goCommand is a go command run in the module at dir, resolving modules
// through the proxy (the rewritten go.mod has no go.sum lines for the
// published staging modules yet).
func goCommand(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GO111MODULE=on")
	return cmd
}

// versionLDFlags stamps the version the binaries report (the API server
// and kubelet check each other's versions), and strips symbols.
func versionLDFlags() string {
	major, minor := "1", ""
	if parts := strings.Split(strings.TrimPrefix(KubeVersion, "v"), "."); len(parts) >= 2 {
		major, minor = parts[0], parts[1]
	}
	const pkg = "k8s.io/component-base/version."
	return strings.Join([]string{
		"-s", "-w",
		"-X", pkg + "gitVersion=" + KubeVersion,
		"-X", pkg + "gitMajor=" + major,
		"-X", pkg + "gitMinor=" + minor,
		"-X", pkg + "gitTreeState=clean",
	}, " ")
}

// rewriteGoMod makes the Kubernetes go.mod build outside its own
// repository: each staging module comes from its published version
// instead of ./staging, and the sample modules, which are never
// published, are dropped.
func rewriteGoMod(name string) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("kubernetes build: %w", err)
	}
	out, err := rewriteGoModData(name, data)
	if err != nil {
		return err
	}
	if err := os.WriteFile(name, out, 0o644); err != nil {
		return fmt.Errorf("kubernetes build: %w", err)
	}
	return nil
}

// rewriteGoModData is rewriteGoMod on the file's contents.
func rewriteGoModData(name string, data []byte) ([]byte, error) {
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		return nil, fmt.Errorf("kubernetes build: %w", err)
	}
	staged, err := stagingVersion(KubeVersion)
	if err != nil {
		return nil, err
	}
	isSample := func(path string) bool { return strings.HasPrefix(path, "k8s.io/sample-") }
	for _, r := range append([]*modfile.Require(nil), f.Require...) {
		if isSample(r.Mod.Path) {
			if err := f.DropRequire(r.Mod.Path); err != nil {
				return nil, fmt.Errorf("kubernetes build: %w", err)
			}
		}
	}
	replaced := 0
	for _, r := range append([]*modfile.Replace(nil), f.Replace...) {
		if isSample(r.Old.Path) {
			if err := f.DropReplace(r.Old.Path, r.Old.Version); err != nil {
				return nil, fmt.Errorf("kubernetes build: %w", err)
			}
			continue
		}
		if !strings.HasPrefix(r.New.Path, "./staging/") {
			continue
		}
		if err := f.AddReplace(r.Old.Path, r.Old.Version, r.Old.Path, staged); err != nil {
			return nil, fmt.Errorf("kubernetes build: %w", err)
		}
		replaced++
	}
	if replaced == 0 {
		return nil, errors.New("kubernetes build: go.mod replaces no module by ./staging: the module layout changed")
	}
	f.Cleanup()
	out, err := f.Format()
	if err != nil {
		return nil, fmt.Errorf("kubernetes build: %w", err)
	}
	return out, nil
}

// buildPause compiles the pod sandbox program from the Kubernetes sources
// (a static C program) into dst.
func buildPause(ctx context.Context, src, entry, dst string) error {
	tmp, err := os.CreateTemp(entry, "pause-")
	if err != nil {
		return fmt.Errorf("pause build: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.CommandContext(ctx, "gcc", "-static", "-O2", "-DVERSION="+KubeVersion,
		"-o", tmp.Name(), filepath.Join(src, "build", "pause", "linux", "pause.c"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gcc -static pause.c: %w: %s (install gcc and libc6-dev)", err, tail(string(out), 2000))
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("pause build: %w", err)
	}
	return nil
}

// tail is at most the last n bytes of s.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
