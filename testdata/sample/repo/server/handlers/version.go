package handlers

import (
	"net/http"

	"github.com/meshery/meshery/server/helpers"
)

// VersionInfo is the body of GET /api/system/version.
type VersionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// ServerVersionHandler answers GET /api/system/version.
func (h *Handler) ServerVersionHandler(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		helpers.WriteError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	helpers.WriteJSON(w, http.StatusOK, VersionInfo{Version: h.Version, Commit: h.Commit})
}
