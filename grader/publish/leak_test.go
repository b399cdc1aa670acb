package publish

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cmcgrader/cmcgrader/grader/publish/githubtest"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/store"
)

// TestNoHiddenContent publishes reports whose tasks failed with output,
// reasons and hold flags quoting hidden test names, paths and sources,
// through check runs and statuses, with retries and a pending publish:
// none of it reaches any call GitHub receives, nor the pending store.
func TestNoHiddenContent(t *testing.T) {
	ctx := context.Background()
	// The test is only worth something if the proctor's report does hold
	// every hidden string.
	probe := testReport(t, "https://github.com/a/b", []string{"server-h", "cli-t"}, []string{"ui-t"})
	var full strings.Builder
	if err := probe.WriteJSON(&full); err != nil {
		t.Fatal(err)
	}
	for _, h := range hidden {
		if h != "package handlers" && h != "zz hidden source" && !strings.Contains(full.String(), h) {
			t.Fatalf("the test report lacks %q: the test would prove nothing", h)
		}
	}
	for _, token := range []bool{false, true} {
		st, err := store.Open(ctx, filepath.Join(t.TempDir(), "cohort.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		e := newEnv(t, envOptions{installAll: true, token: token, pending: st, attempts: 2})
		for _, c := range []struct{ fail, held []string }{
			{[]string{"server-h", "cli-t"}, []string{"ui-t"}},
			{[]string{"cli-t"}, nil},
			{nil, []string{"cli-t"}},
		} {
			rep := testReport(t, e.repo, c.fail, c.held)
			e.gh.Queued(ctx, testCand, e.repo, testSHA)
			e.srv.Fail(1, githubtest.BadGateway)
			e.gh.Started(ctx, testCand, e.repo, testSHA)
			if err := e.gh.Completed(ctx, testCand, e.repo, testSHA, rep); err != nil {
				t.Fatal(err)
			}
		}
		e.srv.Fail(10, githubtest.BadGateway)
		if err := e.gh.Completed(ctx, testCand, e.repo, testSHA, testReport(t, e.repo, []string{"cli-t"}, []string{"server-h"})); err == nil {
			t.Fatal("no error while GitHub is down")
		}
		if _, _, err := e.gh.Retry(ctx, st); err != nil {
			t.Fatal(err)
		}
		var seen strings.Builder
		for _, c := range e.srv.Calls() {
			seen.WriteString(c.Method + " " + c.Path + "?" + c.Query + "\n" + string(c.Body) + "\n")
		}
		if !token && !strings.Contains(seen.String(), "Report the version") {
			t.Fatalf("token %v: the calls lack the task titles:\n%s", token, seen.String())
		}
		ps, err := st.PendingPublishes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			seen.Write(p.View)
		}
		seen.WriteString(e.logs.String())
		for _, h := range hidden {
			if strings.Contains(seen.String(), h) {
				t.Errorf("token %v: %q reached GitHub, the store or the log", token, h)
			}
		}
	}
}

// TestSecretsNeverLeak: neither the App's key, its JWTs, installation
// tokens nor a plain token appear in a log line or an error, through
// successes, retries and failures.
func TestSecretsNeverLeak(t *testing.T) {
	ctx := context.Background()
	for _, token := range []bool{false, true} {
		e := newEnv(t, envOptions{installAll: true, token: token, attempts: 2})
		var errs []string
		note := func(err error) {
			if err != nil {
				errs = append(errs, err.Error())
			}
		}
		rep := testReport(t, e.repo, nil, nil)
		note(e.gh.Queued(ctx, testCand, e.repo, testSHA))
		e.srv.Fail(1, githubtest.SecondaryLimit)
		note(e.gh.Started(ctx, testCand, e.repo, testSHA))
		e.srv.Fail(2, githubtest.BadGateway)
		note(e.gh.Completed(ctx, testCand, e.repo, testSHA, rep))
		e.srv.Uninstall("alice/meshery")
		note(e.gh.Completed(ctx, testCand, e.srv.URL()+"/alice/other", testSHA, rep))
		if len(errs) == 0 {
			t.Fatal("no failure: the test would prove nothing")
		}
		secrets := []string{e.srv.Token, string(e.srv.KeyPEM)}
		for _, line := range strings.Split(string(e.srv.KeyPEM), "\n") {
			if len(line) > 20 {
				secrets = append(secrets, line)
			}
		}
		for _, c := range e.srv.Calls() {
			if _, cred, ok := strings.Cut(c.Auth, " "); ok {
				secrets = append(secrets, cred)
			}
		}
		out := e.logs.String() + strings.Join(errs, "\n")
		if !strings.Contains(out, "retrying") {
			t.Errorf("token %v: no retry logged: the test would prove less", token)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(out, s) {
				t.Errorf("token %v: a secret (%d bytes) appears in a log or an error", token, len(s))
			}
		}
	}
}

// TestSummaryLimit: a summary longer than GitHub takes is cut on a rune
// boundary with a marker, and GitHub accepts it.
func TestSummaryLimit(t *testing.T) {
	ctx := context.Background()
	c := &report.CandidateReport{Verdict: report.Fail, Overall: 10}
	ex := report.CandidateExam{Name: "server", Verdict: report.Fail, Possible: 5000}
	for range 5000 {
		ex.Tasks = append(ex.Tasks, report.CandidateTask{Title: strings.Repeat("é€😀", 7), Possible: 1, Result: report.ResultFail})
	}
	c.Exams = []report.CandidateExam{ex}
	r := resultOf(c)
	if n := utf8.RuneCountInString(r.summary); n != MaxSummary || !utf8.ValidString(r.summary) || !strings.HasSuffix(r.summary, truncatedMarker) {
		t.Errorf("summary of %d characters, valid %v, marked %v", n, utf8.ValidString(r.summary), strings.HasSuffix(r.summary, truncatedMarker))
	}
	e := newEnv(t, envOptions{installAll: true})
	if err := e.gh.Publish(ctx, testCand, e.repo, testSHA, c); err != nil {
		t.Fatal(err)
	}
	// And the stand-in refuses one character more, as GitHub does.
	long := strings.Repeat("x", MaxSummary+1)
	if s := clip(long, MaxSummary, truncatedMarker); utf8.RuneCountInString(s) != MaxSummary {
		t.Errorf("clip: %d characters", utf8.RuneCountInString(s))
	}
	if got := clip("short", MaxSummary, truncatedMarker); got != "short" {
		t.Errorf("clip of a short text: %q", got)
	}
}

// TestStandInRefusesBadShapes: the stand-in fails a body with an unknown
// field, a long summary, a bad status or a JWT on a repository endpoint.
func TestStandInRefusesBadShapes(t *testing.T) {
	e := newEnv(t, envOptions{installAll: true})
	ctx := context.Background()
	if err := e.gh.Queued(ctx, testCand, e.repo, testSHA); err != nil {
		t.Fatal(err)
	}
	tok := ""
	for _, c := range e.srv.Calls() {
		if strings.HasSuffix(c.Path, "/check-runs") {
			tok = c.Auth
		}
	}
	jwtTok, err := e.gh.app.jwt(e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, path, auth, body string
		want                           int
	}{
		{"unknown field", "POST", "/repos/alice/meshery/check-runs", tok, `{"name":"x","head_sha":"` + testSHA + `","colour":"red"}`, 422},
		{"long summary", "POST", "/repos/alice/meshery/check-runs", tok, `{"name":"x","head_sha":"` + testSHA + `","output":{"title":"t","summary":"` + strings.Repeat("y", MaxSummary+1) + `"}}`, 422},
		{"completed without conclusion", "POST", "/repos/alice/meshery/check-runs", tok, `{"name":"x","head_sha":"` + testSHA + `","status":"completed"}`, 422},
		{"short sha", "POST", "/repos/alice/meshery/check-runs", tok, `{"name":"x","head_sha":"abc"}`, 422},
		{"bad state", "POST", "/repos/alice/meshery/statuses/" + testSHA, tok, `{"state":"great"}`, 422},
		{"long description", "POST", "/repos/alice/meshery/statuses/" + testSHA, tok, `{"state":"success","description":"` + strings.Repeat("d", 141) + `"}`, 422},
		{"JWT on a repository", "POST", "/repos/alice/meshery/statuses/" + testSHA, "Bearer " + jwtTok, `{"state":"success"}`, 401},
		{"token on the App", "POST", "/app/installations/1/access_tokens", tok, ``, 401},
		{"no auth", "POST", "/repos/alice/meshery/statuses/" + testSHA, "", `{"state":"success"}`, 401},
		{"plain token on check runs", "POST", "/repos/alice/meshery/check-runs", "Bearer " + e.srv.Token, `{"name":"x","head_sha":"` + testSHA + `"}`, 403},
	} {
		req, _ := http.NewRequest(tc.method, e.srv.APIURL()+strings.TrimPrefix(tc.path, "/"), strings.NewReader(tc.body))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}
