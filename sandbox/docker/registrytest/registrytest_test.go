package registrytest

import (
	"net/http"
	"testing"
)

// TestServe starts the registry and reads its empty catalog.
func TestServe(t *testing.T) {
	r := Serve(t)
	resp, err := http.Get(r.URL() + "/v2/_catalog")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/_catalog: %s; log: %s", resp.Status, r.Log())
	}
}
