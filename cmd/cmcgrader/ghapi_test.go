package main

import (
	"fmt"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/cmcgrader/cmcgrader/grader/publish/githubtest"
)

// ghapiServers holds each script's GitHub API stand-in.
var ghapiServers sync.Map // *testscript.TestScript → *githubtest.Server

// cmdGHAPI drives a GitHub API stand-in (package githubtest) for the
// rest of the script:
//
//	ghapi start [GITROOT]   start it, with the App installed everywhere; serve the
//	                        repositories under GITROOT at $GHWEB/OWNER/NAME.git.
//	                        Sets $GHWEB, $GHAPI (the API base), $GHAPPID, $GHTOKEN
//	                        and writes the App's key to $WORK/ghapp.pem and the
//	                        plain token to $WORK/ghtoken (both mode 600)
//	ghapi uninstall OWNER/NAME
//	ghapi fail N 403|429|502|ratelimit   answer the next N calls so
//	ghapi calls             print every call: METHOD PATH STATUS, then its body
//	ghapi checkruns         print each check run: REPO SHA STATUS CONCLUSION TITLE
//	ghapi statuses          print each commit status: REPO SHA STATE DESCRIPTION
//	ghapi waitcheck SHA STATUS   wait until a check run on SHA has STATUS
func cmdGHAPI(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: ghapi start|uninstall|fail|calls|checkruns|statuses|waitcheck ...")
	}
	if args[0] == "start" {
		ghapiStart(ts, args[1:])
		return
	}
	v, ok := ghapiServers.Load(ts)
	if !ok {
		ts.Fatalf("ghapi: run ghapi start first")
	}
	s := v.(*githubtest.Server)
	switch args[0] {
	case "uninstall":
		if len(args) != 2 {
			ts.Fatalf("usage: ghapi uninstall OWNER/NAME")
		}
		s.Uninstall(args[1])
	case "fail":
		if len(args) != 3 {
			ts.Fatalf("usage: ghapi fail N 403|429|502|ratelimit")
		}
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		f, err := githubtest.ParseFailure(args[2])
		ts.Check(err)
		s.Fail(n, f)
	case "calls":
		for _, c := range s.Calls() {
			fmt.Fprintf(ts.Stdout(), "%s %s %d\n%s\n", c.Method, c.Path, c.Status, c.Body)
		}
	case "checkruns":
		for _, r := range s.CheckRuns() {
			fmt.Fprintf(ts.Stdout(), "%s %s %s %s %s\n", r.Repo, r.GetHeadSHA(), r.GetStatus(), r.GetConclusion(), r.GetOutput().GetTitle())
		}
	case "waitcheck":
		if len(args) != 3 {
			ts.Fatalf("usage: ghapi waitcheck SHA STATUS")
		}
		waitCheck(ts, s, args[1], args[2])
	case "statuses":
		for _, st := range s.Statuses() {
			fmt.Fprintf(ts.Stdout(), "%s %s %s %s\n", st.Repo, st.SHA, st.GetState(), st.GetDescription())
		}
	default:
		ts.Fatalf("ghapi: unknown command %q", args[0])
	}
}

// waitCheck waits until a check run on sha has status.
func waitCheck(ts *testscript.TestScript, s *githubtest.Server, sha, status string) {
	deadline := time.NewTimer(scriptWait)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var seen []string
		for _, r := range s.CheckRuns() {
			if r.GetHeadSHA() == sha {
				if r.GetStatus() == status {
					return
				}
				seen = append(seen, r.GetStatus())
			}
		}
		select {
		case <-deadline.C:
			ts.Fatalf("no check run on %s is %s after %s (seen: %q)", sha, status, scriptWait, seen)
		case <-tick.C:
		}
	}
}

func ghapiStart(ts *testscript.TestScript, args []string) {
	if len(args) > 1 {
		ts.Fatalf("usage: ghapi start [GITROOT]")
	}
	var o githubtest.Options
	o.InstallAll = true
	if len(args) == 1 {
		git, err := gittest.NewServer(ts.MkAbs(args[0]))
		ts.Check(err)
		ts.Defer(func() { git.Close() })
		u, err := url.Parse(git.URL())
		ts.Check(err)
		o.Fallback = httputil.NewSingleHostReverseProxy(u)
	}
	s, err := githubtest.Start(o)
	ts.Check(err)
	ghapiServers.Store(ts, s)
	ts.Defer(func() {
		ghapiServers.Delete(ts)
		s.Close()
	})
	ts.Check(os.WriteFile(ts.MkAbs("ghapp.pem"), s.KeyPEM, 0o600))
	ts.Check(os.WriteFile(ts.MkAbs("ghtoken"), []byte(s.Token+"\n"), 0o600))
	ts.Setenv("GHWEB", s.URL())
	ts.Setenv("GHAPI", s.APIURL())
	ts.Setenv("GHAPPID", strconv.FormatInt(s.AppID, 10))
	ts.Setenv("GHTOKEN", s.Token)
	ts.Logf("GitHub API stand-in at %s", strings.TrimSuffix(s.APIURL(), "/"))
}
