package publish

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestFailed completes a push that can never be graded: a neutral check
// run as the App, an error status with a token, each with the fixed text
// and nothing of the reason, which names the grader's paths and a hidden
// test.
func TestFailed(t *testing.T) {
	reason := errors.New("given up after 3 attempts: run /srv/cmc/bank/server/t3/hidden/cmc_pagination_test.go: TestCMCPaginationHidden: exit 2")
	for _, tc := range []struct {
		name  string
		token bool
	}{{"app", false}, {"token", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, envOptions{installAll: true, token: tc.token})
			if err := e.gh.Queued(ctx, testCand, e.repo, testSHA); err != nil {
				t.Fatal(err)
			}
			if err := e.gh.Started(ctx, testCand, e.repo, testSHA); err != nil {
				t.Fatal(err)
			}
			if err := e.gh.Failed(ctx, testCand, e.repo, testSHA, reason); err != nil {
				t.Fatal(err)
			}
			if tc.token {
				var got []string
				for _, s := range e.srv.Statuses() {
					got = append(got, s.GetState()+": "+s.GetDescription())
				}
				if want := "pending: Queued for grading…|pending: Grading…|error: Could not be graded; proctors have been told"; strings.Join(got, "|") != want {
					t.Errorf("statuses %q, want %q", got, want)
				}
			} else {
				runs := e.srv.CheckRuns()
				if len(runs) != 1 {
					t.Fatalf("%d check runs, want 1", len(runs))
				}
				r := runs[0]
				if r.GetStatus() != "completed" || r.GetConclusion() != "neutral" || r.GetOutput().GetTitle() != "Could not be graded" ||
					!strings.Contains(r.GetOutput().GetSummary(), "could not be graded; proctors have been told") {
					t.Errorf("check run %s %s %q %q", r.GetStatus(), r.GetConclusion(), r.GetOutput().GetTitle(), r.GetOutput().GetSummary())
				}
			}
			for _, c := range e.srv.Calls() {
				for _, leak := range []string{"/srv", "hidden", "TestCMC", "cmc_pagination", "exit 2", "attempts"} {
					if strings.Contains(string(c.Body), leak) {
						t.Errorf("%s %s carries %q: %s", c.Method, c.Path, leak, c.Body)
					}
				}
			}
		})
	}
}

// TestFailedBadTarget refuses a repository off this GitHub and a short
// SHA, without a call.
func TestFailedBadTarget(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{installAll: true})
	if err := e.gh.Failed(ctx, testCand, "https://gitlab.com/alice/meshery", testSHA, errors.New("x")); !errors.Is(err, ErrBadRepo) {
		t.Errorf("another host: %v, want ErrBadRepo", err)
	}
	if err := e.gh.Failed(ctx, testCand, e.repo, testSHA[:12], errors.New("x")); err == nil {
		t.Error("a short SHA was published")
	}
	if got := e.calls(); got != "" {
		t.Errorf("calls made:\n%s", got)
	}
}
