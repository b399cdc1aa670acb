package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed" // the JUnit reporter is baked into the image
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/internal/flock"
	"github.com/cmcgrader/cmcgrader/sandbox"
)

// Paths and names inside the grading image.
const (
	// ImageRepository is the repository of every image the grader builds.
	ImageRepository = "cmcgrader-sandbox"
	// ImageLabel marks every image the grader builds (value "true").
	ImageLabel = "dev.cmcgrader.image"
	// ImageGoLabel holds the Go version an image carries (e.g. "1.26.8").
	ImageGoLabel = "dev.cmcgrader.go"
	// ImageFilesLabel holds the hex SHA-256 of the grader's own files an
	// image carries: the JUnit reporter (sandbox.ReporterPath), the jest
	// driver and guard (sandbox.JestDriverPath), the source of
	// the supervisor (sandbox.SupervisorPath) and the OPA version
	// (sandbox.OPAPath).
	ImageFilesLabel = "dev.cmcgrader.files"
	// ImageOPALabel holds the OPA version an image carries (e.g. "1.22.3").
	ImageOPALabel = "dev.cmcgrader.opa"
	// ImagePackagesLabel holds the Debian packages a base image was
	// built with, comma-separated: a base whose list differs from the
	// one asked for is rebuilt whole.
	ImagePackagesLabel = "dev.cmcgrader.packages"
	// DefaultOPAVersion is the OPA release base images carry: its opa
	// command is built on the host from the Go module
	// github.com/open-policy-agent/opa.
	DefaultOPAVersion = "1.22.3"
	// ImageJSLabel holds, on a modules image with the base commit's
	// JavaScript packages, their lockfile's path and digest
	// (sandbox.JSDeps.Digest).
	ImageJSLabel = "dev.cmcgrader.js"
	// ImageBaseLabel holds, on a modules image, the ID of its base image.
	ImageBaseLabel = "dev.cmcgrader.base"
	// ModCacheDir is the image's GOMODCACHE, filled by BuildModules.
	ModCacheDir = "/opt/cmcgrader/gomodcache"
	// DefaultMirror is the Debian mirror debootstrap installs from.
	DefaultMirror = "http://deb.debian.org/debian"
)

// ErrBadGoVersion is returned for a Go version that is not of the form
// 1.N, 1.N.M, 1.NrcM or 1.NbetaM.
var ErrBadGoVersion = errors.New("bad go version")

//go:embed image/junit-reporter.mjs
var junitReporter []byte

// jestDriver and jestGuard run jest tasks (sandbox.JestDriverPath,
// sandbox.JestGuardPath).
var (
	//go:embed image/jest-run.cjs
	jestDriver []byte
	//go:embed image/jest-guard.cjs
	jestGuard []byte
)

// supervisorSource is the supervisor's program, built into the image with
// the image's own toolchain (it needs only the standard library).
//
//go:embed supervise/main.go
var supervisorSource []byte

// ImageClient is the part of the Docker client that image builds use:
// base images are built from a Dockerfile, modules images add one layer
// (LayerClient). *client.Client satisfies it.
type ImageClient interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageImport(ctx context.Context, src client.ImageImportSource, ref string, opts client.ImageImportOptions) (client.ImageImportResult, error)
	ImageBuild(ctx context.Context, buildContext io.Reader, opts client.ImageBuildOptions) (client.ImageBuildResult, error)
	LayerClient
}

var _ ImageClient = (*client.Client)(nil)

// BaseOptions configures BuildBase. Zero fields take the documented
// defaults; only GoVersion is required.
type BaseOptions struct {
	// GoVersion is the Go toolchain to install, without the "go" prefix
	// (e.g. "1.26.8"). Required.
	GoVersion string
	// Tag names the image. Default BaseTag(GoVersion).
	Tag string
	// Force rebuilds even when Tag already exists.
	Force bool
	// Mirror is the Debian mirror for debootstrap. Default DefaultMirror.
	Mirror string
	// Packages are installed besides the minbase variant. Default
	// DefaultPackages.
	Packages []string
	// WarmImports are the standard-library packages a warm-up test
	// imports, to fill sandbox.WarmCacheDir. Default DefaultWarmImports.
	WarmImports []string
	// Labels are added to the image beside the grader's own.
	Labels map[string]string
	// TempDir is where the root filesystem is assembled (about 400 MB).
	// Default os.TempDir().
	TempDir string
	// GoCommand is the host go command that downloads the toolchain
	// module and builds opa. Default "go".
	GoCommand string
	// OPAVersion is the OPA release built into the image (sandbox.OPAPath),
	// without the "v". Default DefaultOPAVersion.
	OPAVersion string
	// OPACache is the host folder keeping the opa commands built, one
	// folder per version, so that an update builds each version once.
	// Default cmcgrader-opa in TempDir.
	OPACache string
	// Debootstrap is the host debootstrap command. Default "debootstrap".
	Debootstrap string
}

// DefaultPackages are the Debian packages base images carry besides the
// minbase variant: Node.js, for js tasks, and Debian's jest (29.3.1 in
// bookworm) with its dependencies, for jest tasks whose bank uses the
// image's jest (tasks.JSDepsImage). debootstrap does not resolve virtual
// packages, so the packages that provide those jest's dependencies name
// are listed too (as apt chooses them in bookworm).
var DefaultPackages = []string{
	"nodejs", "jest",
	"node-anymatch", "node-babel7", "node-babel7-runtime", "node-browserslist", "node-deep-equal",
	"node-es-abstract", "node-es6-symbol", "node-function-bind", "node-istanbul", "node-jsdom",
	"node-lodash-packages", "node-n3", "node-npm-run-path", "node-read-pkg", "node-resolve",
	"node-resolve-from", "node-sane", "node-slice-ansi", "node-tape",
}

// DefaultWarmImports are the packages whose compiled form and vet facts
// are baked into sandbox.WarmCacheDir: what tests of a web server and a CLI
// usually import. A test needing only these compiles just its own code.
var DefaultWarmImports = []string{
	"archive/tar", "bufio", "bytes", "compress/gzip", "context",
	"crypto/sha256", "crypto/tls", "database/sql", "embed",
	"encoding/base64", "encoding/json", "encoding/xml", "errors", "flag",
	"fmt", "html/template", "io", "io/fs", "log", "log/slog", "net/http",
	"net/http/httptest", "net/url", "os", "os/exec", "path/filepath",
	"reflect", "regexp", "sort", "strconv", "strings", "sync", "testing",
	"testing/fstest", "text/template", "time",
}

// BaseTag is the default tag of the base image for a Go version.
func BaseTag(goVersion string) string {
	return ImageRepository + ":go" + goVersion
}

// ModulesTag is the default tag of the modules image for a Go version, a
// go.mod/go.sum pair and the go.mod files of the folders it replaces
// modules by.
func ModulesTag(goVersion string, goMod, goSum []byte, local map[string][]byte) string {
	h := sha256.New()
	h.Write(goMod)
	h.Write(goSum)
	for _, dir := range slices.Sorted(maps.Keys(local)) {
		fmt.Fprintf(h, "\x00%s\x00%d\x00", dir, len(local[dir]))
		h.Write(local[dir])
	}
	return BaseTag(goVersion) + "-mod-" + hex.EncodeToString(h.Sum(nil))[:12]
}

var goVersionRE = regexp.MustCompile(`^1\.[0-9]+(\.[0-9]+|(rc|beta)[0-9]+)?$`)

// BuildBase builds the grading base image without a registry: a Debian
// root filesystem from debootstrap, the Go toolchain from the Go module
// proxy, the user cmc (1000:1000), the JUnit reporter, and a warmed Go
// build cache. It returns the image ID. When opts.Tag exists and
// opts.Force is false it returns that image's ID without building, after
// adding a layer with this binary's JUnit reporter if the image carries
// another one. A base built with other packages (ImagePackagesLabel) is
// rebuilt whole; other changes of the recipe (warm imports) need Force.
// It needs root (debootstrap) on a Linux host.
func BuildBase(ctx context.Context, cli ImageClient, log *logrus.Entry, opts BaseOptions) (string, error) {
	if !goVersionRE.MatchString(opts.GoVersion) {
		return "", fmt.Errorf("%w: %q", ErrBadGoVersion, opts.GoVersion)
	}
	opts = opts.withDefaults()
	log = log.WithField("image", opts.Tag)
	// fresh says img can be used as it is.
	fresh := func(img *client.ImageInspectResult) bool {
		return img != nil && !opts.Force && labelOf(img, ImageFilesLabel) == filesDigest(opts.OPAVersion) && samePackages(img, opts)
	}
	img, err := inspectImage(ctx, cli, opts.Tag)
	if err != nil || fresh(img) {
		return idOf(img), err
	}
	unlock, err := lockBuild(ctx, opts.TempDir, opts.Tag)
	if err != nil {
		return "", err
	}
	defer unlock()
	if img, err = inspectImage(ctx, cli, opts.Tag); err != nil || fresh(img) {
		return idOf(img), err // built by another process meanwhile
	}
	if img != nil && !opts.Force && samePackages(img, opts) {
		log.WithField("id", img.ID).Info("base image exists; updating the grader's files in it")
		return buildFiles(ctx, cli, log, img.ID, opts)
	}
	start := time.Now()
	tmp, err := os.MkdirTemp(opts.TempDir, "cmcgrader-base-")
	if err != nil {
		return "", fmt.Errorf("base image: %w", err)
	}
	defer removeTemp(log, tmp)
	rootfs := filepath.Join(tmp, "rootfs")

	if err := phase(log, "debootstrap", func() error { return debootstrap(ctx, log, opts, rootfs) }); err != nil {
		return "", err
	}
	if err := phase(log, "prepare rootfs", func() error { return prepareRootfs(rootfs) }); err != nil {
		return "", err
	}
	var zipPath string
	err = phase(log, "download go", func() (err error) {
		zipPath, err = downloadToolchain(ctx, opts.GoCommand, opts.GoVersion, filepath.Join(tmp, "gomodcache"))
		return err
	})
	if err != nil {
		return "", err
	}
	var rootfsID string
	err = phase(log, "import rootfs", func() (err error) {
		rootfsID, err = importRootfs(ctx, cli, rootfs, zipPath, opts)
		return err
	})
	if err != nil {
		return "", err
	}
	var id string
	err = phase(log, "warm go cache", func() (err error) {
		id, err = warmBase(ctx, cli, log, rootfsID, opts)
		return err
	})
	if err != nil {
		return "", err
	}
	err = phase(log, "grader files", func() (err error) {
		id, err = buildFiles(ctx, cli, log, id, opts)
		return err
	})
	if err != nil {
		return "", err
	}
	log.WithFields(logrus.Fields{"id": id, "took": time.Since(start).Round(time.Second)}).Info("base image built")
	return id, nil
}

// ModulesOptions configures BuildModules. Zero fields take the documented
// defaults; BaseImage and GoMod are required.
type ModulesOptions struct {
	// BaseImage is the image (tag or ID) made by BuildBase. Required.
	BaseImage string
	// GoMod and GoSum are the base commit's go.mod and go.sum (never a
	// candidate's). Their modules are downloaded on the host and baked
	// into ModCacheDir. GoMod is required.
	GoMod, GoSum []byte
	// LocalModules are the go.mod files of the folders GoMod replaces
	// modules by, by cleaned slash path (sandbox.ImageRequest).
	LocalModules map[string][]byte
	// Tag names the image. Default ModulesTag of the base image's Go
	// version (its ImageGoLabel), GoMod and GoSum.
	Tag string
	// Force rebuilds even when Tag exists and was built on BaseImage.
	Force bool
	// GoProxy is GOPROXY for the download. Empty keeps the host
	// environment's.
	GoProxy string
	// Labels are added to the image beside the grader's own.
	Labels map[string]string
	// TempDir is where modules are downloaded. Default os.TempDir().
	TempDir string
	// GoCommand is the host go command that downloads the modules.
	// Default "go".
	GoCommand string
	// JS, when its Lockfile is set, are the base commit's JavaScript
	// packages: installed on the host (npm ci --ignore-scripts) and baked
	// into sandbox.NodeModulesDir. The tag then carries their digest.
	JS sandbox.JSDeps
	// NPMCommand is the host npm command. Default "npm".
	NPMCommand string
}

// ErrLocalReplace is returned by BuildModules for a go.mod that replaces
// a module by a directory it was not given (LocalModules): one outside
// the repository, or one without a go.mod.
var ErrLocalReplace = errors.New("go.mod replaces a module by a directory")

// BuildModules builds, on the base image, an image whose GOMODCACHE
// (ModCacheDir) holds every module go.mod requires, so that a sandbox
// with GOPROXY=off and no network can build. The modules are downloaded
// on the host with the host's go command from a folder holding only
// go.mod and go.sum, then written as one layer on the base image
// (commitLayer): one tar stream, owned by root, without the zips of the
// extracted modules. It returns the image ID; when the tag exists and was
// built on the same base image (and Force is false) it returns that one.
func BuildModules(ctx context.Context, cli ImageClient, log *logrus.Entry, opts ModulesOptions) (string, error) {
	if opts.BaseImage == "" || len(opts.GoMod) == 0 {
		return "", errors.New("modules image: base image and go.mod are required")
	}
	if opts.GoCommand == "" {
		opts.GoCommand = "go"
	}
	base, err := inspectImage(ctx, cli, opts.BaseImage)
	if err != nil {
		return "", err
	}
	if base == nil {
		return "", fmt.Errorf("modules image: base %s: %w (build it with BuildBase)", opts.BaseImage, sandbox.ErrImageNotFound)
	}
	goVersion := labelOf(base, ImageGoLabel)
	if opts.Tag == "" {
		if goVersion == "" {
			return "", fmt.Errorf("modules image: base %s has no %s label: set a tag", opts.BaseImage, ImageGoLabel)
		}
		opts.Tag = jsTag(ModulesTag(goVersion, opts.GoMod, opts.GoSum, opts.LocalModules), opts.JS)
	}
	log = log.WithField("image", opts.Tag)
	id, unlock, err := reuseOrLock(ctx, cli, log, opts.Tag, opts.TempDir, opts.Force, ImageBaseLabel, base.ID)
	if id != "" || err != nil {
		return id, err
	}
	defer unlock()
	start := time.Now()
	tmp, err := os.MkdirTemp(opts.TempDir, "cmcgrader-mod-")
	if err != nil {
		return "", fmt.Errorf("modules image: %w", err)
	}
	defer removeTemp(log, tmp)
	modCache := filepath.Join(tmp, "gomodcache")
	err = phase(log, "download modules", func() error {
		return downloadModules(ctx, log, opts, filepath.Join(tmp, "mod"), modCache)
	})
	if err != nil {
		return "", err
	}
	dirs := []contextDir{{modCache, strings.TrimPrefix(ModCacheDir, "/")}}
	if opts.JS.Lockfile != "" {
		npm := opts.NPMCommand
		if npm == "" {
			npm = "npm"
		}
		js := filepath.Join(tmp, "js")
		err = phase(log, "install js packages", func() error { return installJSDeps(ctx, log, npm, opts.JS, js) })
		if err != nil {
			return "", err
		}
		dirs = append(dirs, contextDir{filepath.Join(js, "node_modules"), strings.TrimPrefix(nodeModulesAt(opts.JS.Lockfile), "/")})
	}
	labels := maps.Clone(opts.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[ImageLabel] = "true"
	labels[ImageBaseLabel] = base.ID
	if goVersion != "" {
		labels[ImageGoLabel] = goVersion
	}
	if opts.JS.Lockfile != "" {
		labels[ImageJSLabel] = opts.JS.Digest()
	}
	// One layer: the module tree (and node_modules) as one tar stream,
	// owned by root, committed with the labels in one go.
	id, err = commitLayer(ctx, cli, log, base.ID, opts.Tag, labels, func(w io.Writer) error {
		return writeContextDirs(w, nil, dirs...)
	})
	if err != nil {
		return "", fmt.Errorf("modules image: %w", err)
	}
	log.WithFields(logrus.Fields{"id": id, "took": time.Since(start).Round(time.Second)}).Info("modules image built")
	return id, nil
}

// idOf is the ID of img, or "" for nil.
func idOf(img *client.ImageInspectResult) string {
	if img == nil {
		return ""
	}
	return img.ID
}

// filesDigest is the hex SHA-256 of the grader's files this binary bakes
// into base images with OPA opaVersion (their ImageFilesLabel).
func filesDigest(opaVersion string) string {
	h := sha256.New()
	h.Write(junitReporter)
	h.Write([]byte{0})
	h.Write(supervisorSource)
	for _, f := range [][]byte{jestDriver, jestGuard} {
		h.Write([]byte{0})
		h.Write(f)
	}
	h.Write([]byte("\x00opa\x00" + opaVersion))
	return hex.EncodeToString(h.Sum(nil))
}

// buildFiles rebuilds the base image tag from the image id with the
// grader's files of this binary: the JUnit reporter, the supervisor,
// compiled there offline by the image's Go toolchain, and opa, built on
// the host (hostOPA). A change to any costs one layer, not a new base.
// Images made before warm cache views existed get their view here too.
func buildFiles(ctx context.Context, cli ImageClient, log *logrus.Entry, id string, opts BaseOptions) (string, error) {
	var opa []byte
	err := phase(log, "build opa "+opts.OPAVersion, func() error {
		bin, err := hostOPA(ctx, log, opts)
		if err == nil {
			opa, err = os.ReadFile(bin)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	// One COPY of a tree at the root, holding a new folder and opa in its
	// place: consecutive COPY steps whose layer comes out empty (the
	// reporter unchanged) make the classic builder fail with "layer does
	// not exist", and a copy moved by RUN would weigh twice.
	const src = "/opt/cmcgrader/src"
	dockerfile := fmt.Sprintf(`FROM %s
USER 0:0
COPY root /
RUN cp %s/junit-reporter.mjs %s \
 && cp %s/jest-run.cjs %s && cp %s/jest-guard.cjs %s \
 && cd %s/supervise \
 && HOME=/tmp GOCACHE=/tmp/supervise-cache CGO_ENABLED=0 GOFLAGS=-mod=mod GOPROXY=off go build -trimpath -o %s . \
 && cd / && rm -rf %s /tmp/* \
 && chmod 0755 %s && chmod 0644 %s %s %s \
 && { [ -f %s ] || [ ! -d %s ] || { %s; }; }
USER 1000:1000
`, id, src, sandbox.ReporterPath, src, sandbox.JestDriverPath, src, sandbox.JestGuardPath, src, sandbox.SupervisorPath, src, sandbox.SupervisorPath, sandbox.ReporterPath, sandbox.JestDriverPath, sandbox.JestGuardPath, sandbox.WarmCacheView, sandbox.WarmCacheDir, warmViewScript) + labelInstruction(baseLabels(opts))
	files := []contextFile{
		{"Dockerfile", dockerfile},
		{"root" + src + "/junit-reporter.mjs", string(junitReporter)},
		{"root" + src + "/jest-run.cjs", string(jestDriver)},
		{"root" + src + "/jest-guard.cjs", string(jestGuard)},
		{"root" + src + "/supervise/go.mod", "module cmcgrader.invalid/supervise\n\ngo " + langVersion(opts.GoVersion) + "\n"},
		{"root" + src + "/supervise/main.go", string(supervisorSource)},
		{"root" + sandbox.OPAPath, string(opa)},
	}
	pr, stop := pipe(func(w io.Writer) error { return writeContext(w, files, "", "") })
	defer stop()
	return buildImage(ctx, cli, log, pr, opts.Tag)
}

// samePackages reports whether base image img was built with the
// packages opts asks for.
func samePackages(img *client.ImageInspectResult, opts BaseOptions) bool {
	return labelOf(img, ImagePackagesLabel) == strings.Join(opts.Packages, ",")
}

func labelOf(img *client.ImageInspectResult, key string) string {
	if img.Config == nil {
		return ""
	}
	return img.Config.Labels[key]
}

// downloadModules runs go mod download in dir, which holds only go.mod
// and go.sum, filling modCache.
func downloadModules(ctx context.Context, log *logrus.Entry, opts ModulesOptions, dir, modCache string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	// A go.mod that needs no module leaves the cache empty, not missing.
	if err := os.MkdirAll(modCache, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), opts.GoMod, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), opts.GoSum, 0o644); err != nil {
		return err
	}
	for rel, gomod := range opts.LocalModules {
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return fmt.Errorf("%w: %s is not a folder inside the repository", ErrLocalReplace, rel)
		}
		sub := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(sub, "go.mod"), gomod, 0o644); err != nil {
			return err
		}
	}
	env := append(os.Environ(), "GOMODCACHE="+modCache, "GOFLAGS=-modcacherw",
		"GOTOOLCHAIN=local", "GO111MODULE=on", "GOWORK=off")
	if opts.GoProxy != "" {
		env = append(env, "GOPROXY="+opts.GoProxy)
	}
	edit := exec.CommandContext(ctx, opts.GoCommand, "mod", "edit", "-json")
	edit.Dir, edit.Env = dir, env
	out, err := edit.Output()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return fmt.Errorf("go mod edit: %w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	if err != nil {
		return fmt.Errorf("go mod edit: %w", err)
	}
	if err := checkReplaces(out, opts.LocalModules); err != nil {
		return err
	}
	dl := exec.CommandContext(ctx, opts.GoCommand, "mod", "download")
	dl.Dir, dl.Env = dir, env
	return run(ctx, log, dl)
}

// checkReplaces rejects, in the output of go mod edit -json, the
// replacements by directories that are not among local: the go command
// ignores a replacement of the main module itself, and local holds the
// folders inside the repository.
func checkReplaces(editJSON []byte, local map[string][]byte) error {
	var mod struct {
		Module  struct{ Path string }
		Replace []struct {
			Old, New struct{ Path, Version string }
		}
	}
	if err := json.Unmarshal(editJSON, &mod); err != nil {
		return fmt.Errorf("go mod edit: %w", err)
	}
	for _, r := range mod.Replace {
		if r.New.Version != "" || r.Old.Path == mod.Module.Path {
			continue
		}
		if _, ok := local[path.Clean(r.New.Path)]; !ok {
			return fmt.Errorf("%w: %s => %s", ErrLocalReplace, r.Old.Path, r.New.Path)
		}
	}
	return nil
}

func (o BaseOptions) withDefaults() BaseOptions {
	if o.Tag == "" {
		o.Tag = BaseTag(o.GoVersion)
	}
	if o.Mirror == "" {
		o.Mirror = DefaultMirror
	}
	if o.Packages == nil {
		o.Packages = DefaultPackages
	}
	if o.WarmImports == nil {
		o.WarmImports = DefaultWarmImports
	}
	if o.GoCommand == "" {
		o.GoCommand = "go"
	}
	if o.Debootstrap == "" {
		o.Debootstrap = "debootstrap"
	}
	if o.OPAVersion == "" {
		o.OPAVersion = DefaultOPAVersion
	}
	if o.OPACache == "" {
		dir := o.TempDir
		if dir == "" {
			dir = os.TempDir()
		}
		o.OPACache = filepath.Join(dir, "cmcgrader-opa")
	}
	return o
}

// reuseOrLock returns the ID of image tag when it exists, force is off and
// its label key holds want. Otherwise it takes the build lock of tag and
// looks again (another process may have built it meanwhile); when the
// image is still missing it returns an empty ID and the unlock func the
// caller runs after building.
func reuseOrLock(ctx context.Context, cli ImageClient, log *logrus.Entry, tag, tempDir string, force bool, key, want string) (id string, unlock func(), err error) {
	exists := func() (string, error) {
		img, err := inspectImage(ctx, cli, tag)
		if err != nil || img == nil || force || labelOf(img, key) != want {
			return "", err
		}
		log.WithField("id", img.ID).Info("image exists")
		return img.ID, nil
	}
	if id, err := exists(); id != "" || err != nil {
		return id, nil, err
	}
	if unlock, err = lockBuild(ctx, tempDir, tag); err != nil {
		return "", nil, err
	}
	if id, err := exists(); id != "" || err != nil {
		unlock()
		return id, nil, err
	}
	return "", unlock, nil
}

// lockBuild serializes the builds of tag among the processes of this host
// (several graders, or test binaries, may share an engine): it takes an
// exclusive flock on a file in dir (default os.TempDir()). The returned
// func releases it.
func lockBuild(ctx context.Context, dir, tag string) (unlock func(), err error) {
	if dir == "" {
		dir = os.TempDir()
	}
	sum := sha256.Sum256([]byte(tag))
	name := filepath.Join(dir, "cmcgrader-build-"+hex.EncodeToString(sum[:8])+".lock")
	unlock, err = flock.Lock(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("lock build: %w", err)
	}
	return unlock, nil
}

// phase runs f and logs its duration.
func phase(log *logrus.Entry, name string, f func() error) error {
	start := time.Now()
	log.WithField("phase", name).Info("start")
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	log.WithFields(logrus.Fields{"phase": name, "took": time.Since(start).Round(time.Millisecond)}).Info("done")
	return nil
}

// inspectImage returns the image ref, or nil when there is none.
func inspectImage(ctx context.Context, cli ImageClient, ref string) (*client.ImageInspectResult, error) {
	img, err := cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	return &img, nil
}

// streamMessage is one JSON message of the engine's build and import
// progress streams.
type streamMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// readStream decodes the engine's progress stream, calls f for each
// message and returns the first error message the engine reported.
func readStream(r io.Reader, f func(streamMessage)) error {
	dec := json.NewDecoder(r)
	for {
		var m streamMessage
		err := dec.Decode(&m)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read engine stream: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(strings.TrimSpace(m.ErrorDetail.Message))
		}
		if m.Error != "" {
			return errors.New(strings.TrimSpace(m.Error))
		}
		f(m)
	}
}

// warmBase builds the final base image from the imported root
// filesystem: it checks the Go version and fills sandbox.WarmCacheDir by
// testing a module importing opts.WarmImports.
func warmBase(ctx context.Context, cli ImageClient, log *logrus.Entry, rootfsID string, opts BaseOptions) (string, error) {
	var test strings.Builder
	test.WriteString("package warm\n\nimport (\n")
	for _, p := range opts.WarmImports {
		if p != "testing" {
			fmt.Fprintf(&test, "\t_ %q\n", p)
		}
	}
	test.WriteString("\t\"testing\"\n)\n\nfunc TestWarm(t *testing.T) {}\n")
	dockerfile := fmt.Sprintf(`FROM %s
USER 0:0
COPY warm /opt/cmcgrader/warm
RUN test "$(go env GOVERSION)" = go%s \
 && cd /opt/cmcgrader/warm \
 && HOME=/tmp GOCACHE=%s GOFLAGS=-mod=mod go test -count=1 . \
 && chmod -R a+rX %s \
 && %s \
 && rm -rf /tmp/* \
 && du -sh %s
USER 1000:1000
`, rootfsID, opts.GoVersion, sandbox.WarmCacheDir, sandbox.WarmCacheDir, warmViewScript, sandbox.WarmCacheDir) + labelInstruction(baseLabels(opts))
	files := []contextFile{
		{"Dockerfile", dockerfile},
		{"warm/go.mod", "module cmcgrader.invalid/warm\n\ngo " + langVersion(opts.GoVersion) + "\n"},
		{"warm/warm_test.go", test.String()},
	}
	pr, stop := pipe(func(w io.Writer) error { return writeContext(w, files, "", "") })
	defer stop()
	return buildImage(ctx, cli, log, pr, opts.Tag)
}

// langVersion is the language version of a Go version: 1.26.8 → 1.26.
func langVersion(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	n, _, _ := strings.Cut(strings.SplitN(parts[1], "rc", 2)[0], "beta")
	return parts[0] + "." + n
}

// pipe runs write in a goroutine that feeds the returned reader; stop
// closes the reader and waits for write to return, so that nothing write
// reads is released under it.
func pipe(write func(io.Writer) error) (r io.Reader, stop func()) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(write(pw))
	}()
	return pr, func() {
		pr.Close()
		<-done
	}
}

// contextFile is a file of a build context.
type contextFile struct{ name, body string }

// writeContext writes a build context to w: files, then the tree at dir
// (when not empty) under the name at, with normalized modes and owners.
// Below dir, the folder cache/vcs, the download locks and the zips of
// extracted modules (extractedZip) are skipped: a module cache needs none
// to build.
func writeContext(w io.Writer, files []contextFile, dir, at string) error {
	return writeContextDirs(w, files, contextDir{dir, at})
}

// contextDir is a host folder written into a build context at a path.
type contextDir struct{ dir, at string }

// extractedZip reports whether rel, a file below the module cache dir, is
// a module's download zip (cache/download/MOD/@v/VER.zip) whose module is
// extracted (MOD@VER) beside its .ziphash: the go command then builds from
// the extracted tree and checks go.sum against the .ziphash, and never
// opens the zip.
func extractedZip(dir, rel string) bool {
	at, ok := strings.CutPrefix(rel, "cache/download/")
	if !ok || !strings.HasSuffix(at, ".zip") {
		return false
	}
	mod, ver, ok := strings.Cut(strings.TrimSuffix(at, ".zip"), "/@v/")
	if !ok || mod == "" || ver == "" || strings.Contains(ver, "/") {
		return false
	}
	hash, err := os.Stat(filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(rel, ".zip")+".ziphash")))
	if err != nil || !hash.Mode().IsRegular() {
		return false
	}
	tree, err := os.Stat(filepath.Join(dir, filepath.FromSlash(mod+"@"+ver)))
	return err == nil && tree.IsDir()
}

// writeContextDirs is writeContext with any number of folders.
func writeContextDirs(w io.Writer, files []contextFile, dirs ...contextDir) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: time.Unix(0, 0)}
		if strings.Contains(f.name, "/bin/") {
			hdr.Mode = 0o755 // a program
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			return err
		}
	}
	for _, cd := range dirs {
		dir, at := cd.dir, cd.at
		if dir == "" {
			continue
		}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if rel == "cache/vcs" {
				return fs.SkipDir
			}
			if !d.IsDir() && !d.Type().IsRegular() {
				return nil // the go command writes no symlinks or devices
			}
			if !d.IsDir() && strings.HasPrefix(rel, "cache/download/") && (strings.HasSuffix(rel, ".lock") || extractedZip(dir, rel)) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			hdr := &tar.Header{Name: path.Join(at, rel), Mode: 0o644, ModTime: info.ModTime()}
			if d.IsDir() {
				hdr.Typeflag, hdr.Mode, hdr.Name = tar.TypeDir, 0o755, hdr.Name+"/"
				return tw.WriteHeader(hdr)
			}
			if info.Mode()&0o111 != 0 {
				hdr.Mode = 0o755
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.CopyN(tw, f, hdr.Size)
			return err
		})
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// labelInstruction is a Dockerfile LABEL line setting labels, sorted:
// one instruction is one layer commit, where the build option Labels
// costs one per label.
func labelInstruction(labels map[string]string) string {
	var b strings.Builder
	b.WriteString("LABEL")
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		fmt.Fprintf(&b, " %s=%s", k, strconv.Quote(labels[k]))
	}
	return b.String() + "\n"
}

// buildImage runs a classic-builder build (BuildKit needs a session) with
// no network, tags it and returns the image ID.
func buildImage(ctx context.Context, cli ImageClient, log *logrus.Entry, buildContext io.Reader, tag string) (string, error) {
	res, err := cli.ImageBuild(ctx, buildContext, client.ImageBuildOptions{
		Tags:        []string{tag},
		Remove:      true,
		ForceRemove: true,
		NetworkMode: "none",
		Version:     build.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("build image: %w", err)
	}
	defer res.Body.Close()
	err = readStream(res.Body, func(m streamMessage) {
		if s := strings.TrimSpace(m.Stream); s != "" {
			log.Debug(s)
		}
	})
	if err != nil {
		return "", fmt.Errorf("build image: %w", err)
	}
	img, err := inspectImage(ctx, cli, tag)
	if err != nil {
		return "", err
	}
	if img == nil {
		return "", fmt.Errorf("build image: %s missing after build", tag)
	}
	return img.ID, nil
}
