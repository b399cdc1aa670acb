package jsonout

import (
	"bytes"
	"testing"
)

func TestWrite(t *testing.T) {
	type inner struct {
		Tags []string `json:"tags"`
	}
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"scalar", 42, "42\n"},
		{"empty object", struct{}{}, "{}\n"},
		{"empty list", []int{}, "[]\n"},
		{"nested", map[string]any{"b": []int{1, 2}, "a": inner{Tags: nil}},
			"{\n  \"a\": {\n    \"tags\": null\n  },\n  \"b\": [\n    1,\n    2\n  ]\n}\n"},
		{"html escaped", map[string]string{"s": "<a&b>"}, "{\n  \"s\": \"\\u003ca\\u0026b\\u003e\"\n}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tc.v); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("Write = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWriteUnsupported(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, func() {}); err == nil {
		t.Error("Write(func) succeeded, want an error")
	}
}
