package meshmodel_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/meshery/meshery/server/meshmodel"
)

func cmcValidComponent() meshmodel.Component {
	return meshmodel.Component{
		Kind:       "Deployment",
		APIVersion: "apps/v1",
		Model:      "kubernetes",
		Schema:     json.RawMessage(`{"type":"object","properties":{}}`),
	}
}

func TestCMCValidateAcceptsBuiltin(t *testing.T) {
	r, err := meshmodel.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range r.Models() {
		for _, c := range m.Components {
			n++
			if err := meshmodel.ValidateComponent(c); err != nil {
				t.Errorf("%s/%s: %v", m.Name, c.Kind, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no builtin components")
	}
	if err := meshmodel.ValidateComponent(cmcValidComponent()); err != nil {
		t.Errorf("valid component: %v", err)
	}
}

func TestCMCValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *meshmodel.Component)
	}{
		{"empty kind", func(c *meshmodel.Component) { c.Kind = "" }},
		{"lower-case kind", func(c *meshmodel.Component) { c.Kind = "deployment" }},
		{"kind with dash", func(c *meshmodel.Component) { c.Kind = "Virtual-Service" }},
		{"kind not ASCII", func(c *meshmodel.Component) { c.Kind = "Ďeployment" }},
		{"empty apiVersion", func(c *meshmodel.Component) { c.APIVersion = "" }},
		{"no schema", func(c *meshmodel.Component) { c.Schema = nil }},
		{"schema not JSON", func(c *meshmodel.Component) { c.Schema = json.RawMessage(`{"type":`) }},
		{"schema an array", func(c *meshmodel.Component) { c.Schema = json.RawMessage(`[1,2]`) }},
		{"schema of strings", func(c *meshmodel.Component) { c.Schema = json.RawMessage(`{"type":"string"}`) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cmcValidComponent()
			tc.change(&c)
			err := meshmodel.ValidateComponent(c)
			if !errors.Is(err, meshmodel.ErrInvalidComponent) {
				t.Errorf("err = %v, want one wrapping ErrInvalidComponent", err)
			}
		})
	}
}

func TestCMCValidateNamesFields(t *testing.T) {
	c := meshmodel.Component{Kind: "bad kind", Schema: json.RawMessage(`{"type":"array"}`)}
	err := meshmodel.ValidateComponent(c)
	if !errors.Is(err, meshmodel.ErrInvalidComponent) {
		t.Fatalf("err = %v, want one wrapping ErrInvalidComponent", err)
	}
	msg := err.Error()
	for _, field := range []string{"kind:", "apiVersion:", "schema:"} {
		if !strings.Contains(msg, field) {
			t.Errorf("error %q does not name %q", msg, field)
		}
	}
	c = cmcValidComponent()
	c.APIVersion = ""
	if msg := meshmodel.ValidateComponent(c).Error(); strings.Contains(msg, "kind:") || strings.Contains(msg, "schema:") {
		t.Errorf("only apiVersion is wrong, got %q", msg)
	}
}
