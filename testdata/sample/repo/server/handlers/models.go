package handlers

import (
	"net/http"

	"github.com/meshery/meshery/server/helpers"
	"github.com/meshery/meshery/server/meshmodel"
)

// ModelsPage is the body of GET /api/meshmodels/models.
type ModelsPage struct {
	Page     int               `json:"page"`
	PageSize int               `json:"page_size"`
	Total    int               `json:"total_count"`
	Models   []meshmodel.Model `json:"models"`
}

// ModelsHandler answers GET /api/meshmodels/models?page=N&pagesize=M.
func (h *Handler) ModelsHandler(w http.ResponseWriter, r *http.Request) {
	p, err := helpers.ParsePagination(r.URL.Query())
	if err != nil {
		helpers.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	var all []meshmodel.Model
	if h.Models != nil {
		all = h.Models.Models()
	}
	start, end := p.Bounds(len(all))
	helpers.WriteJSON(w, http.StatusOK, ModelsPage{
		Page:     p.Number,
		PageSize: p.Size,
		Total:    len(all),
		Models:   all[start:end],
	})
}
