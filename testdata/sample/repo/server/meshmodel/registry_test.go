package meshmodel

import (
	"testing"
	"testing/fstest"
)

func TestBuiltinLoads(t *testing.T) {
	r, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	models := r.Models()
	if len(models) < 2 {
		t.Fatalf("got %d models, want at least 2", len(models))
	}
	for _, m := range models {
		if len(m.Components) == 0 {
			t.Errorf("model %s has no components", m.Name)
		}
		for _, c := range m.Components {
			if c.Model != m.Name {
				t.Errorf("component %s: model = %q, want %q", c.Kind, c.Model, m.Name)
			}
		}
	}
	if _, ok := r.Get("kubernetes", "v1.29.0"); !ok {
		t.Error("kubernetes v1.29.0 not found")
	}
}

func TestLoadRejectsModelWithoutVersion(t *testing.T) {
	fsys := fstest.MapFS{"x/model.json": {Data: []byte(`{"name":"x"}`)}}
	if _, err := Load(fsys); err == nil {
		t.Fatal("Load succeeded, want an error")
	}
}

func TestComponentsQuery(t *testing.T) {
	r, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	got := r.Components("service")
	if len(got) == 0 {
		t.Fatal("no component matches \"service\"")
	}
	for _, c := range got {
		if c.Kind == "" {
			t.Errorf("empty kind in %+v", c)
		}
	}
}
