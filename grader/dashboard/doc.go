// Package dashboard is the proctor dashboard: an http.Handler that serves a
// cohort's results store (grader/store) as server-rendered pages, with no
// script and no resource from elsewhere. A proctor sees the cohort table
// (sorted and filtered by verdict and flag), a candidate's full report,
// the review queue (held, flaky and not decided tasks) where they accept
// or reject a held task, the audit log and the item analysis.
//
// Every page and action needs a proctor's token (store.AddProctor): sent
// as "Authorization: Bearer TOKEN", or given once to the login form, which
// opens a session kept on the server (the cookie holds a random session
// id, never the token). A request without either gets 401 and no data.
// Every POST is checked against cross-site forgery: a session's forms
// carry its own token, and a request a browser marks as cross-site is
// refused. SECURITY.md describes the access model.
//
//	d, err := dashboard.New(dashboard.Config{Store: st, SignKey: key})
//	...
//	srv := dashboard.Server("127.0.0.1:8080", d)
//	err = srv.ListenAndServe()
//
// A review is recorded as cmcgrader review records it in a report file:
// report.Review on the candidate's latest report, encoded and, when the
// stored report was signed, signed again with Config.SignKey; then saved
// with its audit entry, naming the proctor, in one transaction
// (store.ReplaceReport).
package dashboard
