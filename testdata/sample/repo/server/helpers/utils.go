// Package helpers holds small HTTP and text utilities shared by the
// server's handlers.
package helpers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode"
)

// ErrNotImplemented is returned by features that are not written yet.
var ErrNotImplemented = errors.New("not implemented")

// WriteJSON writes v as a JSON response with the given status code.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes {"error": msg} with the given status code.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// Slugify lowercases s and turns every run of characters that are not
// letters or digits into a single dash, trimming dashes at both ends.
func Slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}
