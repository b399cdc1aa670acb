package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/moby/moby/client"

	"github.com/cmcgrader/cmcgrader/sandbox/docker"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// measureModules times building the input's modules image afresh, under
// a tag of the bench's own (removed after), against `go mod download` of
// the same go.mod and go.sum on the host into an empty module cache: the
// real work the image holds. The figure is the whole build: the
// download, writing the one layer and its commit (the engine's build
// cache plays no part).
func measureModules(ctx context.Context, cfg Config, f *Figures, in Input, bank *tasks.Bank, work string) error {
	gomod, err := gitShow(ctx, in.Upstream, in.BaseRef+":go.mod")
	if err != nil {
		return err
	}
	gosum, _ := gitShow(ctx, in.Upstream, in.BaseRef+":go.sum")

	dir := filepath.Join(work, "moddownload")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "src", "go.mod"), gomod, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "src", "go.sum"), gosum, 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, cfg.GoCommand, "mod", "download")
	cmd.Dir = filepath.Join(dir, "src")
	cmd.Env = append(os.Environ(), "GOMODCACHE="+filepath.Join(dir, "modcache"), "GOFLAGS=-modcacherw", "GOWORK=off", "GOTOOLCHAIN=local")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go mod download: %w\n%s", err, tail(string(out), 4000))
	}
	f.ModDownload = time.Since(start)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}

	d, err := docker.New(ctx, cfg.Log)
	if err != nil {
		return err
	}
	defer d.Close()
	tag := "cmcgrader-bench-modules:" + in.Name
	start = time.Now()
	_, err = docker.BuildModules(ctx, d.Client(), cfg.Log, docker.ModulesOptions{
		BaseImage: docker.BaseTag(bank.Go), GoMod: gomod, GoSum: gosum, Tag: tag, Force: true, TempDir: work,
	})
	if err != nil {
		return fmt.Errorf("modules image: %w", err)
	}
	f.ModulesImage = time.Since(start)
	if _, err := d.Client().ImageRemove(ctx, tag, client.ImageRemoveOptions{PruneChildren: true}); err != nil {
		cfg.Log.WithError(err).Warn("could not remove the bench's modules image " + tag)
	}
	return nil
}

// hostCompile times, on the host, what prepare compiles into a warm
// image: the tests of the tasks' packages at the base commit, built and
// linked with no test run (go test -run '^$'), from an empty build cache.
func hostCompile(ctx context.Context, cfg Config, in Input, bank *tasks.Bank, work string) (time.Duration, error) {
	dir := filepath.Join(work, "hostcompile")
	if err := os.RemoveAll(dir); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	archive := exec.CommandContext(ctx, "sh", "-c", `git --git-dir="$1" archive "$2" | tar -x -C "$3"`, "sh", in.Upstream, in.BaseRef, filepath.Join(dir, "src"))
	archive.Env = gitEnv()
	if out, err := archive.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("host checkout of the base: %w\n%s", err, out)
	}
	var pkgs []string
	for _, t := range bank.Tasks {
		if t.Runner == tasks.RunnerGo {
			pkgs = append(pkgs, t.Packages...)
		}
	}
	cmd := exec.CommandContext(ctx, cfg.GoCommand, append([]string{"test", "-count=1", "-vet=off", "-run", "^$"}, pkgs...)...)
	cmd.Dir = filepath.Join(dir, "src")
	cmd.Env = append(os.Environ(), "GOCACHE="+filepath.Join(dir, "gocache"), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("host cold compile: %w\n%s", err, tail(string(out), 4000))
	}
	return time.Since(start), nil
}
