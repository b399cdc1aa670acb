// Package githubtest is a stand-in for the GitHub REST API, on loopback,
// for tests of publishing: it answers the calls package publish makes
// (installations, installation tokens, check runs, commit statuses) the
// way GitHub does, records every call, checks each call's Authorization
// header (an App's JWT, verified with the App's public key, on the App's
// own endpoints; an installation token covering the repository, or the
// plain token, elsewhere), and decodes each body into go-github's own
// types, failing a call whose body has an unknown field or a bad shape
// with 422, as GitHub would.
//
// It serves the API under /api/v3/, as a GitHub Enterprise server does,
// and can pass every other path to a handler of its own (a git server),
// so that https://HOST/OWNER/NAME is both the repository's URL and what
// publish parses it as:
//
//	s, err := githubtest.Start(githubtest.Options{InstallAll: true})
//	...
//	defer s.Close()
//	gh, err := publish.New(publish.Config{BaseURL: s.APIURL(), AppID: s.AppID, AppKey: s.KeyPEM})
//	s.Fail(2, githubtest.SecondaryLimit) // the next two calls answer 403
//	...
//	for _, c := range s.Calls() { ... }
package githubtest
