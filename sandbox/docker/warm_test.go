package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"maps"
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

	// The build stage, which holds the base tree, is gone.
	stage, err := d.Client().ImageList(ctx, client.ImageListOptions{All: true, Filters: make(client.Filters).Add("label", imageWarmStageLabel+"="+key)})
	if err != nil || len(stage.Items) != 0 {
		t.Errorf("build stage images left: %v, %v", stage.Items, err)
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

func TestWarmDockerfile(t *testing.T) {
	df := warmDockerfile("sha256:mod", "k", []string{"./lib", "./server/..."}, true, map[string]string{ImageWarmLabel: "k"})
	t.Log(df)
	for _, want := range []string{
		"FROM sha256:mod AS warm\n",
		"COPY src " + sandbox.Workdir + "\n",
		"GOCACHE=" + sandbox.WarmCacheDir,
		"GOPROXY=off",
		"go test -count=1 -vet=off -run '^$' ./lib ./server/...",
		"FROM sha256:mod\nCOPY --from=warm " + warmNewDir + " " + sandbox.WarmCacheDir + "\n",
		"USER 1000:1000\n",
		`LABEL dev.cmcgrader.warm="k"`,
		"AS warm\nLABEL " + imageWarmStageLabel + `="k"` + "\n",
		"COPY tests " + warmTestsDir + "\n",
		warmDepsList + " ./lib ./server/...",
		"xargs -r " + warmGoEnv + " go build",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
	if strings.Count(df, "FROM ") != 2 {
		t.Errorf("want two stages:\n%s", df)
	}
	if df := warmDockerfile("m", "k", nil, true, nil); strings.Contains(df, "go test") || strings.Contains(df, "COPY tests") {
		t.Errorf("no packages, yet a go test or test files:\n%s", df)
	}
	if df := warmDockerfile("m", "k", []string{"./lib"}, false, nil); strings.Contains(df, "go list") || strings.Contains(df, "COPY tests") {
		t.Errorf("no test files, yet their imports are listed:\n%s", df)
	}
}

func TestWriteWarmContext(t *testing.T) {
	var buf bytes.Buffer
	ws := tarOf(t, map[string]string{"go.mod": "module m\n", "lib/": "", "/abs.go": "package x\n", "./lib/a.go": "package lib\n"})
	tests := map[string][]byte{"lib/hidden_test.go": []byte("package lib\n")}
	if err := writeWarmContext(&buf, "FROM x\n", ws, tests); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	got := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		got[h.Name] = string(body)
	}
	want := map[string]string{"Dockerfile": "FROM x\n", "src/": "", "src/go.mod": "module m\n", "src/lib/": "", "src/abs.go": "package x\n", "src/lib/a.go": "package lib\n", "tests/": "", "tests/lib/hidden_test.go": "package lib\n"}
	if len(got) != len(want) {
		t.Errorf("context %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if err := writeWarmContext(io.Discard, "", tarOf(t, map[string]string{"../evil": "x"}), nil); err == nil {
		t.Error("an entry leaving the tree was accepted")
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
