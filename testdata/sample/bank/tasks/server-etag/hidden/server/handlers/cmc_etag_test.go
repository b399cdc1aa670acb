package handlers_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/meshery/meshery/server/handlers"
)

const cmcETagBody = `{"models":["istio","kubernetes"]}`

func cmcETagWant() string {
	sum := sha256.Sum256([]byte(cmcETagBody))
	return `"` + hex.EncodeToString(sum[:])[:16] + `"`
}

func cmcETagHandler(status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(cmcETagBody))
	})
}

func TestCMCETagSet(t *testing.T) {
	rec := httptest.NewRecorder()
	handlers.WithETag(cmcETagHandler(http.StatusOK)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	if got, want := rec.Header().Get("ETag"), cmcETagWant(); got != want {
		t.Errorf("ETag = %q, want %q", got, want)
	}
	if got := rec.Body.String(); got != cmcETagBody {
		t.Errorf("body = %q, want %q", got, cmcETagBody)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type = %q, want application/json", ct)
	}
}

func TestCMCETagNotModified(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("If-None-Match", cmcETagWant())
	rec := httptest.NewRecorder()
	handlers.WithETag(cmcETagHandler(http.StatusOK)).ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("status = %d, want 304", rec.Code)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("body = %q, want empty", rec.Body.String())
	}
	if got := rec.Header().Get("ETag"); got != cmcETagWant() {
		t.Errorf("ETag = %q, want %q", got, cmcETagWant())
	}

	req = httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("If-None-Match", `"0000000000000000"`)
	rec = httptest.NewRecorder()
	handlers.WithETag(cmcETagHandler(http.StatusOK)).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != cmcETagBody {
		t.Errorf("stale tag: status %d body %q, want 200 and the full body", rec.Code, rec.Body.String())
	}
}

func TestCMCETagOnlySuccessfulGet(t *testing.T) {
	rec := httptest.NewRecorder()
	handlers.WithETag(cmcETagHandler(http.StatusOK)).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/x", nil))
	if rec.Header().Get("ETag") != "" {
		t.Errorf("POST got ETag %q, want none", rec.Header().Get("ETag"))
	}

	rec = httptest.NewRecorder()
	handlers.WithETag(cmcETagHandler(http.StatusInternalServerError)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500 passed through", rec.Code)
	}
	if rec.Header().Get("ETag") != "" {
		t.Errorf("500 got ETag %q, want none", rec.Header().Get("ETag"))
	}

	rec = httptest.NewRecorder()
	h := &handlers.Handler{}
	h.Routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/meshmodels/models?page=1&pagesize=5", nil))
	if rec.Code == http.StatusOK && rec.Header().Get("ETag") == "" {
		t.Error("models route answered 200 without an ETag")
	}
	rec = httptest.NewRecorder()
	handlers.WithETag(cmcETagHandler(http.StatusOK)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	if rec.Header().Get("ETag") == "" {
		t.Error("GET 200 got no ETag")
	}
}
