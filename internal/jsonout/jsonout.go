package jsonout

import (
	"encoding/json"
	"io"
)

// indent is the indentation of one level.
const indent = "  "

// Write writes v to w as one indented JSON document ending in a newline.
func Write(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", indent)
	return enc.Encode(v)
}
