// Package grader grades a candidate's fork against a task bank: it fetches
// the fork with go-git (the pack spooled to a private temporary file, never
// checked out), builds each task's workspace as a tar stream from git
// objects (with the task's hidden files and the base's protected files laid
// over it), runs the hidden tests through a sandbox.Runner (a Docker
// sandbox in production), parses `go test -json` or JUnit XML from the
// captured output (with package testout), scores each task and summarises
// the exams.
//
// The flow is one-directional: Fetch → Snapshot.WriteTar → Runner.Run →
// testout.ParseGo/ParseJUnit → Score → Summarize → Report.
//
// A candidate's failure (failing tests, code that does not build, a timeout
// or an OOM kill) is data in a TaskResult. A grader failure (Docker down, a
// broken image) is an error: the task is retried once and then reported as
// "not gradable", never scored as a zero. A backend that stopped answering
// (sandbox.ErrBackendDown) stops the whole grading with an error. A
// grading cancelled once its tasks started returns the partial report
// beside an error wrapping ErrInterrupted.
//
//	g := &grader.Grader{Runner: docker, Images: images, Log: log}
//	rep, err := g.Grade(ctx, bank, grader.Submission{Repo: url, Branch: "cmc"})
//	if errors.Is(err, grader.ErrInterrupted) {
//		rep.WriteJSON(partial) // what finished, the rest "not graded"
//	}
//	if err != nil {
//		return err // grading could not be done
//	}
//	rep.WriteText(os.Stdout)
package grader
