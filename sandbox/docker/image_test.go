package docker

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/cmcgrader/cmcgrader/internal/mountinfo"
	"github.com/cmcgrader/cmcgrader/sandbox"
)

// testGoVersion is the Go version of the base image the tests build and
// keep: cmcgrader-sandbox:go1.26.8, shared with the other tests.
const testGoVersion = "1.26.8"

func imageTestLog(t *testing.T) *logrus.Entry {
	l := logrus.New()
	l.SetOutput(imageLogWriter{t})
	l.SetLevel(logrus.InfoLevel)
	return logrus.NewEntry(l).WithField("test", t.Name())
}

type imageLogWriter struct{ t *testing.T }

func (w imageLogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var (
	baseOnce sync.Once
	baseID   string
	baseErr  error
	baseTook time.Duration
)

// imageTestDocker connects to the engine; the tests need it.
func imageTestDocker(t *testing.T) *Engine {
	t.Helper()
	d, err := New(context.Background(), imageTestLog(t))
	if err != nil {
		t.Fatalf("docker: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// imageTestBase builds (or finds) the base image once for all tests.
func imageTestBase(t *testing.T, d *Engine) string {
	t.Helper()
	baseOnce.Do(func() {
		start := time.Now()
		baseID, baseErr = BuildBase(context.Background(), d.Client(), imageTestLog(t), BaseOptions{GoVersion: testGoVersion})
		baseTook = time.Since(start)
	})
	if baseErr != nil {
		t.Fatalf("BuildBase: %v", baseErr)
	}
	return baseID
}

// runImageContainer runs cmd in a throw-away container of image with no network, a
// read-only root file system and a tmpfs /tmp, and returns its exit code
// and combined output.
func runImageContainer(t *testing.T, d *Engine, image string, env []string, cmd ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := d.Client()
	c, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: image, Cmd: cmd, Env: env, Labels: d.Labels()},
		HostConfig: &container.HostConfig{
			NetworkMode:    "none",
			ReadonlyRootfs: true,
			Tmpfs:          map[string]string{"/tmp": "rw,exec,nosuid,nodev,size=1g"},
		},
	})
	if err != nil {
		t.Fatalf("create container: %v", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Errorf("remove container: %v", err)
		}
	}()
	wait := cli.ContainerWait(ctx, c.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := cli.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start container: %v", err)
	}
	var code int
	select {
	case res := <-wait.Result:
		code = int(res.StatusCode)
	case err := <-wait.Error:
		t.Fatalf("wait container: %v", err)
	}
	logs, err := cli.ContainerLogs(ctx, c.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("container logs: %v", err)
	}
	defer logs.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, io.LimitReader(logs, 1<<20)); err != nil {
		t.Fatalf("container logs: %v", err)
	}
	return code, out.String()
}

func TestBuildBase(t *testing.T) {
	d := imageTestDocker(t)
	id := imageTestBase(t, d)
	t.Logf("first BuildBase call: %s", baseTook.Round(time.Millisecond))

	// A second call keeps the tag: same image, nothing rebuilt.
	again, err := BuildBase(context.Background(), d.Client(), imageTestLog(t), BaseOptions{GoVersion: testGoVersion})
	if err != nil {
		t.Fatal(err)
	}
	if again != id {
		t.Errorf("second BuildBase = %s, want the existing %s", again, id)
	}

	code, out := runImageContainer(t, d, BaseTag(testGoVersion), nil, "sh", "-c",
		`go version && node --version && id -u && id -g && test -r `+sandbox.ReporterPath+
			` && test -x `+sandbox.SupervisorPath+` && test -d `+sandbox.WarmCacheDir+` && test -f `+sandbox.WarmCacheView+` && stat -c %u:%g /work && echo ok && sha256sum `+sandbox.ReporterPath+
			` && test -r `+sandbox.JestDriverPath+` && test -r `+sandbox.JestGuardPath+` && node -p "'jest='+require('jest/package.json').version"`)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	want := []string{"go version go" + testGoVersion + " linux/amd64\n", "v18.", "\n1000\n1000\n1000:1000\nok\n", reporterSum(), "\njest=29.3.1\n"}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestSamePackages checks that a base built with another package list
// is not taken as it is.
func TestSamePackages(t *testing.T) {
	img := func(labels map[string]string) *client.ImageInspectResult {
		return &client.ImageInspectResult{InspectResponse: image.InspectResponse{Config: &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{Labels: labels}}}}
	}
	opts := BaseOptions{GoVersion: testGoVersion}.withDefaults()
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"the same list", map[string]string{ImagePackagesLabel: strings.Join(DefaultPackages, ",")}, true},
		{"nodejs only (before jest)", map[string]string{ImagePackagesLabel: "nodejs"}, false},
		{"no label", map[string]string{}, false},
	} {
		if got := samePackages(img(tc.labels), opts); got != tc.want {
			t.Errorf("%s: samePackages = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// reporterSum is the hex SHA-256 of the JUnit reporter of this binary.
func reporterSum() string {
	sum := sha256.Sum256(junitReporter)
	return hex.EncodeToString(sum[:])
}

func TestBuildBaseUpdatesFiles(t *testing.T) {
	d := imageTestDocker(t)
	base := imageTestBase(t, d)
	ctx := context.Background()
	log := imageTestLog(t)
	tag := ImageRepository + ":reporter-test"
	t.Cleanup(func() {
		if _, err := d.Client().ImageRemove(context.Background(), tag, client.ImageRemoveOptions{PruneChildren: true}); err != nil {
			t.Errorf("remove %s: %v", tag, err)
		}
	})
	// A copy of the base image that claims other grader files.
	files := []contextFile{{"Dockerfile", "FROM " + base + "\n" + labelInstruction(map[string]string{ImageFilesLabel: "stale"})}}
	pr, stop := pipe(func(w io.Writer) error { return writeContext(w, files, "", "") })
	_, err := buildImage(ctx, d.Client(), log, pr, tag)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	id, err := BuildBase(ctx, d.Client(), log, BaseOptions{GoVersion: testGoVersion, Tag: tag})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("grader files update: %s", time.Since(start).Round(time.Millisecond))
	img, err := d.Client().ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != id || labelOf(&img, ImageFilesLabel) != filesDigest(DefaultOPAVersion) {
		t.Errorf("%s: id %s, files label %q; want %s, %s", tag, img.ID, labelOf(&img, ImageFilesLabel), id, filesDigest(DefaultOPAVersion))
	}
	code, out := runImageContainer(t, d, tag, nil, "sh", "-c", "sha256sum "+sandbox.ReporterPath+" && test -x "+sandbox.SupervisorPath)
	if code != 0 || !strings.HasPrefix(out, reporterSum()) {
		t.Errorf("sha256sum: exit %d: %s; want %s", code, out, reporterSum())
	}
}

// The cobra module: go.mod and go.sum of a module with one real
// dependency, and a test that uses it.
const (
	cobraGoMod = `module example.com/cobratest

go 1.26

require github.com/spf13/cobra v1.10.2

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
)
`
	cobraGoSum = `github.com/cpuguy83/go-md2man/v2 v2.0.6/go.mod h1:oOW0eioCTA6cOiMLiUPZOpcVxMig6NIQQ7OS05n1F4g=
github.com/inconshreveable/mousetrap v1.1.0 h1:wN+x4NVGpMsO7ErUn/mUI3vEoE6Jt13X2s0bqwp9tc8=
github.com/inconshreveable/mousetrap v1.1.0/go.mod h1:vpF70FUmC8bwa3OWnCshd2FqLfsEA9PFc4w1p2J65bw=
github.com/russross/blackfriday/v2 v2.1.0/go.mod h1:+Rmxgy9KzJVeS9/2gXHxylqXiyQDYRxCVz55jmeOWTM=
github.com/spf13/cobra v1.10.2 h1:DMTTonx5m65Ic0GOoRY2c16WCbHxOOw6xxezuLaBpcU=
github.com/spf13/cobra v1.10.2/go.mod h1:7C1pvHqHw5A4vrJfjNwvOdzYu0Gml16OCs2GRiTUUS4=
github.com/spf13/pflag v1.0.9 h1:9exaQaMOCwffKiiiYk6/BndUBv+iRViNW+4lEMi0PvY=
github.com/spf13/pflag v1.0.9/go.mod h1:McXfInJRrz4CZXVZOBLb0bTZqETkiAhM9Iw0y3An2Bg=
go.yaml.in/yaml/v3 v3.0.4/go.mod h1:DhzuOOF2ATzADvBadXxruRBLzYTpT36CKvDb3+aBEFg=
gopkg.in/check.v1 v0.0.0-20161208181325-20d25e280405/go.mod h1:Co6ibVJAznAaIkqp8huTwlJQCZ016jof/cbN4VW5Yz0=
`
	cobraTest = `package cobratest

import (
	"testing"

	"github.com/spf13/cobra"
)

func TestCommand(t *testing.T) {
	c := &cobra.Command{Use: "hello", Run: func(*cobra.Command, []string) {}}
	c.SetArgs(nil)
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
}
`
)

// goTestScript writes the module from $GOMOD, $GOSUM and $TESTGO into
// /tmp/m and runs go test there, with a private copy of the warm cache
// when $WARM is set, printing how long go test took.
const goTestScript = `set -e
mkdir -p /tmp/m /tmp/home && cd /tmp/m
printf '%s' "$GOMOD" > go.mod
printf '%s' "$GOSUM" > go.sum
printf '%s' "$TESTGO" > m_test.go
mkdir -p "$GOCACHE"
if [ -n "$WARM" ]; then cp -R ` + sandbox.WarmCacheDir + `/. "$GOCACHE"/; fi
start=$(date +%s%N)
go test -count=1 ./...
echo "took_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
`

func TestBuildModules(t *testing.T) {
	d := imageTestDocker(t)
	base := imageTestBase(t, d)
	ctx := context.Background()
	opts := ModulesOptions{BaseImage: BaseTag(testGoVersion), GoMod: []byte(cobraGoMod), GoSum: []byte(cobraGoSum)}
	start := time.Now()
	id, err := BuildModules(ctx, d.Client(), imageTestLog(t), opts)
	if err != nil {
		t.Fatalf("BuildModules: %v", err)
	}
	t.Logf("BuildModules: %s", time.Since(start).Round(time.Millisecond))
	tag := ModulesTag(testGoVersion, opts.GoMod, opts.GoSum, nil)
	img, err := d.Client().ImageInspect(ctx, tag)
	if err != nil {
		t.Fatalf("inspect %s: %v", tag, err)
	}
	if img.ID != id || labelOf(&img, ImageBaseLabel) != base {
		t.Errorf("%s: id %s base %s; want %s on %s", tag, img.ID, labelOf(&img, ImageBaseLabel), id, base)
	}

	log := imageTestLog(t)
	seen := logtest.NewLocal(log.Logger)
	again, err := BuildModules(ctx, d.Client(), log, opts)
	if err != nil || again != id {
		t.Errorf("second BuildModules = %s, %v; want %s", again, err, id)
	}
	reused := false
	for _, e := range seen.AllEntries() {
		reused = reused || e.Message == "image exists"
		if e.Message == "modules image built" {
			t.Errorf("second BuildModules built the image again; want it to reuse the tag")
		}
	}
	if !reused {
		t.Errorf("second BuildModules did not log that it reused %s", tag)
	}

	env := []string{"GOMOD=" + cobraGoMod, "GOSUM=" + cobraGoSum, "TESTGO=" + cobraTest,
		"HOME=/tmp/home", "GOFLAGS=-mod=mod", "GOPROXY=off"}
	for _, warm := range []string{"", "1"} {
		code, out := runImageContainer(t, d, tag, append(env, "WARM="+warm), "sh", "-c", goTestScript)
		if code != 0 || !strings.Contains(out, "ok  \texample.com/cobratest") {
			t.Fatalf("go test (warm=%q): exit %d:\n%s", warm, code, out)
		}
		t.Logf("go test with warm cache %q: %s", warm, strings.TrimSpace(out[strings.LastIndex(out, "took_ms="):]))
	}

	// One layer on the base, holding the extracted modules and their
	// .ziphash files but no download zip.
	baseImg, err := d.Client().ImageInspect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.RootFS.Layers) != len(baseImg.RootFS.Layers)+1 {
		t.Errorf("modules image has %d layers, want the base's %d plus one", len(img.RootFS.Layers), len(baseImg.RootFS.Layers))
	}
	count := "echo $(find " + ModCacheDir + "/cache/download -name '*.zip' | wc -l) $(find " + ModCacheDir + "/cache/download -name '*.ziphash' | wc -l)"
	if code, out := runImageContainer(t, d, tag, nil, "sh", "-c", count); code != 0 || !strings.HasPrefix(out, "0 ") || strings.HasPrefix(out, "0 0") {
		t.Errorf("zips and ziphashes in the module cache: exit %d: %q; want no zip and some ziphashes", code, out)
	}

	// go.sum is still checked against the cache: a tampered hash of a
	// module's content fails the build offline.
	code, out := runImageContainer(t, d, tag, append(env, "GOSUM="+tamperSum(t, cobraGoSum, "github.com/spf13/cobra ")), "sh", "-c", goTestScript)
	if code == 0 || !strings.Contains(out, "checksum mismatch") {
		t.Errorf("go test with a tampered go.sum: exit %d, want a checksum mismatch:\n%s", code, out)
	}
}

// tamperSum replaces, in go.sum text sum, the hash of the content of the
// module whose line starts with prefix (not its go.mod's hash).
func tamperSum(t *testing.T, sum, prefix string) string {
	t.Helper()
	lines := strings.Split(sum, "\n")
	for i, line := range lines {
		if f := strings.Fields(line); strings.HasPrefix(line, prefix) && len(f) == 3 && !strings.HasSuffix(f[1], "/go.mod") {
			lines[i] = f[0] + " " + f[1] + " h1:" + strings.Repeat("A", 43) + "="
			return strings.Join(lines, "\n")
		}
	}
	t.Fatalf("go.sum has no content hash of %q", prefix)
	return ""
}

func TestBuildModulesRejectsLocalReplace(t *testing.T) {
	d := imageTestDocker(t)
	imageTestBase(t, d)
	_, err := BuildModules(context.Background(), d.Client(), imageTestLog(t), ModulesOptions{
		BaseImage: BaseTag(testGoVersion),
		GoMod:     []byte("module m\n\ngo 1.26\n\nreplace example.com/x => ../x\n"),
	})
	if !errors.Is(err, ErrLocalReplace) {
		t.Fatalf("err = %v, want ErrLocalReplace", err)
	}
}

// TestBuildModulesLocalReplace builds the modules image of a go.mod that
// replaces its own path (ignored, as the go command does) and a module
// by a folder of the tree, whose go.mod is given.
func TestBuildModulesLocalReplace(t *testing.T) {
	d := imageTestDocker(t)
	imageTestBase(t, d)
	gomod := "module example.com/m\n\ngo 1.26\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/m => ../m\n\nreplace example.com/lib => ./internal/lib\n"
	_, err := BuildModules(context.Background(), d.Client(), imageTestLog(t), ModulesOptions{
		BaseImage:    BaseTag(testGoVersion),
		GoMod:        []byte(gomod),
		LocalModules: map[string][]byte{"internal/lib": []byte("module example.com/lib\n\ngo 1.26\n")},
	})
	if err != nil {
		t.Fatalf("BuildModules: %v", err)
	}
}

func TestBuildBaseBadVersion(t *testing.T) {
	for _, v := range []string{"", "go1.26.8", "1.26.8; rm -rf /", "2.0"} {
		_, err := BuildBase(context.Background(), nil, imageTestLog(t), BaseOptions{GoVersion: v})
		if !errors.Is(err, ErrBadGoVersion) {
			t.Errorf("BuildBase(%q) = %v, want ErrBadGoVersion", v, err)
		}
	}
}

func TestTags(t *testing.T) {
	if got, want := BaseTag("1.26.8"), "cmcgrader-sandbox:go1.26.8"; got != want {
		t.Errorf("BaseTag = %q, want %q", got, want)
	}
	got := ModulesTag("1.26.8", []byte("a"), []byte("b"), nil)
	// sha256("ab") = fb8e20fc2e4c3f24...
	if want := "cmcgrader-sandbox:go1.26.8-mod-fb8e20fc2e4c"; got != want {
		t.Errorf("ModulesTag = %q, want %q", got, want)
	}
	// The go.mod of a folder the go.mod replaces a module by is part of
	// the key, and so is its path.
	withLocal := ModulesTag("1.26.8", []byte("a"), []byte("b"), map[string][]byte{"lib": []byte("module l\n")})
	moved := ModulesTag("1.26.8", []byte("a"), []byte("b"), map[string][]byte{"lib2": []byte("module l\n")})
	if withLocal == got || moved == withLocal {
		t.Errorf("ModulesTag ignores local modules: %s, %s, %s", got, withLocal, moved)
	}
}

func TestLabelInstruction(t *testing.T) {
	got := labelInstruction(map[string]string{"b": "x y", "a": `q"`})
	if want := "LABEL a=\"q\\\"\" b=\"x y\"\n"; got != want {
		t.Errorf("labelInstruction = %q, want %q", got, want)
	}
}

func TestToolchainMode(t *testing.T) {
	tests := []struct {
		rel  string
		want int64
	}{
		{"bin/go", 0o755},
		{"pkg/tool/linux_amd64/compile", 0o755},
		{"lib/wasm/go_js_wasm_exec", 0o755},
		{"lib/wasm/wasm_exec.js", 0o644},
		{"src/make.bash", 0o644},
		{"VERSION", 0o644},
	}
	for _, tt := range tests {
		if got := toolchainMode(tt.rel); got != tt.want {
			t.Errorf("toolchainMode(%q) = %o, want %o", tt.rel, got, tt.want)
		}
	}
}

func TestLangVersion(t *testing.T) {
	for in, want := range map[string]string{"1.26.8": "1.26", "1.27rc1": "1.27", "1.27beta2": "1.27", "1.26": "1.26"} {
		if got := langVersion(in); got != want {
			t.Errorf("langVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", `/plain`: "/plain", `/end\04`: `/end\04`, `\134x`: `\x`} {
		if got := mountinfo.Unescape(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckReplaces(t *testing.T) {
	tests := []struct {
		name, json string
		wantErr    error
	}{
		{"none", `{"Module":{"Path":"m"}}`, nil},
		{"module", `{"Replace":[{"Old":{"Path":"a"},"New":{"Path":"b","Version":"v1.0.0"}}]}`, nil},
		{"dir", `{"Replace":[{"Old":{"Path":"a"},"New":{"Path":"../a"}}]}`, ErrLocalReplace},
		{"the main module", `{"Module":{"Path":"m"},"Replace":[{"Old":{"Path":"m"},"New":{"Path":"../m"}}]}`, nil},
		{"a folder given", `{"Module":{"Path":"m"},"Replace":[{"Old":{"Path":"a"},"New":{"Path":"./lib/a/"}}]}`, nil},
		{"a folder not given", `{"Module":{"Path":"m"},"Replace":[{"Old":{"Path":"a"},"New":{"Path":"./lib/b"}}]}`, ErrLocalReplace},
	}
	local := map[string][]byte{"lib/a": []byte("module a\n")}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkReplaces([]byte(tt.json), local); !errors.Is(err, tt.wantErr) {
				t.Errorf("checkReplaces = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestReadStream(t *testing.T) {
	var got []string
	err := readStream(strings.NewReader(`{"stream":"Step 1/2"}{"status":"sha256:abc"}`), func(m streamMessage) {
		got = append(got, m.Stream+m.Status)
	})
	if err != nil || strings.Join(got, ",") != "Step 1/2,sha256:abc" {
		t.Errorf("readStream = %q, %v", got, err)
	}
	err = readStream(strings.NewReader(`{"stream":"x"}{"errorDetail":{"message":"boom"},"error":"boom"}`), func(streamMessage) {})
	if err == nil || err.Error() != "boom" {
		t.Errorf("readStream error = %v, want boom", err)
	}
}

func TestAppendLine(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh"), 0o644)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for range 2 {
		if err := appendLine(root, "etc/passwd", "cmc:x:1000:1000::/work:/bin/sh"); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(filepath.Join(dir, "etc/passwd"))
	if want := "root:x:0:0::/root:/bin/sh\ncmc:x:1000:1000::/work:/bin/sh\n"; string(got) != want {
		t.Errorf("passwd = %q, want %q", got, want)
	}
}

// readTarHeaders lists a tar stream as name → header.
func readTarHeaders(t *testing.T, r io.Reader) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h
	}
}

func TestWriteRootfs(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"proc/1", "dev", "usr/bin"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "proc/1/status"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "usr/bin/tool"), []byte("#!/bin/sh\n"), 0o750)
	os.Link(filepath.Join(dir, "usr/bin/tool"), filepath.Join(dir, "usr/bin/tool2"))
	os.Symlink("usr/bin", filepath.Join(dir, "bin"))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := writeRootfs(tw, dir); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	got := readTarHeaders(t, &buf)
	if _, ok := got["proc/"]; !ok {
		t.Error("proc/ missing")
	}
	if _, ok := got["proc/1/"]; ok {
		t.Error("proc contents kept")
	}
	if h := got["usr/bin/tool"]; h == nil || h.Mode&0o777 != 0o750 || h.Size != 10 {
		t.Errorf("usr/bin/tool = %+v", h)
	}
	if h := got["usr/bin/tool2"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "usr/bin/tool" {
		t.Errorf("usr/bin/tool2 = %+v, want a hard link", h)
	}
	if h := got["bin"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "usr/bin" {
		t.Errorf("bin = %+v, want a symlink", h)
	}
}

func TestWriteToolchain(t *testing.T) {
	const prefix = "golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64/"
	zipOf := func(names ...string) *zip.Reader {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range names {
			w, _ := zw.Create(n)
			io.WriteString(w, n)
		}
		zw.Close()
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		return zr
	}
	t.Run("layout", func(t *testing.T) {
		zr := zipOf(prefix+"bin/go", prefix+"src/_go.mod", prefix+"VERSION")
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		if err := writeToolchain(tw, zr, prefix, "usr/local/go"); err != nil {
			t.Fatal(err)
		}
		tw.Close()
		got := readTarHeaders(t, &buf)
		if _, ok := got["usr/local/"]; ok {
			t.Error("usr/local/ repeated")
		}
		for name, mode := range map[string]int64{
			"usr/local/go/bin/go": 0o755, "usr/local/go/src/_go.mod": 0o644,
			"usr/local/go/src/go.mod": 0o644, "usr/local/go/VERSION": 0o644,
			"usr/local/go/": 0o755,
		} {
			if h := got[name]; h == nil || h.Mode != mode {
				t.Errorf("%s = %+v, want mode %o", name, h, mode)
			}
		}
	})
	t.Run("escape", func(t *testing.T) {
		zr := zipOf(prefix + "../../etc/passwd")
		if err := writeToolchain(tar.NewWriter(io.Discard), zr, prefix, "usr/local/go"); err == nil {
			t.Error("want an error for a name leaving the prefix")
		}
	})
	t.Run("version", func(t *testing.T) {
		if err := checkToolchain(zipOf(prefix+"VERSION"), prefix, "1.26.8"); err == nil {
			t.Error("want an error for a VERSION that is not go1.26.8")
		}
	})
}

func TestWriteContext(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"cache/vcs/x/HEAD",
		"cache/download/a/@v/v1.zip", "cache/download/a/@v/v1.ziphash", "cache/download/a/@v/v1.lock", "cache/download/a/@v/v1.mod", "a@v1/a.go",
		"cache/download/b/!c/@v/v2.0.0.zip", "cache/download/b/!c/@v/v2.0.0.ziphash", "b/!c@v2.0.0/c.go",
		"cache/download/d/@v/v3.zip", "cache/download/d/@v/v3.ziphash",
		"cache/download/e/@v/v4.zip", "e@v4/e.go",
	} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o700)
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600)
	}
	var buf bytes.Buffer
	if err := writeContext(&buf, []contextFile{{"Dockerfile", "FROM x\n"}}, dir, "gomodcache"); err != nil {
		t.Fatal(err)
	}
	got := readTarHeaders(t, &buf)
	if h := got["gomodcache/a@v1/"]; h == nil || h.Mode != 0o755 {
		t.Errorf("gomodcache/a@v1/ = %+v, want mode 755", h)
	}
	for _, c := range []struct {
		name string
		kept bool
	}{
		{"Dockerfile", true},
		{"gomodcache/a@v1/a.go", true},
		{"gomodcache/cache/download/a/@v/v1.mod", true},
		{"gomodcache/cache/download/a/@v/v1.ziphash", true},
		{"gomodcache/cache/vcs/", false},
		{"gomodcache/cache/download/a/@v/v1.lock", false},
		// extracted, with its hash: the zip is never read
		{"gomodcache/cache/download/a/@v/v1.zip", false},
		{"gomodcache/cache/download/b/!c/@v/v2.0.0.zip", false},
		// not extracted, or no hash: the zip is all there is
		{"gomodcache/cache/download/d/@v/v3.zip", true},
		{"gomodcache/cache/download/e/@v/v4.zip", true},
	} {
		h, ok := got[c.name]
		if ok != c.kept {
			t.Errorf("%s kept = %v, want %v", c.name, ok, c.kept)
		}
		if ok && h.Typeflag == tar.TypeReg && (h.Mode != 0o644 || h.Uid != 0 || h.Gid != 0) {
			t.Errorf("%s = mode %o owner %d:%d, want 644 root's", c.name, h.Mode, h.Uid, h.Gid)
		}
	}
}
