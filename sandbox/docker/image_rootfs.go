package docker

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"context"
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
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/client"
	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/internal/capture"
	"github.com/cmcgrader/cmcgrader/internal/mountinfo"
	"github.com/cmcgrader/cmcgrader/sandbox"
)

// debootstrap installs a minimal Debian bookworm into rootfs.
func debootstrap(ctx context.Context, log *logrus.Entry, opts BaseOptions, rootfs string) error {
	args := []string{"--variant=minbase"}
	if len(opts.Packages) > 0 {
		args = append(args, "--include="+strings.Join(opts.Packages, ","))
	}
	args = append(args, "bookworm", rootfs, opts.Mirror)
	return run(ctx, log, exec.CommandContext(ctx, opts.Debootstrap, args...))
}

// run runs cmd with its output in the debug log; the error carries the
// output's tail.
func run(ctx context.Context, log *logrus.Entry, cmd *exec.Cmd) error {
	debug := log.WriterLevel(logrus.DebugLevel)
	defer debug.Close()
	tail := capture.NewTail(2 << 10)
	cmd.Stdout = io.MultiWriter(debug, tail)
	cmd.Stderr = cmd.Stdout
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: %w: %s", filepath.Base(cmd.Path), err, bytes.TrimSpace(tail.Bytes()))
	}
	return nil
}

// trimmed are removed from the root filesystem: package caches, indexes,
// documentation and translations, and host files debootstrap copied.
var trimmed = []string{
	"var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
	"usr/share/info", "usr/share/locale", "etc/resolv.conf", "etc/hostname",
}

// prepareRootfs trims the root filesystem, adds the user cmc, the
// directories /work and /opt/cmcgrader, and the JUnit reporter.
func prepareRootfs(rootfs string) error {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, name := range trimmed {
		if err := removeContents(root, name); err != nil {
			return err
		}
	}
	users := []struct{ file, line string }{
		{"etc/passwd", "cmc:x:1000:1000:cmc:/work:/bin/sh"},
		{"etc/group", "cmc:x:1000:"},
		{"etc/shadow", "cmc:*:19000:0:99999:7:::"},
		{"etc/gshadow", "cmc:!::"},
	}
	for _, u := range users {
		if err := appendLine(root, u.file, u.line); err != nil {
			return err
		}
	}
	dirs := []struct {
		name string
		uid  int
	}{{"work", 1000}, {"opt/cmcgrader", 0}}
	for _, d := range dirs {
		if err := root.MkdirAll(d.name, 0o755); err != nil {
			return err
		}
		if err := root.Chmod(d.name, 0o755); err != nil {
			return err
		}
		if err := root.Lchown(d.name, d.uid, d.uid); err != nil {
			return err
		}
	}
	return nil
}

// removeContents empties dir, keeping Debian's copyright files.
func removeContents(root *os.Root, dir string) error {
	info, err := root.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return root.Remove(dir)
	}
	f, err := root.Open(dir)
	if err != nil {
		return err
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := path.Join(dir, e.Name())
		if dir == "usr/share/doc" && e.IsDir() {
			if err := removeAllBut(root, name, "copyright"); err != nil {
				return err
			}
			continue
		}
		if err := root.RemoveAll(name); err != nil {
			return err
		}
	}
	return nil
}

// removeAllBut removes the entries of dir except keep.
func removeAllBut(root *os.Root, dir, keep string) error {
	f, err := root.Open(dir)
	if err != nil {
		return err
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != keep {
			if err := root.RemoveAll(path.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendLine appends line to the file name unless a line with the same
// first field is there.
func appendLine(root *os.Root, name, line string) error {
	data, err := root.ReadFile(name)
	if err != nil {
		return err
	}
	key, _, _ := strings.Cut(line, ":")
	for l := range strings.Lines(string(data)) {
		if k, _, _ := strings.Cut(l, ":"); k == key {
			return nil
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(append(data, line+"\n"...))
	return errors.Join(err, f.Close())
}

// downloadToolchain fetches golang.org/toolchain for the Go version into
// modCache with the host go command and returns the module zip's path.
func downloadToolchain(ctx context.Context, goCmd, version, modCache string) (string, error) {
	mod := "golang.org/toolchain@" + toolchainVersion(version)
	cmd := exec.CommandContext(ctx, goCmd, "mod", "download", "-json", mod)
	cmd.Env = append(os.Environ(), "GOMODCACHE="+modCache, "GOFLAGS=-modcacherw", "GOTOOLCHAIN=local", "GO111MODULE=on")
	cmd.Dir = filepath.Dir(modCache)
	stderr := capture.NewTail(2 << 10)
	cmd.Stderr = stderr
	out, err := cmd.Output()
	var res struct{ Zip, Error string }
	if jerr := json.Unmarshal(out, &res); jerr == nil && res.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", mod, res.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w: %s", mod, err, bytes.TrimSpace(stderr.Bytes()))
	}
	if res.Zip == "" {
		return "", fmt.Errorf("go mod download %s: no zip in output", mod)
	}
	return res.Zip, nil
}

func toolchainVersion(goVersion string) string {
	return "v0.0.1-go" + goVersion + ".linux-amd64"
}

// importRootfs streams rootfs, plus the Go toolchain from zipPath under
// /usr/local/go, to the engine as a new image and returns its ID.
func importRootfs(ctx context.Context, cli ImageClient, rootfs, zipPath string, opts BaseOptions) (string, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return "", err
	}
	defer zr.Close()
	prefix := "golang.org/toolchain@" + toolchainVersion(opts.GoVersion) + "/"
	if err := checkToolchain(&zr.Reader, prefix, opts.GoVersion); err != nil {
		return "", err
	}
	pr, stop := pipe(func(w io.Writer) error {
		tw := tar.NewWriter(w)
		if err := writeRootfs(tw, rootfs); err != nil {
			return err
		}
		if err := writeToolchain(tw, &zr.Reader, prefix, "usr/local/go"); err != nil {
			return err
		}
		return tw.Close()
	})
	defer stop()
	changes := []string{
		"ENV PATH=/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin",
		"ENV GOMODCACHE=" + ModCacheDir,
		"ENV GOCACHE=/tmp/gocache",
		"ENV GOTOOLCHAIN=local",
		"ENV GOPROXY=off",
		"ENV TZ=UTC LANG=C.UTF-8",
		"USER 1000:1000",
		"WORKDIR " + sandbox.Workdir,
	}
	changes = append(changes, strings.TrimSpace(labelInstruction(baseLabels(opts))))
	body, err := cli.ImageImport(ctx, client.ImageImportSource{Source: pr, SourceName: "-"}, "",
		client.ImageImportOptions{Changes: changes, Message: "cmcgrader rootfs"})
	if err != nil {
		return "", fmt.Errorf("import image: %w", err)
	}
	defer body.Close()
	var id string
	err = readStream(body, func(m streamMessage) {
		if strings.HasPrefix(m.Status, "sha256:") {
			id = strings.TrimSpace(m.Status)
		}
	})
	if err != nil {
		return "", fmt.Errorf("import image: %w", err)
	}
	if id == "" {
		return "", errors.New("import image: no image id in response")
	}
	return id, nil
}

func baseLabels(opts BaseOptions) map[string]string {
	l := maps.Clone(opts.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[ImageLabel] = "true"
	l[ImageGoLabel] = opts.GoVersion
	l[ImageFilesLabel] = filesDigest(opts.OPAVersion)
	l[ImageOPALabel] = opts.OPAVersion
	l[ImagePackagesLabel] = strings.Join(opts.Packages, ",")
	return l
}

// checkToolchain verifies that the toolchain zip holds the Go version.
func checkToolchain(zr *zip.Reader, prefix, version string) error {
	f, err := zr.Open(prefix + "VERSION")
	if err != nil {
		return fmt.Errorf("toolchain zip: %w", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 256)).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("toolchain zip: %w", err)
	}
	if got := strings.TrimSpace(line); got != "go"+version {
		return fmt.Errorf("toolchain zip: VERSION is %q, want go%s", got, version)
	}
	return nil
}

// writeRootfs writes the tree at dir to tw, keeping modes, owners,
// symlinks and hard links; the contents of proc, sys and dev are skipped.
func writeRootfs(tw *tar.Writer, dir string) error {
	type inode struct{ dev, ino uint64 }
	links := map[inode]string{}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		name := filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode()&fs.ModeSocket != 0 {
			return nil
		}
		var target string
		if info.Mode()&fs.ModeSymlink != 0 {
			if target, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, target)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		hdr.Name, hdr.Uname, hdr.Gname = name, "", ""
		if d.IsDir() {
			hdr.Name += "/"
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
			if info.Mode().IsRegular() && st.Nlink > 1 {
				key := inode{uint64(st.Dev), st.Ino}
				if first, ok := links[key]; ok {
					hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
				} else {
					links[key] = name
				}
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() && (name == "proc" || name == "sys" || name == "dev") {
			return fs.SkipDir
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, hdr.Size)
		return err
	})
}

// writeToolchain writes the files of the toolchain zip under prefix to tw
// below dir (whose parent the stream holds already), as the go command does when it installs a toolchain: the
// commands become executable and each _go.mod is also a go.mod.
func writeToolchain(tw *tar.Writer, zr *zip.Reader, prefix, dir string) error {
	// dir's parent is in the stream already; tar may not repeat a path.
	dirs := map[string]bool{}
	for d := path.Dir(dir); d != "."; d = path.Dir(d) {
		dirs[d] = true
	}
	var mkdir func(string) error
	mkdir = func(d string) error {
		if d == "." || dirs[d] {
			return nil
		}
		if err := mkdir(path.Dir(d)); err != nil {
			return err
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: time.Unix(0, 0)})
	}
	for _, f := range zr.File {
		rel, ok := strings.CutPrefix(f.Name, prefix)
		if !ok || !fs.ValidPath(rel) {
			return fmt.Errorf("toolchain zip: bad file name %q", f.Name)
		}
		if strings.HasSuffix(f.Name, "/") || f.FileInfo().IsDir() {
			continue
		}
		names := []string{rel}
		if path.Base(rel) == "_go.mod" {
			names = append(names, path.Join(path.Dir(rel), "go.mod"))
		}
		for _, n := range names {
			name := path.Join(dir, n)
			if err := mkdir(path.Dir(name)); err != nil {
				return err
			}
			hdr := &tar.Header{
				Typeflag: tar.TypeReg, Name: name, Mode: toolchainMode(n),
				Size: int64(f.UncompressedSize64), ModTime: f.Modified,
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			rc, err := f.Open()
			if err != nil {
				return err
			}
			_, err = io.CopyN(tw, rc, hdr.Size)
			rc.Close()
			if err != nil {
				return fmt.Errorf("toolchain zip: %s: %w", rel, err)
			}
		}
	}
	return nil
}

// toolchainMode is the mode of a toolchain file (a path relative to
// GOROOT): the go command makes bin, pkg/tool and lib/**/go_*_*_exec
// executable.
func toolchainMode(rel string) int64 {
	exe, _ := path.Match("go_?*_?*_exec", path.Base(rel))
	if strings.HasPrefix(rel, "bin/") || strings.HasPrefix(rel, "pkg/tool/") ||
		(exe && strings.HasPrefix(rel, "lib/")) {
		return 0o755
	}
	return 0o644
}

// removeTemp unmounts whatever is still mounted below dir (debootstrap
// mounts /proc and /sys and leaves them when killed) and removes dir.
func removeTemp(log *logrus.Entry, dir string) {
	if err := unmountBelow(dir); err != nil {
		log.WithError(err).Warn("unmount below temporary folder; not removing it")
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		log.WithError(err).WithField("dir", dir).Warn("remove temporary folder")
	}
}

// mntDetach is Linux's MNT_DETACH flag of umount2.
const mntDetach = 0x2

func unmountBelow(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, p := range mountinfo.Under(data, dir) {
		if p == dir {
			continue // what is below dir, not dir itself
		}
		if err := syscall.Unmount(p, mntDetach); err != nil {
			return fmt.Errorf("unmount %s: %w", p, err)
		}
	}
	return nil
}
