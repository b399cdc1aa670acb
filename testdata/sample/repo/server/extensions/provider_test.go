package extensions

import "testing"

func TestLocalProvider(t *testing.T) {
	var p Provider = LocalProvider{}
	if p.Name() != "None" {
		t.Errorf("name = %q", p.Name())
	}
	if !Has(p, CapabilityPersistence) {
		t.Error("local provider lacks persistence")
	}
	if Has(p, CapabilityUsers) {
		t.Error("local provider claims users")
	}
}
