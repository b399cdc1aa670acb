// Package grader orchestrates the grading of one submission against a
// task bank, along a flow that runs one way:
//
//	repo.Fetch → tamper.Scan → Snapshot.WriteTar → sandbox.Runner.Run
//	  → testout.ParseGo | testout.ParseJUnit → report.Score → report.Summarize
//
// It resolves and fetches the base (one path for Grade, Verify and
// Prepare), asks a sandbox.Images for the image, runs each task's hidden
// tests with a private canary, checks that the results are the hidden
// tests' own (every exit status agrees with the output, the canary passed
// once), rechecks failures when asked, applies holds and fills the
// receipt. The repository side is package repo, the report side package
// report, the parsing package testout, the analysis package tamper; a
// sandbox backend is wired in by the command and never imported here.
//
// A candidate's failure (failing tests, code that does not build, a
// timeout or an OOM kill) is data in a report.TaskGrade. A grader failure
// (a broken image, an unreadable base) is an error: a task's run is
// retried once and then reported as "not gradable", never scored as a
// zero. A backend that stopped answering (sandbox.ErrBackendDown) stops
// the whole grading with an error. A grading cancelled once its tasks
// started returns the partial report beside an error wrapping
// ErrInterrupted.
//
//	g := &grader.Grader{Runner: runner, Images: images, Log: log}
//	rep, err := g.Grade(ctx, bank, grader.Submission{Repo: url, Branch: "cmc"})
//	if errors.Is(err, grader.ErrInterrupted) {
//		rep.WriteJSON(partial) // what finished, the rest "not graded"
//	}
//	if err != nil {
//		return err // grading could not be done
//	}
//	rep.WriteText(os.Stdout)
package grader
