package main

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cmcgrader/cmcgrader/sandbox/docker/registrytest"
)

// cmdRegistry runs Debian's docker-registry on a free loopback port:
//
//	registry start      starts it for the rest of the script, storage in
//	                    the work folder, and sets $REGISTRY to HOST:PORT
//	registry has FILE   checks the registry serves the image whose digest
//	                    reference (HOST:PORT/REPO@sha256:...) FILE holds
func cmdRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: registry start | registry has FILE")
	}
	switch {
	case args[0] == "start" && len(args) == 1:
		r, err := registrytest.Start(context.Background(), ts.MkAbs("registry"))
		ts.Check(err)
		ts.Defer(r.Close)
		ts.Setenv("REGISTRY", r.Addr)
	case args[0] == "has" && len(args) == 2:
		registryHas(ts, strings.TrimSpace(ts.ReadFile(args[1])))
	default:
		ts.Fatalf("usage: registry start | registry has FILE")
	}
}

// registryHas checks that the registry in $REGISTRY answers the manifest
// of ref, HOST:PORT/REPO@DIGEST, under that digest.
func registryHas(ts *testscript.TestScript, ref string) {
	name, digest, ok := strings.Cut(ref, "@")
	repo, found := strings.CutPrefix(name, ts.Getenv("REGISTRY")+"/")
	if !ok || !found {
		ts.Fatalf("%q is not a digest reference into %s", ref, ts.Getenv("REGISTRY"))
	}
	url := fmt.Sprintf("http://%s/v2/%s/manifests/%s", ts.Getenv("REGISTRY"), repo, digest)
	req, err := http.NewRequest(http.MethodGet, url, nil)
	ts.Check(err)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	resp.Body.Close()
	if got := resp.Header.Get("Docker-Content-Digest"); resp.StatusCode != http.StatusOK || got != digest {
		ts.Fatalf("GET %s: %s, digest %q; want 200 and %s", url, resp.Status, got, digest)
	}
	ts.Logf("registry serves %s", ref)
}

// cmdTinyImage builds a small image FROM scratch holding one file unique
// to this script, labelled cmcgrader.test=imgpush, tags it REPO:TAG with
// a tag unique to this script, sets $IMAGE to that name and $TAG to the
// tag, and removes the image, with every tag it gets, when the script
// ends:
//
//	tinyimage REPO
func cmdTinyImage(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: tinyimage REPO")
	}
	dir := ts.MkAbs("tinyimage")
	ts.Check(os.MkdirAll(dir, 0o755))
	nonce := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	ts.Check(os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY hello /hello\n"), 0o644))
	ts.Check(os.WriteFile(filepath.Join(dir, "hello"), []byte("hello from "+nonce+"\n"), 0o644))
	name := args[0] + ":t" + nonce
	cmd := exec.Command("docker", "build", "-q", "--label", "cmcgrader.test=imgpush", "-t", name, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		ts.Fatalf("docker build: %v\n%s", err, stderr.String())
	}
	id := strings.TrimSpace(string(out))
	if !strings.HasPrefix(id, "sha256:") || strings.ContainsAny(id, " \n") {
		ts.Fatalf("docker build -q printed %q, not an image ID", id)
	}
	ts.Defer(func() {
		if out, err := exec.Command("docker", "rmi", "-f", id).CombinedOutput(); err != nil {
			ts.Logf("remove test image %s: %v\n%s", id, err, out)
		}
	})
	ts.Setenv("IMAGE", name)
	ts.Setenv("TAG", "t"+nonce)
	ts.Defer(func() {
		if out, err := exec.Command("docker", "rmi", "-f", id).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "remove test image %s: %v\n%s", id, err, out)
		}
	})
}

// cmdImageTar checks that FILE is a docker save archive whose
// manifest.json names exactly the image NAME:
//
//	imagetar FILE NAME
func cmdImageTar(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: imagetar FILE NAME")
	}
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			ts.Fatalf("%s: no manifest.json (%v)", args[0], err)
		}
		if hdr.Name != "manifest.json" {
			continue
		}
		var manifest []struct{ RepoTags []string }
		ts.Check(json.NewDecoder(tr).Decode(&manifest))
		var tags []string
		for _, m := range manifest {
			tags = append(tags, m.RepoTags...)
		}
		if !slices.Equal(tags, []string{args[1]}) {
			ts.Fatalf("%s: manifest.json names %v, want only %s", args[0], tags, args[1])
		}
		return
	}
}
