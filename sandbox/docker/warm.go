package docker

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// Labels of warm images (see BuildWarm).
const (
	// ImageWarmLabel holds, on a warm image, the key WarmTag was derived
	// from: the hex digest of the bank digest, the base commit and the
	// modules image ID.
	ImageWarmLabel = "dev.cmcgrader.warm"
	// ImageWarmPackagesLabel lists, on a warm image, the package patterns
	// whose tests were compiled into its build cache, space-separated.
	ImageWarmPackagesLabel = "dev.cmcgrader.warm.packages"
	// imageWarmStageLabel marks the images of a warm build's first stage
	// (the base tree and its compilation), removed after the build.
	imageWarmStageLabel = "dev.cmcgrader.warm.stage"
)

// WarmClient is the part of the Docker client BuildWarm uses.
// *client.Client satisfies it.
type WarmClient interface {
	ImageClient
	ImageList(ctx context.Context, opts client.ImageListOptions) (client.ImageListResult, error)
	ImageRemove(ctx context.Context, ref string, opts client.ImageRemoveOptions) (client.ImageRemoveResult, error)
}

var _ WarmClient = (*client.Client)(nil)

// WarmOptions configures BuildWarm. ModulesImage, Key and Workspace are
// required; zero fields of the rest take the documented defaults.
type WarmOptions struct {
	// ModulesImage is the image (tag or ID) made by BuildModules for the
	// base commit. Required.
	ModulesImage string
	// Key identifies what the image is warm for; WarmKey computes it from
	// the bank digest, the base commit and the modules image ID.
	// Required.
	Key string
	// Tag names the image. Default WarmTag(Key).
	Tag string
	// Workspace is a tar stream of the base commit's tree (never a
	// candidate's). It is compiled in a build stage and left out of the
	// final image. Required.
	Workspace io.Reader
	// Packages are the Go package patterns (./server/handlers) whose tests
	// and test dependencies are compiled into the build cache. Empty
	// compiles nothing of the tree: the image is then the modules image
	// with the labels of a warm one.
	Packages []string
	// TestFiles (path relative to the tree's root → content) are the
	// hidden tests. They are laid over the base tree only to list what
	// they import: those packages, outside the main module, are compiled
	// into the build cache too. The test files themselves are never
	// compiled, so nothing of them reaches the image.
	TestFiles map[string][]byte
	// Force rebuilds even when Tag exists with the same key.
	Force bool
	// Labels are added to the image beside the grader's own.
	Labels map[string]string
	// TempDir is where the build lock lives. Default os.TempDir().
	TempDir string
}

// WarmKey is the key of the warm image for a bank digest, a base commit
// and a modules image ID: the hex SHA-256 of the three.
func WarmKey(bankDigest, baseCommit, modulesImageID string) string {
	h := sha256.New()
	fmt.Fprintf(h, "bank %s\nbase %s\nmodules %s\n", bankDigest, baseCommit, modulesImageID)
	return hex.EncodeToString(h.Sum(nil))
}

// WarmTag is the default tag of the warm image with key.
func WarmTag(key string) string {
	if len(key) > 12 {
		key = key[:12]
	}
	return ImageRepository + ":warm-" + key
}

// BuildWarm builds, from the modules image, an image whose build cache
// (sandbox.WarmCacheDir) also holds the compiled test packages of the base tree
// and of every dependency they import, so that grading a candidate
// compiles only what the candidate changed. The base tree is unpacked and
// compiled in a build stage, at sandbox.Workdir and with the sandbox's Go
// settings (so the cache keys match a sandbox run), with no network; only
// the build cache is copied into the final image. A package that does
// not build at the base commit is logged by the build and skipped: the
// image is then less warm, not wrong. It returns the image ID; when Tag
// exists with the same key (and Force is false) it returns that one.
func BuildWarm(ctx context.Context, cli WarmClient, log *logrus.Entry, opts WarmOptions) (string, error) {
	if opts.ModulesImage == "" || opts.Key == "" || opts.Workspace == nil {
		return "", errors.New("warm image: modules image, key and workspace are required")
	}
	if err := checkPatterns(opts.Packages); err != nil {
		return "", err
	}
	for p := range opts.TestFiles {
		if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
			return "", fmt.Errorf("warm image: test file %q: want a clean path relative to the tree's root", p)
		}
	}
	if opts.Tag == "" {
		opts.Tag = WarmTag(opts.Key)
	}
	log = log.WithField("image", opts.Tag)
	mod, err := inspectImage(ctx, cli, opts.ModulesImage)
	if err != nil {
		return "", err
	}
	if mod == nil {
		return "", fmt.Errorf("warm image: modules image %s: %w (build it with BuildModules)", opts.ModulesImage, sandbox.ErrImageNotFound)
	}
	id, unlock, err := reuseOrLock(ctx, cli, log, opts.Tag, opts.TempDir, opts.Force, ImageWarmLabel, opts.Key)
	if id != "" || err != nil {
		return id, err
	}
	defer unlock()
	labels := maps.Clone(opts.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	if mod.Config != nil {
		maps.Copy(labels, mod.Config.Labels) // keep the Go version and base
	}
	labels[ImageLabel] = "true"
	labels[ImageWarmLabel] = opts.Key
	labels[ImageWarmPackagesLabel] = strings.Join(opts.Packages, " ")
	start := time.Now()
	defer removeWarmStage(ctx, cli, log, opts.Key)
	err = phase(log, "build warm image", func() (err error) {
		pr, stop := pipe(func(w io.Writer) error {
			df := warmDockerfile(mod.ID, opts.Key, opts.Packages, len(opts.TestFiles) > 0, labels)
			return writeWarmContext(w, df, opts.Workspace, opts.TestFiles)
		})
		defer stop()
		id, err = buildImage(ctx, cli, log, pr, opts.Tag)
		return err
	})
	if err != nil {
		return "", err
	}
	log.WithFields(logrus.Fields{"id": id, "took": time.Since(start).Round(time.Second)}).Info("warm image built")
	return id, nil
}

// checkPatterns accepts relative package patterns of the main module
// ("./server/...", "."), which are passed to a shell unquoted: letters,
// digits and ./_- only, no ".." element.
func checkPatterns(pkgs []string) error {
	for _, p := range pkgs {
		ok := p == "." || strings.HasPrefix(p, "./")
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("./_-", r)) {
				ok = false
			}
		}
		elems := strings.Split(p, "/")
		for i, e := range elems {
			if e == ".." || e == "" || e == "..." && i != len(elems)-1 {
				ok = false
			}
		}
		if !ok {
			return fmt.Errorf("warm image: package pattern %q: want a relative pattern such as ./server/handlers or ./models/...", p)
		}
	}
	return nil
}

// warmNewDir holds, in the first stage of a warm build, the build cache
// entries the compilation added: only those make the final image's layer.
const warmNewDir = "/opt/cmcgrader/gocache-new"

// warmTestsDir holds, in the first stage of a warm build, the hidden test
// files (the context's tests/ folder).
const warmTestsDir = "/opt/cmcgrader/warm-tests"

// warmGoEnv runs go in the first stage of a warm build with the sandbox's
// settings, so that the cache keys match a sandbox run, and the warm
// cache as $GOCACHE.
const warmGoEnv = "env HOME=/tmp TMPDIR=/tmp GOCACHE=" + sandbox.WarmCacheDir +
	" GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOSUMDB=off GOWORK=off"

// warmDepsList prints, one per line, the packages outside the main module
// (standard library included) that the packages given to it and their
// tests import, directly or not. Test variants ("p [p.test]") and test
// mains ("p.test") are left out by the caller; packages that cannot be
// loaded (an import of a module go.mod lacks) are left out here, since
// one of them would stop go build from compiling any.
const warmDepsList = `go list -e -deps -test -f '{{if not (or .Error .DepsErrors (and .Module .Module.Main))}}{{.ImportPath}}{{end}}'`

// warmDockerfile is the two-stage recipe of a warm image: compile the
// tests of pkgs in the base tree at sandbox.Workdir; with tests, lay the hidden
// test files over that tree and compile the packages outside the main
// module they import; then copy the build cache entries all that added
// (not the tree, and nothing compiled from the hidden tests) onto the
// modules image's cache.
func warmDockerfile(modulesID, key string, pkgs []string, tests bool, labels map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "FROM %s AS warm\n", modulesID)
	b.WriteString(labelInstruction(map[string]string{imageWarmStageLabel: key}))
	fmt.Fprintf(&b, "USER 0:0\nCOPY src %s\n", sandbox.Workdir)
	if tests && len(pkgs) > 0 {
		fmt.Fprintf(&b, "COPY tests %s\n", warmTestsDir)
	}
	fmt.Fprintf(&b, "RUN mkdir -p %s && touch /tmp/.warm-start", warmNewDir)
	if len(pkgs) > 0 {
		list := strings.Join(pkgs, " ")
		// -run '^$' compiles and links every test binary and runs no
		// test. A package that does not build at the base is reported
		// and skipped.
		fmt.Fprintf(&b, " \\\n && { cd %s && %s \\\n"+
			"    go test -count=1 -vet=off -run '^$' %s \\\n"+
			"    || echo 'warm image: some packages did not build at the base commit; they stay cold'; }",
			sandbox.Workdir, warmGoEnv, list)
		if tests {
			// The hidden tests usually do not build at the base (they
			// call what the candidate writes); their imports do.
			fmt.Fprintf(&b, " \\\n && cp -R --remove-destination %s/. %s/ \\\n"+
				" && { cd %s && %s %s %s \\\n"+
				"    | grep -v -e ' ' -e '[.]test$' | xargs -r %s go build \\\n"+
				"    || echo 'warm image: some packages the hidden tests import did not build; they stay cold'; }",
				warmTestsDir, sandbox.Workdir, sandbox.Workdir, warmGoEnv, warmDepsList, list, warmGoEnv)
		}
	}
	fmt.Fprintf(&b, " \\\n && cd %s && find . -type f -newer /tmp/.warm-start | tar -c -f - -T - | tar -x -f - -C %s \\\n"+
		" && chmod -R a+rX %s && rm -rf /tmp/* && du -sh %s\n", sandbox.WarmCacheDir, warmNewDir, warmNewDir, warmNewDir)
	fmt.Fprintf(&b, "FROM %s\nCOPY --from=warm %s %s\n", modulesID, warmNewDir, sandbox.WarmCacheDir)
	fmt.Fprintf(&b, "USER 0:0\nRUN %s\n", warmViewScript)
	b.WriteString("USER 1000:1000\n")
	b.WriteString(labelInstruction(labels))
	return b.String()
}

// removeWarmStage removes the images of the first stage of the warm
// build with key, and their untagged parents: the classic builder keeps
// them, and they hold the base tree. It runs after the caller gave up too.
func removeWarmStage(ctx context.Context, cli WarmClient, log *logrus.Entry, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	f := make(client.Filters).Add("label", imageWarmStageLabel+"="+key)
	list, err := cli.ImageList(ctx, client.ImageListOptions{All: true, Filters: f})
	if err != nil {
		log.WithError(err).Warn("list the build stage images of the warm image")
		return
	}
	for _, img := range list.Items {
		_, err := cli.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{PruneChildren: true})
		if err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
			log.WithError(err).WithField("id", img.ID).Warn("remove a build stage image of the warm image")
		}
	}
}

// writeWarmContext writes the build context: the Dockerfile, the
// workspace tar's entries under src/ and the test files under tests/.
// Only regular files, folders and symlinks of the workspace are kept;
// names are cleaned, and any that would leave src/ are refused.
func writeWarmContext(w io.Writer, dockerfile string, workspace io.Reader, tests map[string][]byte) error {
	tw := tar.NewWriter(w)
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, dockerfile); err != nil {
		return err
	}
	dir := &tar.Header{Typeflag: tar.TypeDir, Name: "src/", Mode: 0o755, ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(dir); err != nil {
		return err
	}
	tr := tar.NewReader(workspace)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read workspace: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "/"))
		if name == "." {
			continue
		}
		if name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("read workspace: entry %q leaves the tree", h.Name)
		}
		out := &tar.Header{Name: "src/" + name, ModTime: time.Unix(0, 0), Mode: 0o644}
		switch h.Typeflag {
		case tar.TypeDir:
			out.Typeflag, out.Mode, out.Name = tar.TypeDir, 0o755, out.Name+"/"
		case tar.TypeReg:
			out.Typeflag, out.Size = tar.TypeReg, h.Size
			if h.Mode&0o111 != 0 {
				out.Mode = 0o755
			}
		case tar.TypeSymlink:
			out.Typeflag, out.Linkname = tar.TypeSymlink, h.Linkname
		default:
			continue
		}
		if err := tw.WriteHeader(out); err != nil {
			return err
		}
		if out.Typeflag == tar.TypeReg {
			if _, err := io.CopyN(tw, tr, h.Size); err != nil {
				return fmt.Errorf("read workspace: %s: %w", h.Name, err)
			}
		}
	}
	if len(tests) > 0 {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tests/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		// Their folders are made by the reader, as tar readers do.
		for _, name := range slices.Sorted(maps.Keys(tests)) {
			data := tests[name]
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "tests/" + name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
				return err
			}
			if _, err := tw.Write(data); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// FindWarm returns the ID of the warm image with key (tagged WarmTag(key)
// and labelled with key), or "" when there is none.
func FindWarm(ctx context.Context, cli ImageClient, key string) (string, error) {
	img, err := inspectImage(ctx, cli, WarmTag(key))
	if err != nil || img == nil || labelOf(img, ImageWarmLabel) != key {
		return "", err
	}
	return img.ID, nil
}
