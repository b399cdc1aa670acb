package jsonout

import (
	"bytes"
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

// Layout returns the JSON document src laid out as Write lays out the
// value it holds: the same bytes, whatever src's spacing.
func Layout(src []byte) ([]byte, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, src); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), "", indent); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
