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
			// Whatever its spacing, the same document lays out the same.
			for _, src := range [][]byte{buf.Bytes(), bytes.Join(bytes.Fields(buf.Bytes()), nil), append([]byte("\t"), buf.Bytes()...)} {
				got, err := Layout(src)
				if err != nil {
					t.Fatalf("Layout(%q): %v", src, err)
				}
				if string(got) != tc.want {
					t.Errorf("Layout(%q) = %q, want %q", src, got, tc.want)
				}
			}
		})
	}
}

func TestLayoutNotJSON(t *testing.T) {
	for _, src := range []string{"", "{", `{"a":}`, "1 2"} {
		if got, err := Layout([]byte(src)); err == nil {
			t.Errorf("Layout(%q) = %q, want an error", src, got)
		}
	}
}

func TestWriteUnsupported(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, func() {}); err == nil {
		t.Error("Write(func) succeeded, want an error")
	}
}
