package grader

import "testing"

func TestRunPattern(t *testing.T) {
	got := RunPattern([]string{"TestA", "TestB/sub", "TestB/other", "Test.C"})
	if want := `^(TestA|TestB|Test\.C)$`; got != want {
		t.Errorf("RunPattern = %q, want %q", got, want)
	}
}
