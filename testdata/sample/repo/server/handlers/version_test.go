package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestServerVersionHandler(t *testing.T) {
	h := &Handler{Version: "v0.8.0", Commit: "abc1234"}
	rec := httptest.NewRecorder()
	h.Routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/system/version", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	var got VersionInfo
	if err := json.NewDecoder(rec.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got != (VersionInfo{Version: "v0.8.0", Commit: "abc1234"}) {
		t.Errorf("got %+v", got)
	}
}

func TestServerVersionHandlerRejectsPost(t *testing.T) {
	h := &Handler{}
	rec := httptest.NewRecorder()
	h.ServerVersionHandler(rec, httptest.NewRequest(http.MethodPost, "/api/system/version", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("status = %d, want 405", rec.Code)
	}
}
