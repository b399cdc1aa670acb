package helpers

import (
	"net/http/httptest"
	"testing"
)

func TestSlugify(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Istio Base", "istio-base"},
		{"  Service Mesh!! Performance  ", "service-mesh-performance"},
		{"already-a-slug", "already-a-slug"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Slugify(tc.in); got != tc.want {
			t.Errorf("Slugify(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, 418, "teapot")
	if rec.Code != 418 {
		t.Errorf("status = %d, want 418", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type = %q", ct)
	}
	if got, want := rec.Body.String(), "{\"error\":\"teapot\"}\n"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}
