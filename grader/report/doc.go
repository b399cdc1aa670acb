// Package report is the report side of grading: the model of one graded
// submission and its vocabulary, as named types (Status of a task's run,
// Verdict of an exam and of the certification, TamperKind of a finding,
// Decision of a proctor's review); scoring a task's outcome (Score) and
// summarising the exams (Summarize); holds and reviews; rendering as text
// and JSON; the candidate's view, which never shows a hidden test; the
// receipt of every input, which makes a report reproducible (Compare); and
// signatures.
//
// It imports neither git nor any sandbox backend: anything that reads a
// report (a store, a dashboard, a verifier) needs only this package.
//
//	tr := report.Score(task, report.Outcome{Run: res, Results: parsed})
//	rep.Summary = report.Summarize(bank, rep.Tasks)
//	rep.WriteText(os.Stdout)
package report
