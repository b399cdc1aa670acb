package kubecluster

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"time"
)

// pauseArchive is a one-layer image holding the program at pausePath as
// /pause, its entrypoint, in the archive format `docker save` writes
// (manifest.json, the config, the layer tar), which `ctr images import`
// reads.
func pauseArchive(pausePath string) ([]byte, error) {
	program, err := os.ReadFile(pausePath)
	if err != nil {
		return nil, fmt.Errorf("pause image: %w", err)
	}
	layer, err := tarOf([]tarFile{{name: "pause", mode: 0o755, data: program}})
	if err != nil {
		return nil, fmt.Errorf("pause image layer: %w", err)
	}
	layerSum := sha256.Sum256(layer)
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      time.Unix(0, 0).UTC().Format(time.RFC3339),
		"config":       map[string]any{"Entrypoint": []string{"/pause"}, "User": "65535:65535"},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(layerSum[:])}},
	})
	if err != nil {
		return nil, fmt.Errorf("pause image config: %w", err)
	}
	configSum := sha256.Sum256(config)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	layerName := hex.EncodeToString(layerSum[:]) + "/layer.tar"
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   configName,
		"RepoTags": []string{pauseImage},
		"Layers":   []string{layerName},
	}})
	if err != nil {
		return nil, fmt.Errorf("pause image manifest: %w", err)
	}
	return tarOf([]tarFile{
		{name: configName, mode: 0o644, data: config},
		{name: layerName, mode: 0o644, data: layer},
		{name: "manifest.json", mode: 0o644, data: manifest},
	})
}

// tarFile is one regular file of a tar archive.
type tarFile struct {
	name string
	mode int64
	data []byte
}

// tarOf is a tar archive of files (directories implied by names are
// written first).
func tarOf(files []tarFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		for dir := parentDir(f.name); dir != "" && !dirs[dir]; dir = parentDir(dir) {
			dirs[dir] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
				return nil, err
			}
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// parentDir is the directory part of a slash-separated name, or "".
func parentDir(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[:i]
		}
	}
	return ""
}

// importImage imports an image archive read from r into the k8s.io
// namespace of the cluster's containerd, where the kubelet finds it.
func (c *Cluster) importImage(ctx context.Context, r io.Reader) error {
	cmd := exec.CommandContext(ctx, "ctr", "--address", c.layout.containerdSocket(), "-n", "k8s.io", "images", "import", "-")
	cmd.Stdin = r
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ctr images import: %w: %s", err, tail(string(out), 2000))
	}
	return nil
}

// LoadImage copies the Docker image ref (docker save) into the cluster's
// containerd, so pods can run it with imagePullPolicy: Never.
func (c *Cluster) LoadImage(ctx context.Context, ref string) error {
	if c.stopped() {
		return fmt.Errorf("loading image %s: the cluster is stopped", ref)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("loading image %s: %w", ref, err)
	}
	save := exec.CommandContext(ctx, "docker", "save", ref)
	save.Stdout = pw
	var saveErr bytes.Buffer
	save.Stderr = &saveErr
	if err := save.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("docker save %s: %w", ref, err)
	}
	pw.Close()
	importErr := c.importImage(ctx, pr)
	pr.Close()
	saveWaitErr := save.Wait()
	if saveWaitErr != nil && saveErr.Len() > 0 {
		return fmt.Errorf("docker save %s: %w: %s", ref, saveWaitErr, tail(saveErr.String(), 2000))
	}
	if importErr != nil {
		return fmt.Errorf("loading image %s: %w", ref, importErr)
	}
	if saveWaitErr != nil {
		return fmt.Errorf("docker save %s: %w", ref, saveWaitErr)
	}
	return nil
}
