package tasks

import (
	"strings"
	"testing"
)

func TestRegoTestNames(t *testing.T) {
	for _, tc := range []struct {
		name, wantMsg string
	}{
		{"data.models.policy_test.test_allow", ""},
		{"data.p.test_x", ""},
		{"models.policy_test.test_allow", "full path"},
		{"data.test_allow", "full path"},
		{"data.p.allow", "test_"},
		{"data.p-q.test_a", "identifiers"},
		{"data.p..test_a", "identifiers"},
		{"data.p.test_a#01", "identifiers"},
	} {
		msg := checkRegoTestName(tc.name)
		if (msg == "") != (tc.wantMsg == "") || !strings.Contains(msg, tc.wantMsg) {
			t.Errorf("checkRegoTestName(%q) = %q, want one containing %q", tc.name, msg, tc.wantMsg)
		}
	}
	files := []HiddenFile{{Path: "policies/tests/a_test.rego", Data: []byte(
		"# comment\npackage models.policy_test\n\nimport data.models.policy\n\ntest_allow if policy.allow\n  test_indented if true\ntest_allowed_too := true\n")}}
	for name, want := range map[string]bool{
		"data.models.policy_test.test_allow":    true,
		"data.models.policy_test.test_indented": true,
		"data.models.policy_test.test_allowed":  false, // only a prefix of a rule
		"data.models.policy.test_allow":         false, // another package
		"data.models.policy_test.test_missing":  false,
	} {
		if got := regoRuleIn(name, files); got != want {
			t.Errorf("regoRuleIn(%q) = %v, want %v", name, got, want)
		}
	}
}
