package docker

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

func TestNPMCommand(t *testing.T) {
	cmd := npmCommand(context.Background(), "/usr/bin/npm", "/srv/ui")
	want := []string{"/usr/bin/npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--no-update-notifier"}
	if !slices.Equal(cmd.Args, want) || cmd.Dir != "/srv/ui" {
		t.Fatalf("command %q in %q, want %q in /srv/ui", cmd.Args, cmd.Dir, want)
	}
}

func TestJSTag(t *testing.T) {
	deps := sandbox.JSDeps{Lockfile: "ui/package-lock.json", Lock: []byte(`{"lockfileVersion":3}`), Package: []byte(`{"name":"ui"}`)}
	tag := jsTag("cmcgrader-sandbox:go1.26.8-mod-abc", deps)
	if !strings.HasPrefix(tag, "cmcgrader-sandbox:go1.26.8-mod-abc-js-") || len(tag) != len("cmcgrader-sandbox:go1.26.8-mod-abc-js-")+12 {
		t.Fatalf("tag %q", tag)
	}
	if jsTag("t", sandbox.JSDeps{}) != "t" {
		t.Error("a request without a lockfile changed the tag")
	}
	other := deps
	other.Lock = []byte(`{"lockfileVersion":3,"packages":{}}`)
	moved := deps
	moved.Lockfile = "web/package-lock.json"
	for name, d := range map[string]sandbox.JSDeps{"lockfile content": other, "lockfile path": moved} {
		if jsTag("t", d) == jsTag("t", deps) {
			t.Errorf("a different %s gives the same tag", name)
		}
	}
	if got := deps.Digest(); !strings.HasPrefix(got, "ui/package-lock.json sha256:") || len(got) != len("ui/package-lock.json sha256:")+64 {
		t.Errorf("digest %q", got)
	}
	if got := nodeModulesAt("ui/package-lock.json"); got != sandbox.NodeModulesDir+"/ui/node_modules" {
		t.Errorf("node_modules at %q", got)
	}
}

// TestInstallJSDepsNoRegistry runs the host's npm against a registry that
// refuses connections, as where no registry is reachable.
func TestInstallJSDepsNoRegistry(t *testing.T) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm is not installed on this host: the image build needs it for banks with js_deps npm")
	}
	t.Setenv("npm_config_registry", "http://127.0.0.1:1/")
	t.Setenv("npm_config_fetch_retries", "0")
	t.Setenv("npm_config_cache", t.TempDir())
	deps := sandbox.JSDeps{
		Lockfile: "ui/package-lock.json",
		Package:  []byte(`{"name":"ui","version":"1.0.0","dependencies":{"left-pad":"1.3.0"}}`),
		Lock: []byte(`{"name":"ui","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{` +
			`"":{"name":"ui","version":"1.0.0","dependencies":{"left-pad":"1.3.0"}},` +
			`"node_modules/left-pad":{"version":"1.3.0","resolved":"http://127.0.0.1:1/left-pad/-/left-pad-1.3.0.tgz",` +
			`"integrity":"sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQEsoiY/OX6DAdbUE2t6oSr/tTVXbE/d8xyLKRuUfOd0A/sA=="}}}`),
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	err = installJSDeps(context.Background(), logrus.NewEntry(log), npm, deps, t.TempDir())
	if !errors.Is(err, ErrNPMInstall) {
		t.Fatalf("error %v, want ErrNPMInstall", err)
	}
	t.Log(err)
	for _, want := range []string{"could not install ui dependencies: npm ci for ui/package-lock.json: ", "; run prepare where the registry is reachable"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
