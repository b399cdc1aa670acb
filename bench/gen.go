package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ClientGoVersion is the k8s.io/client-go version the generated
// repository's Go packages import.
const ClientGoVersion = "v0.37.2"

// GenConfig shapes a generated repository. Zero fields take the defaults
// of DefaultGenConfig.
type GenConfig struct {
	// Files is the number of files of the first commit.
	Files int
	// Commits is the length of main's history.
	Commits int
	// FileBytes is the mean size of a file.
	FileBytes int
	// Seed makes the content; the same seed gives the same repository.
	Seed uint64
	// GoVersion is the Go version the bank asks for.
	GoVersion string
}

// DefaultGenConfig is the Meshery-size shape: 30,000 files, 3,000
// commits.
var DefaultGenConfig = GenConfig{Files: 30000, Commits: 3000, FileBytes: 1200, Seed: 5, GoVersion: "1.26.8"}

func (c GenConfig) withDefaults() GenConfig {
	d := DefaultGenConfig
	if c.Files <= 0 {
		c.Files = d.Files
	}
	if c.Commits <= 0 {
		c.Commits = d.Commits
	}
	if c.FileBytes <= 0 {
		c.FileBytes = d.FileBytes
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	if c.GoVersion == "" {
		c.GoVersion = d.GoVersion
	}
	return c
}

// Generated is a generated input: an upstream repository (branch main),
// a fork of it (branch candidate, one commit solving every task) and a
// bank whose tasks import client-go.
type Generated struct {
	Upstream string // bare repository with main
	Fork     string // bare repository with main and candidate
	Bank     string // bank folder
}

// The generated Go code: a stub at the base, the solution on the
// candidate branch, and the hidden tests. All import client-go or
// apimachinery, as Meshery's server and models do.
var (
	podsBase = `package pods

import (
	"context"

	"k8s.io/client-go/kubernetes"
)

// CountPods returns the number of pods in namespace ns.
func CountPods(ctx context.Context, cs kubernetes.Interface, ns string) (int, error) {
	return 0, nil
}
`
	podsSolution = `package pods

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// CountPods returns the number of pods in namespace ns.
func CountPods(ctx context.Context, cs kubernetes.Interface, ns string) (int, error) {
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	return len(list.Items), nil
}
`
	podsTest = `package pods

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func pod(ns, name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func TestCMCCountPods(t *testing.T) {
	cs := fake.NewSimpleClientset(pod("meshery", "a"), pod("meshery", "b"), pod("default", "c"))
	n, err := CountPods(context.Background(), cs, "meshery")
	if err != nil || n != 2 {
		t.Fatalf("CountPods = %d, %v; want 2", n, err)
	}
}
`
	selectorBase = `package selector

import "k8s.io/apimachinery/pkg/labels"

// Matches reports whether the label selector sel selects set.
func Matches(sel string, set map[string]string) (bool, error) {
	_ = labels.Everything()
	return false, nil
}
`
	selectorSolution = `package selector

import "k8s.io/apimachinery/pkg/labels"

// Matches reports whether the label selector sel selects set.
func Matches(sel string, set map[string]string) (bool, error) {
	s, err := labels.Parse(sel)
	if err != nil {
		return false, err
	}
	return s.Matches(labels.Set(set)), nil
}
`
	selectorTest = `package selector

import "testing"

func TestCMCMatches(t *testing.T) {
	ok, err := Matches("app=meshery,tier in (server)", map[string]string{"app": "meshery", "tier": "server"})
	if err != nil || !ok {
		t.Fatalf("Matches = %v, %v; want true", ok, err)
	}
	if ok, _ := Matches("app=other", map[string]string{"app": "meshery"}); ok {
		t.Fatal("app=other matched")
	}
}
`
)

// benchTask is one task of the generated bank.
type benchTask struct {
	id, exam, pkg, file, base, solution, testName, testFile, test string
}

var benchTasks = []benchTask{
	{"server-k8s-pods", "server", "server/k8s/pods", "server/k8s/pods/pods.go", podsBase, podsSolution,
		"TestCMCCountPods", "server/k8s/pods/pods_cmc_test.go", podsTest},
	{"models-k8s-selector", "models", "models/k8s/selector", "models/k8s/selector/selector.go", selectorBase, selectorSolution,
		"TestCMCMatches", "models/k8s/selector/selector_cmc_test.go", selectorTest},
}

// Generate writes a generated input under dir (which must not exist or
// be empty): repositories through git fast-import, and the bank. goCmd
// resolves go.mod and go.sum with `go mod tidy` on the host (from the Go
// module proxy).
func Generate(ctx context.Context, dir, goCmd string, cfg GenConfig) (*Generated, error) {
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	gomod, gosum, err := resolveModules(ctx, dir, goCmd)
	if err != nil {
		return nil, err
	}
	g := &Generated{
		Upstream: filepath.Join(dir, "repos", "upstream.git"),
		Fork:     filepath.Join(dir, "repos", "fork.git"),
		Bank:     filepath.Join(dir, "bank"),
	}
	if err := gitRun(ctx, "", nil, "init", "-q", "--bare", g.Fork); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<20)
		err := writeHistory(bw, cfg, gomod, gosum)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	err = gitRun(ctx, g.Fork, pr, "fast-import", "--quiet")
	pr.CloseWithError(errors.New("fast-import ended"))
	if err != nil {
		return nil, err
	}
	if err := gitRun(ctx, "", nil, "clone", "-q", "--bare", "--single-branch", "--branch", "main", g.Fork, g.Upstream); err != nil {
		return nil, err
	}
	for _, repo := range []string{g.Fork, g.Upstream} {
		if err := gitRun(ctx, repo, nil, "config", "uploadpack.allowAnySHA1InWant", "true"); err != nil {
			return nil, err
		}
	}
	if err := writeBank(ctx, g, cfg); err != nil {
		return nil, err
	}
	return g, nil
}

// resolveModules runs go mod tidy on a module holding the generated code
// and hidden tests, and returns its go.mod and go.sum.
func resolveModules(ctx context.Context, dir, goCmd string) (gomod, gosum []byte, err error) {
	tmp := filepath.Join(dir, "modresolve")
	files := map[string]string{
		"go.mod": "module github.com/meshery/meshery\n\ngo 1.26\n\nrequire k8s.io/client-go " + ClientGoVersion + "\n",
	}
	for _, t := range benchTasks {
		files[t.file] = t.solution
		files[t.testFile] = t.test
	}
	for name, body := range files {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return nil, nil, err
		}
	}
	cmd := exec.CommandContext(ctx, goCmd, "mod", "tidy")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("go mod tidy for the generated repository: %w\n%s", err, out)
	}
	if gomod, err = os.ReadFile(filepath.Join(tmp, "go.mod")); err != nil {
		return nil, nil, err
	}
	if gosum, err = os.ReadFile(filepath.Join(tmp, "go.sum")); err != nil {
		return nil, nil, err
	}
	return gomod, gosum, os.RemoveAll(tmp)
}

// words make the generated files' text: prose compresses like prose.
var words = strings.Fields(`mesh service adapter pattern design kubernetes cluster
operator broker meshsync component model registry relationship policy
filter performance profile load test envoy istio linkerd consul
schema capability workspace environment connection credential token
the of and to in is for with on as by at from that this be are`)

// fileText is the content of generated file i at revision rev.
func fileText(cfg GenConfig, i, rev int) []byte {
	r := rand.New(rand.NewPCG(cfg.Seed, uint64(i)<<20|uint64(rev)))
	n := cfg.FileBytes/2 + r.IntN(cfg.FileBytes)
	var b bytes.Buffer
	fmt.Fprintf(&b, "// file %d revision %d\n", i, rev)
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(12) == 0 {
			b.WriteByte('\n')
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// filePath is the path of generated file i: ui components, docs and
// server model data, in folders of 20.
func filePath(i int) string {
	dir := i / 20
	switch i % 3 {
	case 0:
		return fmt.Sprintf("ui/components/group%03d/Component%05d.js", dir, i)
	case 1:
		return fmt.Sprintf("docs/content/section%03d/page%05d.md", dir, i)
	}
	return fmt.Sprintf("server/meshmodel/data%03d/model%05d.json", dir, i)
}

// writeHistory writes the fast-import stream: main with cfg.Commits
// commits (all files, then three edited per commit, then the Go code),
// and candidate one commit past main.
func writeHistory(w io.Writer, cfg GenConfig, gomod, gosum []byte) error {
	// bufio keeps the first write error and returns it from every later
	// call, Flush included.
	ew := bufio.NewWriterSize(w, 64<<10)
	when := int64(1700000000)
	commit := func(ref, msg string, from string) {
		when += 600
		fmt.Fprintf(ew, "commit refs/heads/%s\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n", ref, when, len(msg), msg)
		if from != "" {
			fmt.Fprintf(ew, "from %s\n", from)
		}
	}
	file := func(path string, body []byte) {
		fmt.Fprintf(ew, "M 100644 inline %s\ndata %d\n", path, len(body))
		ew.Write(body)
		ew.Write([]byte{'\n'})
	}
	commit("main", "Import the tree", "")
	for i := range cfg.Files {
		file(filePath(i), fileText(cfg, i, 0))
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 1<<62))
	for c := 1; c < cfg.Commits-1; c++ {
		commit("main", fmt.Sprintf("Change %d", c), "")
		for range 3 {
			i := r.IntN(cfg.Files)
			file(filePath(i), fileText(cfg, i, c))
		}
		if err := ew.Flush(); err != nil {
			return err
		}
	}
	commit("main", "Add the Kubernetes helpers", "")
	file("go.mod", gomod)
	file("go.sum", gosum)
	file("README.md", []byte("# Generated Meshery-size repository\n"))
	for _, t := range benchTasks {
		file(t.file, []byte(t.base))
	}
	commit("candidate", "Solve the tasks", "refs/heads/main")
	for _, t := range benchTasks {
		file(t.file, []byte(t.solution))
	}
	fmt.Fprintf(ew, "done\n")
	return ew.Flush()
}

// writeBank writes the bank of the generated repository.
func writeBank(ctx context.Context, g *Generated, cfg GenConfig) error {
	files := map[string]string{
		"bank.yaml": fmt.Sprintf("version: 1\nname: bench-meshery-size\ngo: %q\nbase:\n  repo: \"\"\n  ref: main\n", cfg.GoVersion),
	}
	for _, t := range benchTasks {
		patch, err := gitOutput(ctx, g.Fork, "diff", "main", "candidate", "--", t.file)
		if err != nil {
			return err
		}
		files["tasks/"+t.id+"/task.yaml"] = fmt.Sprintf(`id: %s
exam: %s
title: %s
points: 2
runner: go
packages: [./%s]
tests: [%s]
timeout: 20m
hidden:
  - %s
restore: [go.mod, go.sum]
`, t.id, t.exam, t.testName, t.pkg, t.testName, t.testFile)
		files["tasks/"+t.id+"/hidden/"+t.testFile] = t.test
		files["tasks/"+t.id+"/reference.patch"] = patch
	}
	for name, body := range files {
		p := filepath.Join(g.Bank, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// gitRun runs git with stdin in dir.
func gitRun(ctx context.Context, dir string, stdin io.Reader, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir, cmd.Stdin = dir, stdin
	cmd.Env = gitEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir, cmd.Env = dir, gitEnv()
	out, err := cmd.Output()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return "", fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, ee.Stderr)
	}
	return string(out), err
}

// gitEnv is the environment without user git config.
func gitEnv() []string {
	return append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
}
