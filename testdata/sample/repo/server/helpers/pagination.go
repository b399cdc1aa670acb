package helpers

import (
	"errors"
	"net/url"
)

const (
	// DefaultPageSize is the page size when the request names none.
	DefaultPageSize = 25
	// MaxPageSize caps the page size a request may ask for.
	MaxPageSize = 100
)

// ErrBadPagination is wrapped by the errors of ParsePagination.
var ErrBadPagination = errors.New("bad pagination")

// Page is a page request read from a query string.
type Page struct {
	// Number is the 1-based page number.
	Number int
	// Size is the number of items per page.
	Size int
}

// ParsePagination reads the "page" and "pagesize" query parameters.
//
// A missing parameter takes its default (page 1, DefaultPageSize items); a
// page size above MaxPageSize is capped to MaxPageSize. A value that is not
// an integer, or is below 1, gives an error that wraps ErrBadPagination.
func ParsePagination(q url.Values) (Page, error) {
	return Page{}, ErrNotImplemented
}

// Bounds returns the half-open range [start, end) of the items of page p in
// a list of total items. Both ends are clamped to total, so a page past the
// end gives an empty range (total, total).
func (p Page) Bounds(total int) (start, end int) {
	return 0, 0
}
