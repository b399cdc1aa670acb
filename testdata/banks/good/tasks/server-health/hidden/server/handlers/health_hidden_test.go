package handlers

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealthOK(t *testing.T) {
	rec := httptest.NewRecorder()
	Health(rec, httptest.NewRequest(http.MethodGet, "/api/health", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
}

func TestHealthMethod(t *testing.T) {
	t.Run("post", func(t *testing.T) {
		rec := httptest.NewRecorder()
		Health(rec, httptest.NewRequest(http.MethodPost, "/api/health", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Fatalf("status %d, want 405", rec.Code)
		}
	})
}
