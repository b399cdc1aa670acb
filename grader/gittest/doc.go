// Package gittest serves git repositories over real git smart HTTP for
// tests, the way net/http/httptest serves handlers, and runs git with a
// fixed identity and date so that tests make the same commits everywhere.
//
// The server runs `git http-backend` (from the git found in PATH) through
// net/http/cgi on a loopback listener. Every repository under the root
// folder, bare (name.git) or not (name/.git), is exported read-only: the
// backend's receive-pack service stays off because no user is
// authenticated. Server-side options such as uploadpack.allowAnySHA1InWant
// are read from each repository's own config; system and global git config
// are ignored.
//
// In a test:
//
//	root := t.TempDir()
//	gittest.Git(t, root, "init", "-q", "--bare", "fork.git")
//	// ... push commits to root/fork.git ...
//	url := gittest.Serve(t, root) + "/fork.git" // stopped when the test ends
//
// Outside a test, NewServer returns a server that runs until Close.
package gittest
