package helpers_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/meshery/meshery/server/helpers"
)

func TestCMCPaginationDefaults(t *testing.T) {
	p, err := helpers.ParsePagination(url.Values{})
	if err != nil {
		t.Fatalf("empty query: %v", err)
	}
	if p != (helpers.Page{Number: 1, Size: helpers.DefaultPageSize}) {
		t.Errorf("empty query = %+v, want page 1 size %d", p, helpers.DefaultPageSize)
	}
	p, err = helpers.ParsePagination(url.Values{"page": {"4"}})
	if err != nil || p != (helpers.Page{Number: 4, Size: helpers.DefaultPageSize}) {
		t.Errorf("page=4 = %+v, %v", p, err)
	}
}

func TestCMCPaginationExplicit(t *testing.T) {
	tests := []struct {
		query string
		want  helpers.Page
	}{
		{"page=3&pagesize=10", helpers.Page{Number: 3, Size: 10}},
		{"pagesize=1", helpers.Page{Number: 1, Size: 1}},
		{"page=2&pagesize=500", helpers.Page{Number: 2, Size: helpers.MaxPageSize}},
		{"page=1&pagesize=100", helpers.Page{Number: 1, Size: 100}},
	}
	for _, tc := range tests {
		q, _ := url.ParseQuery(tc.query)
		got, err := helpers.ParsePagination(q)
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %+v, want %+v", tc.query, got, tc.want)
		}
	}
}

func TestCMCPaginationInvalid(t *testing.T) {
	for _, query := range []string{"page=0", "page=-2", "page=two", "pagesize=0", "pagesize=-1", "pagesize=1.5"} {
		q, _ := url.ParseQuery(query)
		_, err := helpers.ParsePagination(q)
		if !errors.Is(err, helpers.ErrBadPagination) {
			t.Errorf("%s: err = %v, want one wrapping ErrBadPagination", query, err)
		}
	}
}

func TestCMCPaginationBounds(t *testing.T) {
	tests := []struct {
		page       helpers.Page
		total      int
		start, end int
	}{
		{helpers.Page{Number: 1, Size: 10}, 25, 0, 10},
		{helpers.Page{Number: 3, Size: 10}, 25, 20, 25},
		{helpers.Page{Number: 4, Size: 10}, 25, 25, 25},
		{helpers.Page{Number: 1, Size: 25}, 0, 0, 0},
	}
	for _, tc := range tests {
		start, end := tc.page.Bounds(tc.total)
		if start != tc.start || end != tc.end {
			t.Errorf("%+v.Bounds(%d) = %d, %d, want %d, %d", tc.page, tc.total, start, end, tc.start, tc.end)
		}
	}
}
