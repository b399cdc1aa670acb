package kubecluster

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/internal/mountinfo"
)

func TestStagingVersion(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		wantErr  bool
	}{
		{"v1.37.2", "v0.37.2", false},
		{"v1.30.0", "v0.30.0", false},
		{"v2.0.0", "", true},
		{"1.37.2", "", true},
	} {
		got, err := stagingVersion(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("stagingVersion(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestRewriteGoMod(t *testing.T) {
	const in = `module k8s.io/kubernetes

go 1.25.0

require (
	github.com/x/y v1.2.3
	k8s.io/api v0.0.0
	k8s.io/sample-apiserver v0.0.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/sample-apiserver => ./staging/src/k8s.io/sample-apiserver
	github.com/x/y => github.com/x/y v1.2.4
)
`
	for _, tc := range []struct {
		name    string
		in      string
		want    []string // lines that must be there
		notWant []string
		wantErr string
	}{
		{name: "staging and sample", in: in,
			want:    []string{"k8s.io/api => k8s.io/api " + mustStaging(t), "github.com/x/y => github.com/x/y v1.2.4", "k8s.io/api v0.0.0"},
			notWant: []string{"sample-apiserver", "./staging"}},
		{name: "no staging", in: "module m\n\ngo 1.25\n", wantErr: "replaces no module"},
		{name: "not a go.mod", in: "modul m\n", wantErr: "kubernetes build"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := rewriteGoModData("go.mod", []byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			text := string(out)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("rewritten go.mod lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(text, w) {
					t.Errorf("rewritten go.mod still has %q:\n%s", w, text)
				}
			}
		})
	}
}

func mustStaging(t *testing.T) string {
	v, err := stagingVersion(KubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMountsUnder(t *testing.T) {
	const info = `22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 0:40 / /srv/kc/kubelet/pods/x/volumes/kubernetes.io~empty-dir/work rw shared:2 - tmpfs tmpfs rw
31 22 0:41 / /srv/kc/containerd/state/sandboxes/y/shm rw shared:3 - tmpfs shm rw
32 22 0:42 / /srv/kc-other/z rw shared:4 - tmpfs tmpfs rw
33 22 0:43 / /srv/kc/with\040space rw shared:5 - tmpfs tmpfs rw
34 22 0:44 / /srv/kc rw shared:6 - tmpfs tmpfs rw
`
	got := mountinfo.Under([]byte(info), "/srv/kc")
	want := []string{
		"/srv/kc/kubelet/pods/x/volumes/kubernetes.io~empty-dir/work",
		"/srv/kc/containerd/state/sandboxes/y/shm",
		"/srv/kc/with space",
		"/srv/kc",
	}
	if !slices.Equal(got, want) {
		t.Errorf("mountsUnder = %q, want %q", got, want)
	}
}

func TestDefaultRouteInterface(t *testing.T) {
	const head = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	for _, tc := range []struct{ name, routes, want string }{
		{"default first", head + "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n", "eth0"},
		{"default second", head + "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\nens3\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n", "ens3"},
		{"none", head + "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n", ""},
		{"empty", "", ""},
	} {
		if got := defaultRouteInterface([]byte(tc.routes)); got != tc.want {
			t.Errorf("%s: defaultRouteInterface = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPauseArchive(t *testing.T) {
	program := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(program, []byte("\x7fELF not really"), 0o755); err != nil {
		t.Fatal(err)
	}
	archive, err := pauseArchive(program)
	if err != nil {
		t.Fatal(err)
	}
	files := untar(t, archive)
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(manifest) != 1 || len(manifest[0].Layers) != 1 || !slices.Equal(manifest[0].RepoTags, []string{pauseImage}) {
		t.Fatalf("manifest %+v, want one image %s of one layer", manifest, pauseImage)
	}
	var config struct {
		Config struct{ Entrypoint []string }
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		}
	}
	if err := json.Unmarshal(files[manifest[0].Config], &config); err != nil {
		t.Fatalf("config: %v", err)
	}
	if !slices.Equal(config.Config.Entrypoint, []string{"/pause"}) || len(config.RootFS.DiffIDs) != 1 {
		t.Errorf("config %+v, want entrypoint /pause and one layer", config)
	}
	layer := untar(t, files[manifest[0].Layers[0]])
	if string(layer["pause"]) != "\x7fELF not really" {
		t.Errorf("layer holds %v, want the program as pause", layer)
	}

	if _, err := pauseArchive(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("pauseArchive of a missing program: no error")
	}
}

// untar reads the regular files of a tar archive.
func untar(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[hdr.Name] = b
		}
	}
}
