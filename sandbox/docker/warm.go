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

	"github.com/moby/moby/api/types/container"
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
	// imageWarmStageLabel marks the stage container of a warm build (the
	// base tree and its compilation), removed after the build.
	imageWarmStageLabel = "dev.cmcgrader.warm.stage"
)

// WarmClient is the part of the Docker client BuildWarm uses.
// *client.Client satisfies it.
type WarmClient interface {
	ImageClient
	ContainerStart(ctx context.Context, id string, opts client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerWait(ctx context.Context, id string, opts client.ContainerWaitOptions) client.ContainerWaitResult
	ContainerLogs(ctx context.Context, id string, opts client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	CopyFromContainer(ctx context.Context, id string, opts client.CopyFromContainerOptions) (client.CopyFromContainerResult, error)
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
	// candidate's). It is compiled in a stage container and left out of
	// the final image. Required.
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
// compiles only what the candidate changed. The base tree is copied into
// a stage container of the modules image as one tar stream and compiled
// there, at sandbox.Workdir and with the sandbox's Go settings (so the
// cache keys match a sandbox run), with no network; the cache entries
// that compilation added, and the view of the whole cache, are streamed
// from the stage into one new layer on the modules image (commitLayer),
// and the stage, which holds the tree, is removed. A package that does
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
	id, err = buildWarmLayer(ctx, cli, log, mod.ID, labels, opts)
	if err != nil {
		return "", fmt.Errorf("warm image: %w", err)
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

// warmOutDir holds, in the stage container of a warm build, what the
// final image's layer gets, named as in the folder of
// sandbox.WarmCacheDir: the build cache entries the compilation added
// (gocache/) and the view of the whole warm cache (gocache.view.tar).
const warmOutDir = "/opt/cmcgrader/warm-out"

// warmTestsDir holds, in the stage container of a warm build, the hidden
// test files.
const warmTestsDir = "/opt/cmcgrader/warm-tests"

// warmGoEnv runs go in the stage container of a warm build with the
// sandbox's settings, so that the cache keys match a sandbox run, and the
// warm cache as $GOCACHE.
const warmGoEnv = "env HOME=/tmp TMPDIR=/tmp GOCACHE=" + sandbox.WarmCacheDir +
	" GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOSUMDB=off GOWORK=off"

// warmDepsList prints, one per line, the packages outside the main module
// (standard library included) that the packages given to it and their
// tests import, directly or not. Test variants ("p [p.test]") and test
// mains ("p.test") are left out by the caller; packages that cannot be
// loaded (an import of a module go.mod lacks) are left out here, since
// one of them would stop go build from compiling any.
const warmDepsList = `go list -e -deps -test -f '{{if not (or .Error .DepsErrors (and .Module .Module.Main))}}{{.ImportPath}}{{end}}'`

// warmScript is the shell script the stage container of a warm build runs
// as root: compile the tests of pkgs in the base tree at sandbox.Workdir;
// with tests, lay the hidden test files over that tree and compile the
// packages outside the main module they import; then copy the build cache
// entries all that added (not the tree, and nothing compiled from the
// hidden tests) to warmOutDir, with the view of the whole cache.
func warmScript(pkgs []string, tests bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\nmkdir -p %s/gocache\ntouch /tmp/.warm-start\n", warmOutDir)
	if len(pkgs) > 0 {
		list := strings.Join(pkgs, " ")
		// -run '^$' compiles and links every test binary and runs no
		// test. A package that does not build at the base is reported
		// and skipped.
		fmt.Fprintf(&b, "cd %s\n%s go test -count=1 -vet=off -run '^$' %s \\\n"+
			"  || echo 'warm image: some packages did not build at the base commit; they stay cold'\n",
			sandbox.Workdir, warmGoEnv, list)
		if tests {
			// The hidden tests usually do not build at the base (they
			// call what the candidate writes); their imports do.
			fmt.Fprintf(&b, "cp -R --remove-destination %s/. %s/\n"+
				"{ %s %s %s | grep -v -e ' ' -e '[.]test$' | xargs -r %s go build; } \\\n"+
				"  || echo 'warm image: some packages the hidden tests import did not build; they stay cold'\n",
				warmTestsDir, sandbox.Workdir, warmGoEnv, warmDepsList, list, warmGoEnv)
		}
	}
	fmt.Fprintf(&b, "cd %s\nfind . -type f -newer /tmp/.warm-start | tar -c -f - -T - | tar -x -f - -C %s/gocache\n",
		sandbox.WarmCacheDir, warmOutDir)
	fmt.Fprintf(&b, "%s\ncp %s %s/\nchmod -R a+rX %s\ndu -sh %s\n",
		warmViewScript, sandbox.WarmCacheView, warmOutDir, warmOutDir, warmOutDir)
	return b.String()
}

// buildWarmLayer compiles in a stage container made from the modules
// image (the base tree and the hidden tests copied in as one tar stream,
// no network), then makes the warm image from the modules image plus one
// layer: the stage's warmOutDir, streamed from the stage into the layer's
// container. The stage container, which holds the base tree, is removed.
func buildWarmLayer(ctx context.Context, cli WarmClient, log *logrus.Entry, modID string, labels map[string]string, opts WarmOptions) (string, error) {
	owner, err := selfOwner()
	if err != nil {
		return "", err
	}
	stage, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image: modID, User: "0:0", Tty: true, WorkingDir: "/",
			Cmd:    []string{"sh", "-c", warmScript(opts.Packages, len(opts.TestFiles) > 0)},
			Labels: map[string]string{imageWarmStageLabel: opts.Key, LabelManaged: "true", LabelOwner: owner},
		},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	if err != nil {
		return "", fmt.Errorf("create the build stage: %w", err)
	}
	defer removeBuildContainer(ctx, cli, log, stage.ID)
	err = phase(log, "send base tree", func() error {
		pr, stop := pipe(func(w io.Writer) error { return writeWarmTree(w, opts.Workspace, opts.TestFiles) })
		defer stop()
		_, err := cli.CopyToContainer(ctx, stage.ID, client.CopyToContainerOptions{DestinationPath: "/", Content: pr})
		return err
	})
	if err != nil {
		return "", err
	}
	if err := phase(log, "compile", func() error { return runStage(ctx, cli, log, stage.ID) }); err != nil {
		return "", err
	}
	out, err := cli.CopyFromContainer(ctx, stage.ID, client.CopyFromContainerOptions{SourcePath: warmOutDir})
	if err != nil {
		return "", fmt.Errorf("read the build stage's cache entries: %w", err)
	}
	defer out.Content.Close()
	return commitLayer(ctx, cli, log, modID, opts.Tag, labels, func(w io.Writer) error {
		return rerootWarmOut(w, out.Content)
	})
}

// runStage starts the stage container id, waits for it to end and logs
// what it printed; an exit status other than 0 is an error holding the
// last lines.
func runStage(ctx context.Context, cli WarmClient, log *logrus.Entry, id string) error {
	wait := cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start the build stage: %w", err)
	}
	var code int64
	select {
	case res := <-wait.Result:
		if res.Error != nil {
			return fmt.Errorf("wait for the build stage: %s", res.Error.Message)
		}
		code = res.StatusCode
	case err := <-wait.Error:
		return fmt.Errorf("wait for the build stage: %w", err)
	}
	logs, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return fmt.Errorf("read the build stage's output: %w", err)
	}
	defer logs.Close()
	// The stage runs the base tree's build, not candidate code; its
	// output is bounded all the same.
	text, err := io.ReadAll(io.LimitReader(logs, 4<<20))
	if err != nil {
		return fmt.Errorf("read the build stage's output: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(text), "\r\n", "\n")), "\n")
	for _, line := range lines {
		if strings.HasPrefix(line, "warm image:") {
			log.Warn(line)
		} else {
			log.Debug(line)
		}
	}
	if code != 0 {
		return fmt.Errorf("build stage exited with status %d: %s", code, strings.Join(lines[max(0, len(lines)-20):], "\n"))
	}
	return nil
}

// rerootWarmOut copies the tar stream of warmOutDir (the engine names its
// entries warm-out/...) to w as entries of the folder of
// sandbox.WarmCacheDir, owned by root. The two roots (warm-out/ and
// warm-out/gocache/) are left out, so the image's folders keep their
// modes; entries other than folders and regular files are dropped, and a
// name that would leave the folder is an error.
func rerootWarmOut(w io.Writer, r io.Reader) error {
	from := path.Base(warmOutDir) + "/"
	to := strings.TrimPrefix(path.Dir(sandbox.WarmCacheDir), "/") + "/"
	cache := path.Base(sandbox.WarmCacheDir)
	tr, tw := tar.NewReader(r), tar.NewWriter(w)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return fmt.Errorf("read the build stage's cache entries: %w", err)
		}
		rel, ok := strings.CutPrefix(path.Clean(h.Name)+"/", from)
		rel = strings.TrimSuffix(rel, "/")
		if !ok || rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("read the build stage's cache entries: entry %q is outside %s", h.Name, from)
		}
		if rel == "" || rel == cache || h.Typeflag != tar.TypeDir && h.Typeflag != tar.TypeReg {
			continue
		}
		out := &tar.Header{Typeflag: h.Typeflag, Name: to + rel, Mode: h.Mode & 0o755, ModTime: h.ModTime, Size: h.Size}
		if h.Typeflag == tar.TypeDir {
			out.Name, out.Size = out.Name+"/", 0
		}
		if err := tw.WriteHeader(out); err != nil {
			return err
		}
		if _, err := io.CopyN(tw, tr, out.Size); err != nil {
			return fmt.Errorf("read the build stage's cache entries: %s: %w", h.Name, err)
		}
	}
}

// writeWarmTree writes the tar stream copied into the stage container:
// the workspace tar's entries under sandbox.Workdir and the test files
// under warmTestsDir, owned by root. Only regular files, folders and
// symlinks of the workspace are kept; names are cleaned, and any that
// would leave the tree are refused.
func writeWarmTree(w io.Writer, workspace io.Reader, tests map[string][]byte) error {
	tw := tar.NewWriter(w)
	src := strings.TrimPrefix(sandbox.Workdir, "/") + "/"
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: src, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
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
		out := &tar.Header{Name: src + name, ModTime: time.Unix(0, 0), Mode: 0o644}
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
		dir := strings.TrimPrefix(warmTestsDir, "/") + "/"
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		// Their folders are made by the reader, as tar readers do.
		for _, name := range slices.Sorted(maps.Keys(tests)) {
			data := tests[name]
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
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
