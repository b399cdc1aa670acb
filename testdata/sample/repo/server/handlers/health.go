package handlers

import (
	"net/http"

	"github.com/meshery/meshery/server/helpers"
)

// HealthHandler answers /api/system/health.
//
// GET and HEAD get 200 with the JSON body {"status": "ok", "version":
// h.Version}; any other method gets 405 Method Not Allowed with an Allow
// header of "GET, HEAD".
func (h *Handler) HealthHandler(w http.ResponseWriter, r *http.Request) {
	helpers.WriteError(w, http.StatusNotImplemented, helpers.ErrNotImplemented.Error())
}
