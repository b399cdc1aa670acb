package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/meshery/meshery/server/handlers"
)

func TestCMCHealthOK(t *testing.T) {
	h := &handlers.Handler{Version: "v9.8.7"}
	rec := httptest.NewRecorder()
	h.Routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/system/health", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET status = %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type = %q, want application/json", ct)
	}
	var body map[string]string
	if err := json.NewDecoder(rec.Body).Decode(&body); err != nil {
		t.Fatalf("decode body: %v", err)
	}
	if body["status"] != "ok" || body["version"] != "v9.8.7" {
		t.Errorf("body = %v, want status ok and version v9.8.7", body)
	}

	rec = httptest.NewRecorder()
	h.HealthHandler(rec, httptest.NewRequest(http.MethodHead, "/api/system/health", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("HEAD status = %d, want 200", rec.Code)
	}
}

func TestCMCHealthMethodNotAllowed(t *testing.T) {
	h := &handlers.Handler{Version: "v9.8.7"}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := httptest.NewRecorder()
		h.HealthHandler(rec, httptest.NewRequest(method, "/api/system/health", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s status = %d, want 405", method, rec.Code)
		}
		allow := rec.Header().Get("Allow")
		if !strings.Contains(allow, "GET") || !strings.Contains(allow, "HEAD") {
			t.Errorf("%s Allow = %q, want GET and HEAD", method, allow)
		}
	}
}
