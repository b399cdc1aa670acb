package publish

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cmcgrader/cmcgrader/grader/publish/githubtest"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/store"
)

func TestParseRepo(t *testing.T) {
	for _, tc := range []struct {
		url, host, want string // want "" for an error
	}{
		{"https://github.com/alice/meshery", "github.com", "alice/meshery"},
		{"https://github.com/alice/meshery.git", "github.com", "alice/meshery"},
		{"https://github.com/alice/meshery/", "github.com", "alice/meshery"},
		{"https://GitHub.com/Alice-B/my.repo_2", "github.com", "Alice-B/my.repo_2"},
		{"https://ghe.example.com/org/fork", "ghe.example.com", "org/fork"},
		{"http://ghe.example.com:8080/org/fork.git", "ghe.example.com:8080", "org/fork"},
		{"http://github.com/alice/meshery", "github.com", ""},         // plain http to github.com
		{"https://gitlab.com/alice/meshery", "github.com", ""},        // another host
		{"https://github.com.evil.example/alice/m", "github.com", ""}, // a look-alike host
		{"https://github.com/alice", "github.com", ""},
		{"https://github.com/alice/meshery/tree/main", "github.com", ""},
		{"https://github.com/../meshery", "github.com", ""},
		{"https://github.com/alice/..", "github.com", ""},
		{"https://github.com/-alice/meshery", "github.com", ""},
		{"https://github.com/al%2Fice/meshery", "github.com", ""},
		{"https://x:y@github.com/alice/meshery", "github.com", ""},
		{"https://github.com/alice/meshery?x=1", "github.com", ""},
		{"git@github.com:alice/meshery.git", "github.com", ""},
		{"/srv/git/meshery.git", "github.com", ""},
		{"", "github.com", ""},
	} {
		t.Run(tc.url, func(t *testing.T) {
			r, err := ParseRepo(tc.url, tc.host)
			switch {
			case tc.want == "" && !errors.Is(err, ErrBadRepo):
				t.Errorf("got %s %v, want ErrBadRepo", r, err)
			case tc.want != "" && (err != nil || r.String() != tc.want):
				t.Errorf("got %s %v, want %s", r, err, tc.want)
			}
		})
	}
}

// TestCheckRunLifecycle publishes queued, started and completed as the
// App: one installation lookup and one token for the three, one check
// run that goes queued → in_progress → completed.
func TestCheckRunLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{installAll: true})
	rep := testReport(t, e.repo, []string{"ui-t"}, nil)
	for _, step := range []func() error{
		func() error { return e.gh.Queued(ctx, testCand, e.repo, testSHA) },
		func() error { return e.gh.Started(ctx, testCand, e.repo, testSHA) },
		func() error { return e.gh.Completed(ctx, testCand, e.repo, testSHA, rep) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	want := `GET /repos/alice/meshery/installation 200
POST /app/installations/1/access_tokens 201
POST /repos/alice/meshery/check-runs 201
PATCH /repos/alice/meshery/check-runs/1 200
PATCH /repos/alice/meshery/check-runs/1 200
`
	if got := e.calls(); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
	runs := e.srv.CheckRuns()
	if len(runs) != 1 {
		t.Fatalf("%d check runs, want 1", len(runs))
	}
	r := runs[0]
	if r.GetStatus() != "completed" || r.GetConclusion() != "failure" || r.GetName() != DefaultCheckName ||
		r.GetHeadSHA() != testSHA || r.GetDetailsURL() != "https://grading.example.org/cohort" || r.GetExternalID() != testCand {
		t.Errorf("check run: %s %s %s %s %s %s", r.GetStatus(), r.GetConclusion(), r.GetName(), r.GetHeadSHA(), r.GetDetailsURL(), r.GetExternalID())
	}
	sum := r.GetOutput().GetSummary()
	for _, s := range []string{"**Certification: FAIL**", "| ui | 0/3 | 0.0% | 70% | FAIL |", "| server | 2/2 | 100.0% | 70% | PASS |",
		"Report the version: 3/3", `\*\*fail\*\* Task of ui: 0/3`} {
		if !strings.Contains(sum, strings.ReplaceAll(s, `\*\*fail\*\*`, "**fail**")) {
			t.Errorf("summary lacks %q:\n%s", s, sum)
		}
	}
	if got := r.GetOutput().GetTitle(); got != "Certification FAIL: 80.0%" {
		t.Errorf("title %q", got)
	}
}

// TestConclusions maps verdicts to check run conclusions and commit
// status states.
func TestConclusions(t *testing.T) {
	for _, tc := range []struct {
		name             string
		fail, held       []string
		conclusion, stat string
	}{
		{"pass", nil, nil, "success", "success"},
		{"fail", []string{"models-t"}, nil, "failure", "failure"},
		{"held", nil, []string{"cli-t"}, "neutral", "pending"},
		{"held and failed", []string{"models-t"}, []string{"cli-t"}, "neutral", "pending"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			for _, token := range []bool{false, true} {
				e := newEnv(t, envOptions{installAll: true, token: token})
				if err := e.gh.Completed(ctx, testCand, e.repo, testSHA, testReport(t, e.repo, tc.fail, tc.held)); err != nil {
					t.Fatal(err)
				}
				if token {
					st := e.srv.Statuses()
					if len(st) != 1 || st[0].GetState() != tc.stat || st[0].GetTargetURL() != "https://grading.example.org/cohort" || st[0].GetContext() != DefaultCheckName {
						t.Errorf("statuses %+v, want one %s", st, tc.stat)
					}
					continue
				}
				runs := e.srv.CheckRuns()
				if len(runs) != 1 || runs[0].GetConclusion() != tc.conclusion {
					t.Errorf("check runs %+v, want one %s", runs, tc.conclusion)
				}
			}
		})
	}
}

// TestIncompleteIsNeutral: an interrupted grading is INCOMPLETE.
func TestIncompleteIsNeutral(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{installAll: true})
	rep := testReport(t, e.repo, nil, nil)
	rep.Tasks[0].Status = report.NotGraded
	rep.Summary = report.Summarize(testBank(), rep.Tasks)
	if rep.Verdict != report.Incomplete {
		t.Fatalf("verdict %s", rep.Verdict)
	}
	if err := e.gh.Completed(ctx, testCand, e.repo, testSHA, rep); err != nil {
		t.Fatal(err)
	}
	if r := e.srv.CheckRuns(); len(r) != 1 || r[0].GetConclusion() != "neutral" {
		t.Errorf("check runs %+v, want one neutral", r)
	}
}

// TestStatusFallback: with a plain token, statuses go pending, pending,
// then the result; no App endpoint or check run is called.
func TestStatusFallback(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{token: true})
	if err := e.gh.Queued(ctx, testCand, e.repo, testSHA); err != nil {
		t.Fatal(err)
	}
	if err := e.gh.Started(ctx, testCand, e.repo, testSHA); err != nil {
		t.Fatal(err)
	}
	if err := e.gh.Completed(ctx, testCand, e.repo, testSHA, testReport(t, e.repo, nil, nil)); err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("POST /repos/alice/meshery/statuses/"+testSHA+" 201\n", 3)
	if got := e.calls(); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
	var got []string
	for _, s := range e.srv.Statuses() {
		got = append(got, s.GetState()+": "+s.GetDescription())
		if n := utf8.RuneCountInString(s.GetDescription()); n > MaxDescription {
			t.Errorf("description of %d characters", n)
		}
	}
	if strings.Join(got, "|") != "pending: Queued for grading…|pending: Grading…|success: Certification PASS: 100.0%" {
		t.Errorf("statuses %q", got)
	}
}

// TestRetries: each kind of refusal is retried after the wait GitHub
// asks for, and the publish goes through.
func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		fail  githubtest.Failure
		n     int
		waits func([]time.Duration) bool
	}{
		{githubtest.SecondaryLimit, 2, func(w []time.Duration) bool { return len(w) == 2 && w[0] == time.Second && w[1] == time.Second }},
		{githubtest.TooMany, 3, func(w []time.Duration) bool { return len(w) == 3 && w[2] == time.Second }},
		{githubtest.BadGateway, 3, func(w []time.Duration) bool {
			// Exponential, with jitter in the upper half.
			return len(w) == 3 && w[0] >= 500*time.Millisecond && w[0] <= time.Second && w[2] >= 2*time.Second && w[2] <= 4*time.Second
		}},
		{githubtest.PrimaryLimit, 1, func(w []time.Duration) bool { return len(w) == 1 && w[0] > 0 && w[0] <= 3*time.Second }},
	} {
		t.Run(string(tc.fail), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, envOptions{installAll: true})
			e.srv.Fail(tc.n, tc.fail)
			if err := e.gh.Completed(ctx, testCand, e.repo, testSHA, testReport(t, e.repo, nil, nil)); err != nil {
				t.Fatal(err)
			}
			if w := e.clock.Sleeps(); !tc.waits(w) {
				t.Errorf("waits %v", w)
			}
			if r := e.srv.CheckRuns(); len(r) != 1 || r[0].GetConclusion() != "success" {
				t.Errorf("check runs %+v", r)
			}
			failed := 0
			for _, c := range e.srv.Calls() {
				if c.Status >= 400 {
					failed++
				}
			}
			if failed != tc.n {
				t.Errorf("%d calls refused, want %d:\n%s", failed, tc.n, e.calls())
			}
		})
	}
}

// TestNoRetry: a refusal no retry can fix (422, 401) is not retried, and
// a wait longer than the bound is not waited.
func TestNoRetry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{installAll: true})
	// Another App's key: GitHub refuses its JWT.
	other, err := githubtest.Start(githubtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	gh, err := New(Config{BaseURL: e.srv.APIURL(), AppID: e.srv.AppID, AppKey: other.KeyPEM, Sleep: e.clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	err = gh.Queued(ctx, testCand, e.repo, testSHA)
	if err == nil || !strings.Contains(err.Error(), "401") || len(e.clock.Sleeps()) != 0 {
		t.Errorf("a bad JWT: %v after waits %v", err, e.clock.Sleeps())
	}
	// GitHub asks to wait longer than the bound: the call fails at once.
	short, err := New(Config{BaseURL: e.srv.APIURL(), Token: e.srv.Token, MaxWait: 500 * time.Millisecond, Sleep: e.clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Fail(1, githubtest.SecondaryLimit)
	err = short.Queued(ctx, testCand, e.repo, testSHA)
	if err == nil || !strings.Contains(err.Error(), "longer than 500ms") || len(e.clock.Sleeps()) != 0 {
		t.Errorf("a wait over the bound: %v after waits %v", err, e.clock.Sleeps())
	}
	// A cancelled context stops the waits.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	e.srv.Fail(1, githubtest.BadGateway)
	if err := e.gh.Queued(cctx, testCand, e.repo, testSHA); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestPendingKeptAndRetried: a result GitHub keeps refusing is stored,
// Completed fails saying so, and Retry publishes it once GitHub answers.
func TestPendingKeptAndRetried(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "cohort.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := newEnv(t, envOptions{installAll: true, pending: st, attempts: 3})
	e.srv.Fail(3, githubtest.BadGateway)
	err = e.gh.Completed(ctx, testCand, e.repo, testSHA, testReport(t, e.repo, []string{"ui-t"}, nil))
	if err == nil || !strings.Contains(err.Error(), "kept as pending publish 1") {
		t.Fatalf("Completed: %v, want an error saying the result was kept", err)
	}
	ps, err := st.PendingPublishes(ctx)
	if err != nil || len(ps) != 1 || ps[0].Candidate != testCand || ps[0].Repo != e.repo || ps[0].Commit != testSHA {
		t.Fatalf("pending %+v %v", ps, err)
	}
	// Still down: it stays pending, with the failure.
	e.srv.Fail(3, githubtest.BadGateway)
	n, failed, err := e.gh.Retry(ctx, st)
	if err != nil || n != 0 || len(failed) != 1 || !strings.Contains(failed[0].LastError, "502") {
		t.Fatalf("retry while down: %d %+v %v", n, failed, err)
	}
	n, failed, err = e.gh.Retry(ctx, st)
	if err != nil || n != 1 || len(failed) != 0 {
		t.Fatalf("retry: %d %+v %v", n, failed, err)
	}
	if ps, _ := st.PendingPublishes(ctx); len(ps) != 0 {
		t.Errorf("still pending: %+v", ps)
	}
	if r := e.srv.CheckRuns(); len(r) != 1 || r[0].GetConclusion() != "failure" || !strings.Contains(r[0].GetOutput().GetSummary(), "Task of ui") {
		t.Errorf("check runs %+v", r)
	}
}

// TestBadTargets: a repository URL of another host, or a bad SHA, fails
// at once, calls nothing and keeps nothing.
func TestBadTargets(t *testing.T) {
	ctx := context.Background()
	p := &memPending{}
	e := newEnv(t, envOptions{installAll: true, pending: p})
	rep := testReport(t, e.repo, nil, nil)
	for _, tc := range []struct{ repo, sha string }{
		{"https://github.com/alice/meshery", testSHA},
		{"https://gitlab.com/alice/meshery", testSHA},
		{e.srv.URL() + "/alice", testSHA},
		{e.repo, "main"},
		{e.repo, testSHA[:12]},
	} {
		if err := e.gh.Completed(ctx, testCand, tc.repo, tc.sha, rep); err == nil {
			t.Errorf("%s@%s: no error", tc.repo, tc.sha)
		}
	}
	if c := e.srv.Calls(); len(c) != 0 || p.n != 0 {
		t.Errorf("%d calls, %d kept", len(c), p.n)
	}
}

type memPending struct{ n int }

func (m *memPending) AddPendingPublish(context.Context, string, string, string, []byte, string) (int64, error) {
	m.n++
	return int64(m.n), nil
}

// TestTokenCache: one installation token serves until shortly before it
// expires; then a new one is fetched.
func TestTokenCache(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{installAll: true})
	count := func() (n int) {
		for _, c := range e.srv.Calls() {
			if strings.HasSuffix(c.Path, "/access_tokens") {
				n++
			}
		}
		return n
	}
	sha2 := strings.Repeat("1", 40)
	for _, sha := range []string{testSHA, sha2, testSHA} {
		if err := e.gh.Queued(ctx, testCand, e.repo, sha); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(); n != 1 {
		t.Errorf("%d tokens fetched for three calls, want 1", n)
	}
	e.clock.Add(50 * time.Minute) // the token has 10 minutes left: kept
	if err := e.gh.Started(ctx, testCand, e.repo, testSHA); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("%d tokens fetched, want 1 still", n)
	}
	e.clock.Add(6 * time.Minute) // 4 minutes left: replaced
	if err := e.gh.Started(ctx, testCand, e.repo, sha2); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Errorf("%d tokens fetched, want 2", n)
	}
}

// TestTokenRevoked: a cached token GitHub no longer takes (401) is
// replaced, once, and the call goes through.
func TestTokenRevoked(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{installAll: true})
	if err := e.gh.Queued(ctx, testCand, e.repo, testSHA); err != nil {
		t.Fatal(err)
	}
	e.srv.RevokeTokens()
	if err := e.gh.Started(ctx, testCand, e.repo, testSHA); err != nil {
		t.Fatal(err)
	}
	want := `GET /repos/alice/meshery/installation 200
POST /app/installations/1/access_tokens 201
POST /repos/alice/meshery/check-runs 201
PATCH /repos/alice/meshery/check-runs/1 401
POST /app/installations/1/access_tokens 201
PATCH /repos/alice/meshery/check-runs/1 200
`
	if got := e.calls(); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
}

// TestInstallations: per-repository installations are found and used; a
// repository without the App is reported, and publishing to it fails
// clearly.
func TestInstallations(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	e.srv.Install("alice/meshery", 7)
	e.srv.Install("bob/meshery", 9)
	for _, tc := range []struct {
		repo string
		want bool
	}{{"alice/meshery", true}, {"bob/meshery", true}, {"carol/meshery", false}} {
		ok, err := e.gh.Installed(ctx, Repo{Owner: strings.Split(tc.repo, "/")[0], Name: "meshery"})
		if err != nil || ok != tc.want {
			t.Errorf("%s: installed %v %v, want %v", tc.repo, ok, err, tc.want)
		}
	}
	if err := e.gh.Queued(ctx, testCand, e.srv.URL()+"/bob/meshery", testSHA); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.calls(), "POST /app/installations/9/access_tokens 201") {
		t.Errorf("calls:\n%s", e.calls())
	}
	err := e.gh.Queued(ctx, testCand, e.srv.URL()+"/carol/meshery", testSHA)
	if !errors.Is(err, ErrNotInstalled) {
		t.Errorf("queued on a repository without the App: %v", err)
	}
}

// TestRestartFindsCheckRun: a publisher that did not create the check
// run (another process, or after a restart) updates the one on the
// commit rather than adding a second.
func TestRestartFindsCheckRun(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{installAll: true})
	if err := e.gh.Queued(ctx, testCand, e.repo, testSHA); err != nil {
		t.Fatal(err)
	}
	again, err := New(Config{BaseURL: e.srv.APIURL(), AppID: e.srv.AppID, AppKey: e.srv.KeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Completed(ctx, testCand, e.repo, testSHA, testReport(t, e.repo, nil, nil)); err != nil {
		t.Fatal(err)
	}
	if r := e.srv.CheckRuns(); len(r) != 1 || r[0].GetStatus() != "completed" {
		t.Errorf("check runs %+v, want the one run completed", r)
	}
}

// TestRegradeNewCheckRun: a later grading of a commit whose check run
// completed gets a check run of its own.
func TestRegradeNewCheckRun(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{installAll: true})
	if err := e.gh.Completed(ctx, testCand, e.repo, testSHA, testReport(t, e.repo, []string{"ui-t"}, nil)); err != nil {
		t.Fatal(err)
	}
	again, err := New(Config{BaseURL: e.srv.APIURL(), AppID: e.srv.AppID, AppKey: e.srv.KeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Started(ctx, testCand, e.repo, testSHA); err != nil {
		t.Fatal(err)
	}
	if err := again.Completed(ctx, testCand, e.repo, testSHA, testReport(t, e.repo, nil, nil)); err != nil {
		t.Fatal(err)
	}
	r := e.srv.CheckRuns()
	if len(r) != 2 || r[0].GetConclusion() != "failure" || r[1].GetConclusion() != "success" {
		t.Errorf("check runs %+v, want the first failure, the second success", r)
	}
}

func TestNewRefuses(t *testing.T) {
	srv, err := githubtest.Start(githubtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	for name, cfg := range map[string]Config{
		"no credentials": {},
		"key and token":  {AppID: 1, AppKey: srv.KeyPEM, Token: "t"},
		"key without id": {AppKey: srv.KeyPEM},
		"not a key":      {AppID: 1, AppKey: []byte("-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n")},
		"token with eol": {Token: "abc\ndef"},
		"bad base URL":   {Token: "t", BaseURL: "ftp://ghe.example.com/"},
		"bad dashboard":  {Token: "t", DashboardURL: "javascript:alert(1)"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
