package docker

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/sandbox/docker/registrytest"
)

func TestCheckRegistry(t *testing.T) {
	for _, tc := range []struct {
		registry string
		want     string // "" for valid, else a part of the error
	}{
		{"127.0.0.1:5000", ""},
		{"localhost", ""},
		{"localhost:5000/exams", ""},
		{"registry.example.com", ""},
		{"registry.example.com/team/exams", ""},
		{"[::1]:5000", ""},
		{"", "empty"},
		{"http://127.0.0.1:5000", "drop it: 127.0.0.1:5000"},
		{"https://registry.example.com/x", "drop it: registry.example.com/x"},
		{"127.0.0.1:5000/", "drop it: 127.0.0.1:5000"},
		{"myregistry", "Docker Hub account"},
		{"myregistry/exams", "Docker Hub account"},
		{"registry.example.com/Exams", "lower case"},
		{"registry.example.com:port", "lower case"},
		{"registry example.com", "lower case"},
		{"registry.example.com//x", "lower case"},
	} {
		err := CheckRegistry(tc.registry)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckRegistry(%q): %v, want nil", tc.registry, err)
		case tc.want != "" && (err == nil || !errors.Is(err, ErrBadRegistry) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckRegistry(%q): %v, want ErrBadRegistry saying %q", tc.registry, err, tc.want)
		}
	}
}

func TestPushName(t *testing.T) {
	for _, tc := range []struct {
		ref, registry, want, wantErr string
	}{
		{"cmcgrader-sandbox:go1.26.8", "127.0.0.1:5000", "127.0.0.1:5000/cmcgrader-sandbox:go1.26.8", ""},
		{"cmcgrader-sandbox", "reg.example.com/exams", "reg.example.com/exams/cmcgrader-sandbox:latest", ""},
		{"team/img:v1", "reg.example.com", "reg.example.com/team/img:v1", ""},
		{"docker.io/library/debian:12", "reg.example.com", "reg.example.com/debian:12", ""},
		{"old.example.com:5000/a/b:t", "new.example.com", "new.example.com/a/b:t", ""},
		{"img@sha256:" + strings.Repeat("a", 64), "reg.example.com", "", "no tag"},
		{"Bad:x", "reg.example.com", "", `image "Bad:x"`},
		{"img:v1", "http://reg.example.com", "", "scheme"},
	} {
		got, err := PushName(tc.ref, tc.registry)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("PushName(%q, %q) = %q, %v; want an error saying %q", tc.ref, tc.registry, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("PushName(%q, %q) = %q, %v; want %q", tc.ref, tc.registry, got, err, tc.want)
		}
	}
}

func TestReadPushStream(t *testing.T) {
	const digest = "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	ok := `{"status":"The push refers to repository [127.0.0.1:5000/x]"}
{"status":"Preparing","progressDetail":{},"id":"a1b2"}
{"status":"Pushing","progressDetail":{"current":512,"total":1024},"progress":"[==>  ]","id":"a1b2"}
{"status":"Pushed","progressDetail":{},"id":"a1b2"}
{"status":"t: digest: ` + digest + ` size: 528"}
{"progressDetail":{},"aux":{"Tag":"t","Digest":"` + digest + `","Size":528}}
`
	for _, tc := range []struct {
		name, stream string
		wantLines    []string
		wantErr      string
	}{
		{"pushed", ok, []string{
			"The push refers to repository [127.0.0.1:5000/x]",
			"a1b2: Preparing",
			"a1b2: Pushed",
			"t: digest: " + digest + " size: 528",
		}, ""},
		{"engine error", `{"status":"Preparing","id":"a1b2"}
{"errorDetail":{"message":"denied: requested access to the resource is denied"},"error":"denied: requested access to the resource is denied"}
`, []string{"a1b2: Preparing"}, "engine: denied: requested access"},
		{"error after digest", ok + `{"errorDetail":{"message":"late failure"}}` + "\n", nil, "engine: late failure"},
		{"cut stream", `{"status":"Preparing","id":"a1b2"}
{"status":"Push`, nil, "read push progress"},
		{"no digest", `{"status":"Pushed","id":"a1b2"}` + "\n", nil, "without naming a digest"},
		{"empty", "", nil, "without naming a digest"},
		{"not json", "<html>bad gateway</html>", nil, "read push progress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lines []string
			got, err := ReadPushStream(strings.NewReader(tc.stream), func(s string) { lines = append(lines, s) })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || got != "" {
					t.Fatalf("ReadPushStream = %q, %v; want an error saying %q", got, err, tc.wantErr)
				}
			} else if err != nil || got != digest {
				t.Fatalf("ReadPushStream = %q, %v; want %s", got, err, digest)
			}
			if tc.wantLines != nil && !slices.Equal(lines, tc.wantLines) {
				t.Errorf("progress lines:\n%q\nwant\n%q", lines, tc.wantLines)
			}
			for _, l := range lines {
				if strings.ContainsAny(l, "{}") {
					t.Errorf("progress line %q looks like raw JSON", l)
				}
			}
		})
	}
}

func TestReadRegistryAuth(t *testing.T) {
	auth := `{"username":"u","password":"p?>","serveraddress":"127.0.0.1:5000"}`
	for _, tc := range []struct {
		name, content, wantErr string
	}{
		{"url encoding", base64.URLEncoding.EncodeToString([]byte(auth)) + "\n", ""},
		{"std encoding", base64.StdEncoding.EncodeToString([]byte(auth)), ""},
		{"raw json", auth, "not base64"},
		{"not an object", base64.StdEncoding.EncodeToString([]byte(`["u"]`)), "no JSON object"},
		{"too big", strings.Repeat("A", maxAuthFile+4), "over 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "auth")
			if err := os.WriteFile(name, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadRegistryAuth(name)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrBadAuth) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ReadRegistryAuth: %q, %v; want ErrBadAuth saying %q", got, err, tc.wantErr)
				}
				return
			}
			raw, derr := base64.URLEncoding.DecodeString(got)
			if err != nil || derr != nil || string(raw) != auth {
				t.Fatalf("ReadRegistryAuth: %q (%v, %v); want the URL-base64 of %s", got, err, derr, auth)
			}
		})
	}
	if _, err := ReadRegistryAuth(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("ReadRegistryAuth of a missing file: no error")
	}
}

// buildTinyImage builds a small image FROM scratch holding one file
// unique to this call, labelled cmcgrader.test=imgpush, and removes it,
// with every tag it gets, when the test ends. It returns its tag and ID.
func buildTinyImage(t *testing.T, d *Engine) (string, string) {
	t.Helper()
	ctx := context.Background()
	nonce := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	tag := "cmcgrader-imgpush-test:" + nonce
	files := []contextFile{
		{"Dockerfile", "FROM scratch\nCOPY hello /hello\nLABEL cmcgrader.test=imgpush\n"},
		{"hello", "hello from " + nonce + "\n"},
	}
	pr, stop := pipe(func(w io.Writer) error { return writeContext(w, files, "", "") })
	defer stop()
	id, err := buildImage(ctx, d.Client(), d.log, pr, tag)
	if err != nil {
		t.Fatalf("build test image: %v", err)
	}
	t.Cleanup(func() {
		_, err := d.Client().ImageRemove(context.Background(), id, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !strings.Contains(err.Error(), "No such image") {
			t.Errorf("remove test image %s: %v", id, err)
		}
	})
	return tag, id
}

// TestPushRegistry pushes an image to a real docker-registry on loopback,
// checks the registry serves the manifest under the digest Push returned,
// then removes the image and pulls it back by that digest.
func TestPushRegistry(t *testing.T) {
	d := newTestDocker(t)
	reg := registrytest.Serve(t)
	ref, id := buildTinyImage(t, d)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var lines []string
	got, err := d.Push(ctx, ref, reg.Addr+"/exams", PushOptions{Progress: func(s string) { lines = append(lines, s) }})
	if err != nil {
		t.Fatalf("Push: %v\nregistry log: %s", err, reg.Log())
	}
	t.Logf("pushed %s; progress:\n%s", got, strings.Join(lines, "\n"))
	name, digest, ok := strings.Cut(got, "@")
	repo := "exams/cmcgrader-imgpush-test"
	if !ok || name != reg.Addr+"/"+repo || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("Push returned %q, want %s/%s@sha256:...", got, reg.Addr, repo)
	}
	if len(lines) == 0 || !strings.Contains(strings.Join(lines, "\n"), digest) {
		t.Errorf("progress lines %q do not name the digest %s", lines, digest)
	}
	_, tag, _ := strings.Cut(ref, ":")
	if served := manifestDigest(t, reg.URL()+"/v2/"+repo+"/manifests/"+tag); served != digest {
		t.Fatalf("registry serves %s:%s as %s, Push returned %s", repo, tag, served, digest)
	}

	if _, err := d.Client().ImageRemove(ctx, id, client.ImageRemoveOptions{Force: true}); err != nil {
		t.Fatalf("remove the local image: %v", err)
	}
	pull, err := d.Client().ImagePull(ctx, got, client.ImagePullOptions{RegistryAuth: noAuth})
	if err != nil {
		t.Fatalf("pull %s: %v", got, err)
	}
	if err := pull.Wait(ctx); err != nil {
		t.Fatalf("pull %s: %v", got, err)
	}
	img, err := d.Client().ImageInspect(ctx, got)
	if err != nil {
		t.Fatalf("inspect pulled %s: %v", got, err)
	}
	if img.ID != id || !slices.Contains(img.RepoDigests, got) {
		t.Fatalf("pulled %s is %s with digests %v, want %s", got, img.ID, img.RepoDigests, id)
	}
}

// manifestDigest returns the Docker-Content-Digest the registry answers
// a manifest's URL with.
func manifestDigest(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.oci.image.manifest.v1+json",
		"application/vnd.oci.image.index.v1+json",
	}, ", "))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("GET %s: %s %s", url, resp.Status, body)
	}
	return resp.Header.Get("Docker-Content-Digest")
}

// TestPushErrors checks that a push that cannot happen says why, and that
// a push to a registry that is not there fails from the engine's stream.
func TestPushErrors(t *testing.T) {
	d := newTestDocker(t)
	ctx := context.Background()
	if _, err := d.Push(ctx, "cmcgrader-imgpush-test:no-such-tag", "127.0.0.1:5000", PushOptions{}); !errors.Is(err, sandbox.ErrImageNotFound) {
		t.Errorf("push of a missing image: %v, want ErrImageNotFound", err)
	}
	ref, _ := buildTinyImage(t, d)
	if _, err := d.Push(ctx, ref, "http://127.0.0.1:5000", PushOptions{}); !errors.Is(err, ErrBadRegistry) {
		t.Errorf("push to a URL: %v, want ErrBadRegistry", err)
	}
	// A loopback port nothing listens on: the engine reports the
	// connection failure in the push stream.
	reg := registrytest.Serve(t)
	addr := reg.Addr
	reg.Close()
	_, err := d.Push(ctx, ref, addr, PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "engine:") {
		t.Fatalf("push to a closed port: %v, want the engine's error", err)
	}
	t.Logf("push to a closed port: %v", err)
}

// TestExport saves a small image to a file and checks the archive's
// manifest.json names it; a failed export leaves the file as it was.
func TestExport(t *testing.T) {
	d := newTestDocker(t)
	ref, id := buildTinyImage(t, d)
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "image.tar")
	gotID, size, err := d.Export(ctx, ref, out)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if gotID != id || size <= 0 {
		t.Fatalf("Export = %s, %d; want %s and a size", gotID, size, id)
	}
	if st, err := os.Stat(out); err != nil || st.Size() != size {
		t.Fatalf("archive: %v, %v; want %d bytes", st, err, size)
	}
	if tags := archiveTags(t, out); !slices.Equal(tags, []string{ref}) {
		t.Fatalf("manifest.json names %v, want only %s", tags, ref)
	}
	before, _ := os.ReadFile(out)
	if _, _, err := d.Export(ctx, "cmcgrader-imgpush-test:no-such-tag", out); !errors.Is(err, sandbox.ErrImageNotFound) {
		t.Fatalf("Export of a missing image: %v, want ErrImageNotFound", err)
	}
	if after, _ := os.ReadFile(out); string(after) != string(before) {
		t.Fatal("a failed export changed the file")
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Fatalf("export left %d files in its folder, want 1", len(entries))
	}
}

// archiveTags returns the RepoTags that a docker save archive's
// manifest.json lists.
func archiveTags(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no manifest.json in %s: %v", name, err)
		}
		if hdr.Name != "manifest.json" {
			continue
		}
		var manifest []struct{ RepoTags []string }
		if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
			t.Fatalf("manifest.json: %v", err)
		}
		var tags []string
		for _, m := range manifest {
			tags = append(tags, m.RepoTags...)
		}
		return tags
	}
}
