package meshmodel_test

import (
	"fmt"
	"testing"
	"testing/fstest"

	"github.com/meshery/meshery/server/meshmodel"
)

func cmcLatestRegistry(t *testing.T, versions map[string][]string) *meshmodel.Registry {
	t.Helper()
	fsys := fstest.MapFS{}
	i := 0
	for name, vs := range versions {
		for _, v := range vs {
			i++
			fsys[fmt.Sprintf("m%02d/model.json", i)] = &fstest.MapFile{
				Data: []byte(fmt.Sprintf(`{"name":%q,"version":%q}`, name, v)),
			}
		}
	}
	r, err := meshmodel.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func cmcLatestCheck(t *testing.T, r *meshmodel.Registry, name, want string) {
	t.Helper()
	m, ok := r.Latest(name)
	if !ok {
		t.Fatalf("Latest(%q) found nothing, want %s", name, want)
	}
	if m.Version != want || m.Name != name {
		t.Errorf("Latest(%q) = %s %s, want %s", name, m.Name, m.Version, want)
	}
}

func TestCMCLatestNumericOrder(t *testing.T) {
	r := cmcLatestRegistry(t, map[string][]string{
		"istio":   {"v1.9.0", "v1.10.0", "v1.2.11", "v1.10.0-rc.1"},
		"linkerd": {"2.9.4", "v2.14.1", "2.14.0"},
		"consul":  {"v0.9.99", "v0.10.0"},
	})
	cmcLatestCheck(t, r, "istio", "v1.10.0")
	cmcLatestCheck(t, r, "linkerd", "v2.14.1")
	cmcLatestCheck(t, r, "consul", "v0.10.0")
}

func TestCMCLatestPrerelease(t *testing.T) {
	r := cmcLatestRegistry(t, map[string][]string{
		"cilium": {"v1.15.0-rc.2", "v1.15.0", "v1.15.0-rc.10"},
		"kuma":   {"v2.6.0-rc.2", "v2.6.0-rc.10", "v2.5.9"},
		"nginx":  {"v1.0.0-alpha", "v1.0.0-beta", "v1.0.0-alpha.1"},
	})
	cmcLatestCheck(t, r, "cilium", "v1.15.0")
	cmcLatestCheck(t, r, "kuma", "v2.6.0-rc.10")
	cmcLatestCheck(t, r, "nginx", "v1.0.0-beta")
}

func TestCMCLatestUnknown(t *testing.T) {
	r := cmcLatestRegistry(t, map[string][]string{"istio": {"v1.20.0"}})
	if m, ok := r.Latest("linkerd"); ok {
		t.Errorf("Latest(linkerd) = %+v, true; want false", m)
	}
	cmcLatestCheck(t, r, "istio", "v1.20.0")
	b, err := meshmodel.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cmcLatestCheck(t, b, "kubernetes", "v1.29.0")
}
