package docker

import (
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/internal/capture"
)

// TestReporterCutMarker checks that where the image's JUnit reporter cuts a
// test's output, its line starts with the grader's one cut marker, so that
// readers of test output skip it as they skip the sandbox's own.
func TestReporterCutMarker(t *testing.T) {
	src := string(junitReporter)
	cuts := strings.Count(src, "characters cut]")
	if cuts == 0 {
		t.Fatal("the reporter writes no cut marker: has the wording changed?")
	}
	if marked := strings.Count(src, "`"+capture.Mark+"${") + strings.Count(src, `\n`+capture.Mark+"${"); marked != cuts {
		t.Errorf("%d of the reporter's %d cut markers start with %q", marked, cuts, capture.Mark)
	}
}
