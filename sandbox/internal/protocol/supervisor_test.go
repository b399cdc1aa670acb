package protocol

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

func TestRecordCutter(t *testing.T) {
	const nonce = "n0nce"
	rec := "\n" + recordPrefix + nonce + `] {"code":1,"exits":[{"dir":"a","code":1}]}` + "\n"
	for _, tc := range []struct {
		name, stream, rest string
		exits              []sandbox.Exit
	}{
		{"record at the end", "out\n" + rec, "out\n", []sandbox.Exit{{Dir: "a", Code: 1}}},
		{"output after the record", "out" + rec + "late\n", "outlate\n", []sandbox.Exit{{Dir: "a", Code: 1}}},
		{"another nonce is output", "x\n" + recordPrefix + "guess] {}\n", "x\n" + recordPrefix + "guess] {}\n", nil},
		{"no record", "just output", "just output", nil},
		{"a record cut short", "out" + rec[:len(rec)-10], "out", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Every split of the stream into two writes gives the same.
			for i := 0; i <= len(tc.stream); i++ {
				var out bytes.Buffer
				c := NewRecordCutter(&out, nonce)
				c.Write([]byte(tc.stream[:i]))
				c.Write([]byte(tc.stream[i:]))
				c.Flush()
				if out.String() != tc.rest || !slices.Equal(c.Exits(), tc.exits) {
					t.Fatalf("split at %d: passed %q, exits %+v; want %q, %+v", i, out.String(), c.Exits(), tc.rest, tc.exits)
				}
			}
		})
	}
}

func TestEnv(t *testing.T) {
	tests := []struct {
		name    string
		extra   []string
		want    []string // entries that must be present
		wantErr bool
	}{
		{name: "defaults", want: fixedEnv},
		{name: "override GOFLAGS", extra: []string{"GOFLAGS=-mod=vendor"}, want: []string{"GOFLAGS=-mod=vendor", "GOPROXY=off"}},
		{name: "add", extra: []string{"CGO_ENABLED=0", "EMPTY="}, want: []string{"CGO_ENABLED=0", "EMPTY=", "HOME=/tmp/home"}},
		{name: "later wins", extra: []string{"X=1", "X=2"}, want: []string{"X=2"}},
		{name: "GOPROXY locked", extra: []string{"GOPROXY=direct"}, wantErr: true},
		{name: "GOTOOLCHAIN locked", extra: []string{"GOTOOLCHAIN=auto"}, wantErr: true},
		{name: "no equals", extra: []string{"PATH"}, wantErr: true},
		{name: "empty key", extra: []string{"=v"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Env(tt.extra)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Env(%q) error = %v, wantErr %v", tt.extra, err, tt.wantErr)
			}
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("Env(%q) = %q, lacks %q", tt.extra, got, w)
				}
			}
			keys := map[string]bool{}
			for _, kv := range got {
				k, _, _ := strings.Cut(kv, "=")
				if keys[k] {
					t.Errorf("duplicate key %s in %q", k, got)
				}
				keys[k] = true
			}
		})
	}
}

func TestWrapperExitCode(t *testing.T) {
	if !strings.Contains(wrapper, "exit 125") || sandbox.SetupExitCode != 125 {
		t.Error("wrapper exit code and SetupExitCode disagree")
	}
}
