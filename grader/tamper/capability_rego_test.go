package tamper

import (
	"strconv"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/report"
)

func TestRegoCapabilities(t *testing.T) {
	tests := regoTests{
		pkgs:   map[string]bool{"meshery.relationships_test": true, "models.shared": true},
		shared: map[string]bool{"models.shared": true},
	}
	const policy = "package meshery.relationships\n\nimport data.meshery.common\n\ndeny contains msg if {\n\tsome r in input.relationships\n\tmsg := sprintf(\"bad %v\", [r])\n}\n"
	cases := []struct {
		name       string
		cand, base string
		want       []string // "kind line detail-fragment"
	}{
		{name: "plain policy", cand: policy},
		{name: "comments and strings are not code",
			cand: "package meshery.relationships\n# http.send({}) data.meshery\nx := \"opa.runtime() data\"\ny := `data.meshery.relationships_test.test_a\ndata`\n"},
		{name: "declares the hidden tests' package",
			cand: "package meshery.relationships_test\n\ncomponents := []\n",
			want: []string{"test-framework 1 declares package meshery.relationships_test"}},
		{name: "a package shared with the base's policy",
			cand: "package models.shared\n\nallow := true\n"},
		{name: "default value for a test rule",
			cand: "package models.shared\n\ndefault test_allow := true\n",
			want: []string{"test-framework 3 gives test rule test_allow a default value"}},
		{name: "network and runtime",
			cand: "package p\n\na := http.send({\"method\": \"get\", \"url\": \"http://x\"})\nb := opa.runtime().env\nc := net.lookup_ip_addr(\"x\")\n",
			want: []string{"exec 3 http.send", "test-framework 4 opa.runtime", "exec 5 net.lookup_ip_addr"}},
		{name: "non-determinism and introspection",
			cand: "package p\n\nallow if rand.intn(\"x\", 2) == 0\nt := time.now_ns()\nm := rego.metadata.chain()\n",
			want: []string{"unsafe-code 3 rand.intn", "unsafe-code 4 time.now_ns", "test-framework 5 rego.metadata.chain"}},
		{name: "data as a whole, computed, walked",
			cand: "package p\n\na := data\nb := data[x]\nc if walk(data, [_, v])\n",
			want: []string{"test-framework 3 reads data as a whole", "test-framework 4 computed path", "test-framework 5 reads data as a whole"}},
		{name: "the hidden tests' document, by prefix, import and test rule",
			cand: "package p\n\nimport data.meshery\nx := data.meshery.relationships_test\ny := data.other.test_thing\n",
			want: []string{"test-framework 3 reads data.meshery,", "test-framework 4 reads data.meshery.relationships_test,", "test-framework 5 refers to test rule data.other.test_thing"}},
		{name: "a field named like a builtin is not a call",
			cand: "package p\n\nx := input.http.send\ny := input.data\n"},
		{name: "what the base had is not new",
			cand: "package p\n\nt := time.now_ns()\nu := 1\n", base: "package p\n\nt := time.now_ns()\n"},
		{name: "a second use beyond the base is new",
			cand: "package p\n\nt := time.now_ns()\nv := time.now_ns()\n", base: "package p\n\nt := time.now_ns()\n",
			want: []string{"unsafe-code 4 time.now_ns"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var base []byte
			if tc.base != "" {
				base = []byte(tc.base)
			}
			got, err := regoCapabilities("policies/p.rego", []byte(tc.cand), base, tests)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d capabilities, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				f := strings.SplitN(w, " ", 3)
				c := got[i]
				if string(c.Kind) != f[0] || strconv.Itoa(c.Line) != f[1] || !strings.Contains(c.Detail, f[2]) {
					t.Errorf("capability %d = %s %d %q, want %s", i, c.Kind, c.Line, c.Detail, w)
				}
			}
		})
	}
}

func TestRegoLexErrors(t *testing.T) {
	for _, src := range []string{"package p\nx := \"open\n", "package p\nx := `open"} {
		if _, err := regoCapabilities("p.rego", []byte(src), nil, regoTests{}); err == nil {
			t.Errorf("%q: no error for an unterminated string", src)
		}
	}
	// A kind the analysis reports is one the report knows.
	for name, c := range regoCalls {
		switch c.kind {
		case report.CapExec, report.CapFramework, report.CapUnsafe:
		default:
			t.Errorf("%s: unexpected kind %s", name, c.kind)
		}
	}
}
