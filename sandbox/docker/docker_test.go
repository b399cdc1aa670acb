package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// testImage returns the image the integration tests run: the value of
// CMCGRADER_TEST_IMAGE, else the grading image. It fails the test when the
// engine does not have it.
func testImage(t *testing.T) string {
	t.Helper()
	ref := os.Getenv("CMCGRADER_TEST_IMAGE")
	if ref == "" {
		ref = "cmcgrader-sandbox:go1.26.8"
	}
	d := newTestDocker(t)
	if _, err := d.ImageID(context.Background(), ref); err != nil {
		t.Fatalf("test image %s: %v\n(run `make image` to build it, or set CMCGRADER_TEST_IMAGE to an image with /bin/sh, GNU tar and coreutils)", ref, err)
	}
	return ref
}

// newTestDocker connects to the engine, failing the test if it cannot.
func newTestDocker(t *testing.T) *Engine {
	t.Helper()
	log := logrus.New()
	log.SetLevel(logrus.DebugLevel)
	log.SetOutput(testWriter{t})
	d, err := New(context.Background(), logrus.NewEntry(log))
	if err != nil {
		t.Fatalf("docker engine needed for this test: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// runClean runs spec with a label unique to this call and checks that no
// container or volume carrying it is left afterwards.
func runClean(t *testing.T, d *Engine, spec sandbox.Spec) (sandbox.Result, error) {
	t.Helper()
	id := testHex(t)
	spec.Labels = map[string]string{"dev.cmcgrader.test": id}
	res, err := d.Run(context.Background(), spec)
	assertNoLeftovers(t, d, "dev.cmcgrader.test="+id)
	return res, err
}

// assertNoLeftovers fails the test if a container or volume matches the
// label filter.
func assertNoLeftovers(t *testing.T, d *Engine, label string) {
	t.Helper()
	ctx := context.Background()
	f := make(client.Filters).Add("label", label)
	cs, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.Items {
		t.Errorf("container %s (%s) left behind", c.ID, c.State)
	}
	vs, err := d.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Items {
		t.Errorf("volume %s left behind", v.Name)
	}
}

func testHex(t *testing.T) string {
	h, err := randomHex(6)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// tarOf builds a tar stream of the files, name to content; names ending
// in "/" are directories.
func tarOf(t *testing.T, files map[string]string) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg}
		if strings.HasSuffix(name, "/") {
			h = &tar.Header{Name: name, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: h.ModTime}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestNewUnreachable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	_, err := New(context.Background(), nil)
	if !errors.Is(err, ErrEngine) || !errors.Is(err, sandbox.ErrBackendDown) {
		t.Fatalf("New() error = %v, want ErrEngine and sandbox.ErrBackendDown", err)
	}
	for _, want := range []string{"unix:///nonexistent/docker.sock", "DOCKER_HOST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestImageID(t *testing.T) {
	d := newTestDocker(t)
	img := testImage(t)
	id, err := d.ImageID(context.Background(), img)
	if err != nil || !strings.HasPrefix(id, "sha256:") {
		t.Errorf("ImageID(%s) = %q, %v", img, id, err)
	}
	_, err = d.ImageID(context.Background(), "cmcgrader-no-such-image:"+testHex(t))
	if !errors.Is(err, sandbox.ErrImageNotFound) {
		t.Errorf("ImageID(missing) error = %v, want ErrImageNotFound", err)
	}
}

func TestHasRuntime(t *testing.T) {
	d := newTestDocker(t)
	for name, want := range map[string]bool{"runc": true, "no-such-runtime": false} {
		got, err := d.HasRuntime(context.Background(), name)
		if err != nil || got != want {
			t.Errorf("HasRuntime(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
}

func TestLabels(t *testing.T) {
	d := newTestDocker(t)
	l := d.Labels()
	if l[LabelManaged] != "true" {
		t.Errorf("managed label = %q", l[LabelManaged])
	}
	if got := liveness(l[LabelOwner], hostname(), processStart); got != ownerAlive {
		t.Errorf("owner %q: liveness %d, want alive", l[LabelOwner], got)
	}
	l["x"] = "y"
	if _, ok := d.Labels()["x"]; ok {
		t.Error("Labels() shares its map")
	}
	m := d.mergeLabels(map[string]string{LabelOwner: "spoof", "k": "v"})
	if m[LabelOwner] != d.owner || m["k"] != "v" {
		t.Errorf("mergeLabels = %v", m)
	}
}
