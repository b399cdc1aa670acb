// Package publish puts a candidate's grading result on the graded commit
// of their GitHub repository, through go-github: a check run that goes
// queued, in progress, then completed (success for a certification PASS,
// failure, or neutral when a task waits for a proctor), or, where check
// runs are not available (a plain token: only a GitHub App may write
// them), a commit status.
//
// What it writes comes from the report's candidate view
// (report.Report.ForCandidate) alone: exam points and verdicts and task
// titles, never a hidden test's name, path, source or output.
//
// A GitHub retries rate limits (primary and secondary), 429s, 5xx answers
// and network errors with backoff and jitter, a bounded number of times.
// A completed result that still cannot be published is kept in a Pending
// store and published later by Retry (cmcgrader publish --pending):
//
//	gh, err := publish.New(publish.Config{
//		AppID: 12345, AppKey: pem, // or Token: token
//		DashboardURL: "https://grading.example.org",
//		Pending: st, // a *store.Store
//		Log: log,
//	})
//	...
//	err = gh.Queued(ctx, "cmc-0042", "https://github.com/alice/meshery", sha)
//	err = gh.Started(ctx, "cmc-0042", "https://github.com/alice/meshery", sha)
//	err = gh.Completed(ctx, "cmc-0042", "https://github.com/alice/meshery", sha, rep)
package publish
