// Package handlers holds the HTTP handlers of the Meshery server.
package handlers

import (
	"net/http"

	"github.com/meshery/meshery/server/meshmodel"
)

// Handler serves the server's HTTP API.
type Handler struct {
	// Version is the server's release, e.g. "v0.8.0".
	Version string
	// Commit is the commit the server was built from.
	Commit string
	// Models is the model registry served under /api/meshmodels.
	Models *meshmodel.Registry
}

// Routes returns the server's request router.
func (h *Handler) Routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/system/version", h.ServerVersionHandler)
	mux.HandleFunc("/api/system/health", h.HealthHandler)
	mux.Handle("/api/meshmodels/models", WithETag(http.HandlerFunc(h.ModelsHandler)))
	return mux
}
