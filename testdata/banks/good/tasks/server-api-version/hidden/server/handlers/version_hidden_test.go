package handlers

import "testing"

func TestAPIVersion(t *testing.T) {
	if APIVersion() != "v1" {
		t.Fatalf("APIVersion() = %q, want v1", APIVersion())
	}
}
