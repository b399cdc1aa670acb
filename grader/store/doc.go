// Package store is a cohort's results store: one embedded SQLite file
// (modernc.org/sqlite, pure Go) that holds the roster, the deadline
// freeze, every report with its signature, each task's state, where each
// candidate's grading stands, the leases of the processes grading, the
// audit log of proctors' decisions, the proctors' token hashes, webhook
// deliveries and the push queue (a push that can never be graded ends
// failed, with its last error: FailPush), and the results GitHub refused,
// waiting to be published (AddPendingPublish).
//
// A cohort runner leases candidates and saves their reports:
//
//	s, err := store.Open(ctx, "cohort.db")
//	...
//	for {
//		l, err := s.Next(ctx, holder, time.Minute)
//		if errors.Is(err, store.ErrNoCandidate) {
//			break // or wait, while Counts says others are still grading
//		}
//		...
//		gctx, stop := l.Keep(ctx) // renews the lease; cancelled if it is lost
//		rep, raw, sig, err := grade(gctx, l.Candidate, l.Commit)
//		stop()
//		if err != nil {
//			s.Retry(ctx, l, err) // or Fail, when a retry cannot help
//			continue
//		}
//		err = s.SaveReport(ctx, l, rep, raw, sig)
//	}
//
// A dashboard lists (Candidates, TaskStates, ReviewQueue), shows (Report)
// and records decisions (ReplaceReport, with its audit entry).
//
// # What survives a crash, and why
//
// Every change is one SQLite transaction, and every change that must go
// together is in the same one: a report, its task states, its candidate
// marked done and its lease ended (SaveReport); a reviewed report and its
// audit entry (ReplaceReport); a schema migration. The store runs in
// write-ahead-log mode with synchronous=FULL: a commit appends the
// transaction to the log and syncs the log to disk before it returns, and
// a transaction the log does not hold whole, with its commit record, is
// ignored when the store is next opened. So when a process dies, by kill
// -9 or a crash of the machine, every call that returned is on disk and
// every call that had not returned left no trace: no report without its
// candidate done, no candidate done without its report. Syncing at every
// commit is more than a killed process needs (the kernel still holds what
// it wrote: synchronous=NORMAL would do), but it costs a few milliseconds
// a report, against minutes of grading one, and keeps what finished
// through a power loss too.
//
// A process that dies while grading leaves its candidate Running under its
// lease. Once the lease expires (its time-to-live after the last renewal),
// Next hands the candidate out again and its grading starts over. A lease
// is a random token: once it expired and was taken over, its old holder
// can neither renew it nor save a report under it, so two processes never
// both save a candidate's grading.
//
// Reports are kept as the exact bytes of their files, with the exact
// bytes of their signature files, so signatures still verify when read
// back; a report is never changed or deleted (the schema refuses it): a
// regrade or a review adds the candidate's next run.
package store
