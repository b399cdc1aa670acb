package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"maps"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// warmModule is a small module whose package lib has a test.
var warmModule = map[string]string{
	"go.mod":          "module example.com/warm\n\ngo 1.26\n",
	"lib/lib.go":      "package lib\n\nimport \"strings\"\n\nfunc Shout(s string) string { return strings.ToUpper(s) + \"!\" }\n",
	"lib/lib_test.go": "package lib\n\nimport \"testing\"\n\nfunc TestShout(t *testing.T) {\n\tif Shout(\"a\") != \"A!\" {\n\t\tt.Fatal(Shout(\"a\"))\n\t}\n}\n",
}

// warmHidden are hidden tests of lib: one calls what the candidate writes
// (so it does not build at the base) and imports compress/bzip2, which
// nothing of the base tree or of the base image's cache imports; the
// other imports a package of a module go.mod lacks, which must not stop
// the warm build from compiling the rest.
var warmHidden = map[string][]byte{"lib/missing_test.go": []byte(`package lib

import _ "example.com/missing/pkg"
`), "lib/hidden_test.go": []byte(`package lib

import (
	"compress/bzip2"
	"strings"
	"testing"
)

func TestWhisper(t *testing.T) {
	_ = bzip2.NewReader(strings.NewReader(""))
	if Whisper("A") != "a..." {
		t.Fatal("hidden-marker-5e1f")
	}
}
`)}

// compilesBzip2 counts, like compilesLib, the compilations of
// compress/bzip2 in a test build of ./lib.
const compilesBzip2 = `go test -x -count=1 -vet=off -run '^$' ./lib 2>&1 | grep -c -- '-p compress/bzip2 ' || true`

// compilesLib is a sandbox script that lists the package compilations
// of a test build of ./lib: go test -x prints one compile command per
// package it compiles, none for one it finds in $GOCACHE.
const compilesLib = `go test -x -count=1 -vet=off -run '^$' ./lib 2>&1 | grep -c -- '-p example.com/warm/lib ' || true`

func TestBuildWarm(t *testing.T) {
	d := imageTestDocker(t)
	base := imageTestBase(t, d)
	ctx := context.Background()
	key := WarmKey("bank-"+testHex(t), "base", base)
	tag := WarmTag(key)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := d.Client().ImageRemove(ctx, tag, client.ImageRemoveOptions{PruneChildren: true}); err != nil {
			t.Errorf("remove %s: %v", tag, err)
		}
	})
	id, err := BuildWarm(ctx, d.Client(), imageTestLog(t), WarmOptions{
		ModulesImage: base,
		Key:          key,
		Workspace:    tarOf(t, warmModule),
		Packages:     []string{"./lib"},
		TestFiles:    warmHidden,
	})
	if err != nil {
		t.Fatalf("BuildWarm: %v", err)
	}
	img, err := d.Client().ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{ImageWarmLabel: key, ImageWarmPackagesLabel: "./lib", ImageGoLabel: testGoVersion, ImageLabel: "true"} {
		if got := labelOf(&img, k); got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if found, err := FindWarm(ctx, d.Client(), key); err != nil || found != id {
		t.Errorf("FindWarm = %q, %v; want %s", found, err, id)
	}
	if found, err := FindWarm(ctx, d.Client(), WarmKey("other", "base", base)); err != nil || found != "" {
		t.Errorf("FindWarm of another key = %q, %v; want none", found, err)
	}
	again, err := BuildWarm(ctx, d.Client(), imageTestLog(t), WarmOptions{
		ModulesImage: base, Key: key, Workspace: tarOf(t, warmModule), Packages: []string{"./lib"},
	})
	if err != nil || again != id {
		t.Errorf("second BuildWarm = %s, %v; want the existing %s", again, err, id)
	}

	// The build stage, which holds the base tree, is gone, and the image
	// is the modules image plus one layer.
	stage, err := d.Client().ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", imageWarmStageLabel+"="+key)})
	if err != nil || len(stage.Items) != 0 {
		t.Errorf("build stage containers left: %v, %v", stage.Items, err)
	}
	baseImg, err := d.Client().ImageInspect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.RootFS.Layers) != len(baseImg.RootFS.Layers)+1 {
		t.Errorf("warm image has %d layers, want its modules image's %d plus one", len(img.RootFS.Layers), len(baseImg.RootFS.Layers))
	}

	// The base tree and the hidden tests are left out of the final image:
	// neither as files nor compiled into the cache.
	if code, out := runImageContainer(t, d, tag, nil, "sh", "-c", "test ! -e /work/go.mod && test ! -e "+warmTestsDir+" && test -d "+sandbox.WarmCacheDir+" && ! grep -r -l hidden-marker-5e1f /opt"); code != 0 {
		t.Errorf("warm image holds the base tree or the hidden tests, or lacks its cache: exit %d: %s", code, out)
	}

	// A sandbox on the warm image finds lib compiled in its $GOCACHE, and
	// also, in a candidate's tree with the hidden test that builds in
	// place, what that test imports; one on the base image compiles both.
	solved := maps.Clone(warmModule)
	solved["lib/whisper.go"] = "package lib\n\nimport \"strings\"\n\nfunc Whisper(s string) string { return strings.ToLower(s) + \"...\" }\n"
	solved["lib/hidden_test.go"] = string(warmHidden["lib/hidden_test.go"])
	for _, c := range []struct {
		image, what, script string
		tree                map[string]string
		want                string
	}{
		{tag, "lib", compilesLib, warmModule, "0"},
		{base, "lib", compilesLib, warmModule, "1"},
		{tag, "compress/bzip2", compilesBzip2, solved, "0"},
		{base, "compress/bzip2", compilesBzip2, solved, "1"},
	} {
		res, err := runClean(t, d, sandbox.Spec{Image: c.image, Cmd: sh(c.script), Workspace: tarOf(t, c.tree)})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(res.Stdout)); got != c.want {
			t.Errorf("image %s: %s compiled %s times, want %s\nstderr: %s", c.image, c.what, got, c.want, res.Stderr)
		}
	}
}

func TestWarmScript(t *testing.T) {
	script := warmScript([]string{"./lib", "./server/..."}, true)
	t.Log(script)
	for _, want := range []string{
		"cd " + sandbox.Workdir + "\n",
		"GOCACHE=" + sandbox.WarmCacheDir,
		"GOPROXY=off",
		"go test -count=1 -vet=off -run '^$' ./lib ./server/...",
		"cp -R --remove-destination " + warmTestsDir + "/. " + sandbox.Workdir + "/\n",
		warmDepsList + " ./lib ./server/...",
		"xargs -r " + warmGoEnv + " go build",
		"-C " + warmOutDir + "/gocache\n",
		"cp " + sandbox.WarmCacheView + " " + warmOutDir + "/\n",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	for _, c := range []struct {
		name   string
		pkgs   []string
		tests  bool
		absent []string
	}{
		{"no packages", nil, true, []string{"go test", warmTestsDir}},
		{"no test files", []string{"./lib"}, false, []string{"go list", warmTestsDir}},
	} {
		script := warmScript(c.pkgs, c.tests)
		for _, a := range c.absent {
			if strings.Contains(script, a) {
				t.Errorf("%s: script holds %q:\n%s", c.name, a, script)
			}
		}
		if !strings.Contains(script, warmViewScript) {
			t.Errorf("%s: script makes no warm cache view:\n%s", c.name, script)
		}
	}
}

func TestWriteWarmTree(t *testing.T) {
	var buf bytes.Buffer
	ws := tarOf(t, map[string]string{"go.mod": "module m\n", "lib/": "", "/abs.go": "package x\n", "./lib/a.go": "package lib\n"})
	tests := map[string][]byte{"lib/hidden_test.go": []byte("package lib\n")}
	if err := writeWarmTree(&buf, ws, tests); err != nil {
		t.Fatal(err)
	}
	src := strings.TrimPrefix(sandbox.Workdir, "/") + "/"
	hidden := strings.TrimPrefix(warmTestsDir, "/") + "/"
	got := readTar(t, &buf)
	want := map[string]string{src: "", src + "go.mod": "module m\n", src + "lib/": "", src + "abs.go": "package x\n", src + "lib/a.go": "package lib\n", hidden: "", hidden + "lib/hidden_test.go": "package lib\n"}
	if !maps.Equal(got, want) {
		t.Errorf("tree %v, want %v", got, want)
	}
	if err := writeWarmTree(io.Discard, tarOf(t, map[string]string{"../evil": "x"}), nil); err == nil {
		t.Error("an entry leaving the tree was accepted")
	}
}

// readTar returns the names and bodies of a tar stream's entries.
func readTar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	tr := tar.NewReader(r)
	got := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		got[h.Name] = string(body)
	}
}

func TestRerootWarmOut(t *testing.T) {
	to := strings.TrimPrefix(path.Dir(sandbox.WarmCacheDir), "/") + "/"
	for _, c := range []struct {
		name    string
		entries []*tar.Header
		want    map[string]string
		wantErr bool
	}{
		{"entries and view", []*tar.Header{
			{Typeflag: tar.TypeDir, Name: "warm-out/", Mode: 0o755},
			{Typeflag: tar.TypeDir, Name: "warm-out/gocache/", Mode: 0o700},
			{Typeflag: tar.TypeDir, Name: "warm-out/gocache/ab/", Mode: 0o755},
			{Typeflag: tar.TypeReg, Name: "warm-out/gocache/ab/ab12-d", Mode: 0o4755, Size: 1, Uid: 7},
			{Typeflag: tar.TypeReg, Name: "warm-out/gocache.view.tar", Mode: 0o644, Size: 1},
			{Typeflag: tar.TypeSymlink, Name: "warm-out/gocache/ab/link", Linkname: "/etc/passwd"},
		}, map[string]string{to + "gocache/ab/": "", to + "gocache/ab/ab12-d": "x", to + "gocache.view.tar": "x"}, false},
		{"outside", []*tar.Header{{Typeflag: tar.TypeReg, Name: "other/x", Mode: 0o644, Size: 1}}, nil, true},
		{"dot-dot", []*tar.Header{{Typeflag: tar.TypeReg, Name: "warm-out/../../etc/x", Mode: 0o644, Size: 1}}, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in, out bytes.Buffer
			tw := tar.NewWriter(&in)
			for _, h := range c.entries {
				if err := tw.WriteHeader(h); err != nil {
					t.Fatal(err)
				}
				if h.Size > 0 {
					tw.Write([]byte("x"))
				}
			}
			tw.Close()
			err := rerootWarmOut(&out, &in)
			if (err != nil) != c.wantErr {
				t.Fatalf("rerootWarmOut: %v, want error %v", err, c.wantErr)
			}
			if c.wantErr {
				return
			}
			if got := readTar(t, bytes.NewReader(out.Bytes())); !maps.Equal(got, c.want) {
				t.Errorf("entries %v, want %v", got, c.want)
			}
			for name, h := range readTarHeaders(t, &out) {
				if h.Uid != 0 || h.Gid != 0 || h.Mode&^0o755 != 0 {
					t.Errorf("%s: uid %d gid %d mode %o; want root's, no special bits", name, h.Uid, h.Gid, h.Mode)
				}
			}
		})
	}
}

func TestCheckPatterns(t *testing.T) {
	for p, ok := range map[string]bool{
		".": true, "./lib": true, "./server/...": true, "./a_b/c-d": true,
		"": false, "lib": false, "../x": false, "./a/../b": false, "./a;rm": false,
		"./a b": false, "./.../x": false, "/abs": false, "./a//b": false, "./$(x)": false,
	} {
		if err := checkPatterns([]string{p}); (err == nil) != ok {
			t.Errorf("checkPatterns(%q) = %v, want ok=%v", p, err, ok)
		}
	}
}

func TestWarmTag(t *testing.T) {
	k := WarmKey("bank", "commit", "sha256:mod")
	if k != WarmKey("bank", "commit", "sha256:mod") || k == WarmKey("bank", "commit2", "sha256:mod") {
		t.Error("WarmKey is not a function of its inputs")
	}
	if tag := WarmTag(k); tag != ImageRepository+":warm-"+k[:12] {
		t.Errorf("WarmTag = %s", tag)
	}
}
