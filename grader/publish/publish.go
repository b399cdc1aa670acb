package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v66/github"
	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/store"
)

// DefaultCheckName names the check run on a candidate's commit.
const DefaultCheckName = "CMC grading"

// Config says where and how to publish. Exactly one of AppKey (with
// AppID) and Token authenticates. Zero values mean defaults.
type Config struct {
	// BaseURL is a GitHub Enterprise server's API base URL
	// (https://ghe.example.com/api/v3/); "" for github.com.
	BaseURL string
	// AppID and AppKey (its private key, PEM) authenticate as a GitHub
	// App: check runs are published.
	AppID  int64
	AppKey []byte
	// InstallationID is the App's installation to use for every
	// repository; 0 finds each repository's own (forks installed one by
	// one).
	InstallationID int64
	// Token is a plain token (a personal access token): commit statuses
	// are published, as check runs need an App.
	Token string
	// DashboardURL is the target URL of statuses and the details URL of
	// check runs; "" for none.
	DashboardURL string
	// CheckName names the check run; "" for DefaultCheckName. Status
	// contexts use it too.
	CheckName string
	// Pending keeps completed results that could not be published; nil
	// loses them (Completed still fails).
	Pending Pending
	// Log gets what happens, never a secret; nil logs nothing.
	Log *logrus.Entry
	// HTTPClient makes the calls; nil for a client with a one-minute
	// timeout.
	HTTPClient *http.Client
	// Attempts bounds the calls made for one request (default 6), MaxWait
	// one wait between them (default 15 minutes).
	Attempts int
	MaxWait  time.Duration
	// Now and Sleep stand in for the clock in tests.
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
}

// Pending keeps a completed result that could not be published, for
// Retry to publish later. *store.Store is one.
type Pending interface {
	AddPendingPublish(ctx context.Context, candidate, repo, commit string, view []byte, lastError string) (int64, error)
}

// GitHub publishes results to a GitHub or GitHub Enterprise server. It is
// safe for concurrent use.
type GitHub struct {
	http       *http.Client
	baseURL    string // "" for github.com
	webHost    string
	app        *appAuth
	plainToken string
	dashboard  string
	checkName  string
	pending    Pending
	log        *logrus.Entry
	attempts   int
	maxWait    time.Duration
	now        func() time.Time
	sleep      func(context.Context, time.Duration) error

	mu   sync.Mutex
	runs map[runKey]int64 // check runs created, by repository and commit
}

type runKey struct {
	repo Repo
	sha  string
}

// New checks cfg and returns a publisher. It makes no call to GitHub.
func New(cfg Config) (*GitHub, error) {
	g := &GitHub{
		http: cfg.HTTPClient, dashboard: cfg.DashboardURL, checkName: cfg.CheckName,
		pending: cfg.Pending, log: cfg.Log, attempts: cfg.Attempts, maxWait: cfg.MaxWait,
		now: cfg.Now, sleep: cfg.Sleep, runs: map[runKey]int64{}, webHost: "github.com",
	}
	if g.http == nil {
		g.http = &http.Client{Timeout: time.Minute}
	}
	if g.checkName == "" {
		g.checkName = DefaultCheckName
	}
	if g.log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		g.log = logrus.NewEntry(l)
	}
	if g.attempts <= 0 {
		g.attempts = defaultAttempts
	}
	if g.maxWait <= 0 {
		g.maxWait = defaultMaxWait
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.sleep == nil {
		g.sleep = sleepCtx
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return nil, fmt.Errorf("GitHub Enterprise URL %q: want https://HOST/api/v3/", cfg.BaseURL)
		}
		if _, err := github.NewClient(nil).WithEnterpriseURLs(cfg.BaseURL, cfg.BaseURL); err != nil {
			return nil, fmt.Errorf("GitHub Enterprise URL %q: %w", cfg.BaseURL, err)
		}
		g.baseURL, g.webHost = cfg.BaseURL, u.Host
	}
	if cfg.DashboardURL != "" {
		if u, err := url.Parse(cfg.DashboardURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("dashboard URL %q: want an https:// URL", cfg.DashboardURL)
		}
	}
	switch {
	case len(cfg.AppKey) > 0 && cfg.Token != "":
		return nil, errors.New("give a GitHub App's key or a token, not both")
	case len(cfg.AppKey) > 0:
		if cfg.AppID <= 0 {
			return nil, errors.New("a GitHub App's key needs the App's id (--github-app-id)")
		}
		key, err := jwt.ParseRSAPrivateKeyFromPEM(cfg.AppKey)
		if err != nil {
			// The parser's error says nothing of the key's bytes.
			return nil, fmt.Errorf("the GitHub App's private key: want the PEM file GitHub generated for the App (an RSA key): %w", err)
		}
		g.app = &appAuth{id: cfg.AppID, key: key, installationID: cfg.InstallationID,
			byRepo: map[Repo]int64{}, byInst: map[int64]cachedToken{}}
	case cfg.Token != "":
		if strings.ContainsAny(cfg.Token, " \t\r\n") {
			return nil, errors.New("the GitHub token holds white space; the file or variable must hold the token alone")
		}
		g.plainToken = cfg.Token
	default:
		return nil, errors.New("no GitHub credentials: give a GitHub App's id and private key, or a token")
	}
	return g, nil
}

// App says whether g authenticates as a GitHub App (and publishes check
// runs) rather than with a plain token (commit statuses).
func (g *GitHub) App() bool { return g.app != nil }

// WebHost is the host repositories of this GitHub are on.
func (g *GitHub) WebHost() string { return g.webHost }

// client returns a client that sends token. A new one for each call:
// go-github's client remembers rate limits against the real clock and
// would refuse a retry the injected clock allows.
func (g *GitHub) client(token string) *github.Client {
	c := github.NewClient(g.http).WithAuthToken(token)
	if g.baseURL != "" {
		c, _ = c.WithEnterpriseURLs(g.baseURL, g.baseURL) // checked by New
	}
	return c
}

// repoClient returns a client for repo's endpoints.
func (g *GitHub) repoClient(ctx context.Context, repo Repo) (*github.Client, error) {
	tok, err := g.token(ctx, repo)
	if err != nil {
		return nil, err
	}
	return g.client(tok), nil
}

// Queued shows that the grading of sha, in candidate's repository repoURL,
// is queued.
func (g *GitHub) Queued(ctx context.Context, candidate, repoURL, sha string) error {
	return g.progress(ctx, candidate, repoURL, sha, "queued", "Queued for grading")
}

// Started shows that the grading of sha is running.
func (g *GitHub) Started(ctx context.Context, candidate, repoURL, sha string) error {
	return g.progress(ctx, candidate, repoURL, sha, "in_progress", "Grading")
}

// Completed shows r's result on its commit sha: its candidate view only.
// A result that cannot be published is kept in the Pending store, and the
// error says so.
func (g *GitHub) Completed(ctx context.Context, candidate, repoURL, sha string, r *report.Report) error {
	return g.Publish(ctx, candidate, repoURL, sha, r.ForCandidate())
}

// Failed shows that sha can never be graded (its commit is missing, its
// gradings kept failing): the check run completes neutral, or the commit
// status is error, with a fixed text. reason is for proctors: only the
// log gets it, never GitHub. A failure to publish is not kept as
// pending: the push's failure is in the store for proctors.
//
// Neutral rather than action_required: action_required asks the
// candidate to act, through a details page GitHub requires with it, while
// the failure is the grader's to fix, and neutral neither passes nor
// fails the commit.
func (g *GitHub) Failed(ctx context.Context, candidate, repoURL, sha string, reason error) error {
	repo, sha, err := g.target(repoURL, sha)
	if err != nil {
		return err
	}
	g.log.WithField("candidate", candidate).WithError(reason).Debugf("publishing %s@%.12s as not gradable", repo, sha)
	if g.app == nil {
		return g.status(ctx, repo, sha, stateError, failedDescribe)
	}
	return g.checkRun(ctx, candidate, repo, sha, checkOptions{status: "completed", conclusion: conclusionNeutral, title: failedTitle, summary: failedSummary})
}

// Publish shows the candidate view c on commit sha, as Completed does.
func (g *GitHub) Publish(ctx context.Context, candidate, repoURL, sha string, c *report.CandidateReport) error {
	err := g.publish(ctx, candidate, repoURL, sha, c)
	if err == nil || errors.Is(err, ErrBadRepo) || errors.Is(err, errBadCommit) {
		return err
	}
	if g.pending == nil {
		return fmt.Errorf("publish the result of %s: %w", candidate, err)
	}
	view, merr := json.Marshal(c)
	if merr != nil {
		return fmt.Errorf("publish the result of %s: %w", candidate, errors.Join(err, merr))
	}
	// The store keeps it even when the caller's context ended.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	id, serr := g.pending.AddPendingPublish(sctx, candidate, repoURL, sha, view, err.Error())
	if serr != nil {
		return fmt.Errorf("publish the result of %s: %w; and it could not be kept to retry: %w", candidate, err, serr)
	}
	g.log.WithField("candidate", candidate).WithField("pending", id).Warnf("result not published, kept for publish --pending: %v", err)
	return fmt.Errorf("publish the result of %s: %w; kept as pending publish %d (cmcgrader publish --pending retries it)", candidate, err, id)
}

var errBadCommit = errors.New("not a full commit SHA")

func (g *GitHub) target(repoURL, sha string) (Repo, string, error) {
	repo, err := ParseRepo(repoURL, g.webHost)
	if err != nil {
		return Repo{}, "", err
	}
	sha = strings.ToLower(sha)
	if len(sha) != 40 || strings.Trim(sha, "0123456789abcdef") != "" {
		return Repo{}, "", fmt.Errorf("%w: %q", errBadCommit, sha)
	}
	return repo, sha, nil
}

func (g *GitHub) progress(ctx context.Context, candidate, repoURL, sha, status, describe string) error {
	repo, sha, err := g.target(repoURL, sha)
	if err != nil {
		return err
	}
	if g.app == nil {
		return g.status(ctx, repo, sha, statePending, describe+"…")
	}
	opts := checkOptions{status: status, title: describe}
	return g.checkRun(ctx, candidate, repo, sha, opts)
}

func (g *GitHub) publish(ctx context.Context, candidate, repoURL, sha string, c *report.CandidateReport) error {
	repo, sha, err := g.target(repoURL, sha)
	if err != nil {
		return err
	}
	res := resultOf(c)
	if g.app == nil {
		return g.status(ctx, repo, sha, res.state, res.describe)
	}
	return g.checkRun(ctx, candidate, repo, sha, checkOptions{status: "completed", conclusion: res.conclusion, title: res.title, summary: res.summary})
}

type checkOptions struct {
	status, conclusion, title, summary string
}

// checkRun creates the check run of sha, or updates the one created
// before: by this process, or found on the commit.
func (g *GitHub) checkRun(ctx context.Context, candidate string, repo Repo, sha string, o checkOptions) error {
	key := runKey{repo, sha}
	g.mu.Lock()
	id, ok := g.runs[key]
	g.mu.Unlock()
	if !ok && o.status != "queued" {
		var err error
		if id, err = g.findCheckRun(ctx, repo, sha); err != nil {
			return err
		}
	}
	var output *github.CheckRunOutput
	if o.title != "" {
		summary := o.summary
		if summary == "" {
			summary = o.title + "."
		}
		output = &github.CheckRunOutput{Title: github.String(o.title), Summary: github.String(summary)}
	}
	var completedAt *github.Timestamp
	var conclusion *string
	if o.status == "completed" {
		completedAt = &github.Timestamp{Time: g.now().UTC().Truncate(time.Second)}
		conclusion = github.String(o.conclusion)
	}
	var details, external *string
	if g.dashboard != "" {
		details = github.String(g.dashboard)
	}
	if candidate != "" {
		external = github.String(candidate)
	}
	what := fmt.Sprintf("%s check run on %s@%.12s", o.status, repo, sha)
	var run *github.CheckRun
	err := g.retry(ctx, what, func(ctx context.Context) (*github.Response, error) {
		c, err := g.repoClient(ctx, repo)
		if err != nil {
			return nil, finalError{err}
		}
		var resp *github.Response
		if id == 0 {
			run, resp, err = c.Checks.CreateCheckRun(ctx, repo.Owner, repo.Name, github.CreateCheckRunOptions{
				Name: g.checkName, HeadSHA: sha, DetailsURL: details, ExternalID: external,
				Status: github.String(o.status), Conclusion: conclusion, CompletedAt: completedAt, Output: output,
			})
		} else {
			run, resp, err = c.Checks.UpdateCheckRun(ctx, repo.Owner, repo.Name, id, github.UpdateCheckRunOptions{
				Name: g.checkName, DetailsURL: details, ExternalID: external,
				Status: github.String(o.status), Conclusion: conclusion, CompletedAt: completedAt, Output: output,
			})
		}
		return resp, err
	})
	if err != nil {
		return err
	}
	g.mu.Lock()
	if o.status == "completed" {
		delete(g.runs, key)
	} else if run.GetID() != 0 {
		g.runs[key] = run.GetID()
	}
	g.mu.Unlock()
	g.log.WithField("candidate", candidate).WithField("check_run", run.GetID()).Debugf("%s: done", what)
	return nil
}

// findCheckRun returns the id of the App's latest check run of this name
// on sha that is not completed (made by another process, or before a
// restart); 0 if none: a completed one belongs to an earlier grading.
func (g *GitHub) findCheckRun(ctx context.Context, repo Repo, sha string) (int64, error) {
	var id int64
	err := g.retry(ctx, fmt.Sprintf("find the check run on %s@%.12s", repo, sha), func(ctx context.Context) (*github.Response, error) {
		c, err := g.repoClient(ctx, repo)
		if err != nil {
			return nil, finalError{err}
		}
		runs, resp, err := c.Checks.ListCheckRunsForRef(ctx, repo.Owner, repo.Name, sha, &github.ListCheckRunsOptions{
			CheckName: github.String(g.checkName), Filter: github.String("latest"), AppID: github.Int64(g.app.id),
		})
		if err == nil {
			for _, r := range runs.CheckRuns {
				if r.GetName() == g.checkName && r.GetStatus() != "completed" && r.GetID() > id {
					id = r.GetID()
				}
			}
		}
		return resp, err
	})
	return id, err
}

// status sets the commit status of sha.
func (g *GitHub) status(ctx context.Context, repo Repo, sha, state, describe string) error {
	st := &github.RepoStatus{
		State: github.String(state), Description: github.String(clip(describe, MaxDescription, "…")),
		Context: github.String(g.checkName),
	}
	if g.dashboard != "" {
		st.TargetURL = github.String(g.dashboard)
	}
	return g.retry(ctx, fmt.Sprintf("%s status on %s@%.12s", state, repo, sha), func(ctx context.Context) (*github.Response, error) {
		c, err := g.repoClient(ctx, repo)
		if err != nil {
			return nil, finalError{err}
		}
		_, resp, err := c.Repositories.CreateStatus(ctx, repo.Owner, repo.Name, sha, st)
		return resp, err
	})
}

// RetryStore lists the pending publishes and records what came of a retry.
// *store.Store is one.
type RetryStore interface {
	PendingPublishes(ctx context.Context) ([]store.PendingPublish, error)
	PublishedPending(ctx context.Context, id int64) error
	PendingPublishFailed(ctx context.Context, id int64, lastError string) error
}

// Retry publishes every pending result of st, and returns those that
// still fail (they stay pending). err is a failure of the store.
func (g *GitHub) Retry(ctx context.Context, st RetryStore) (published int, failed []store.PendingPublish, err error) {
	ps, err := st.PendingPublishes(ctx)
	if err != nil {
		return 0, nil, err
	}
	for _, p := range ps {
		var c report.CandidateReport
		perr := json.Unmarshal(p.View, &c)
		if perr == nil {
			perr = g.publish(ctx, p.Candidate, p.Repo, p.Commit, &c)
		}
		if perr != nil {
			p.Attempts++
			p.LastError = perr.Error()
			failed = append(failed, p)
			if err := st.PendingPublishFailed(ctx, p.ID, p.LastError); err != nil {
				return published, failed, err
			}
			continue
		}
		if err := st.PublishedPending(ctx, p.ID); err != nil {
			return published, failed, err
		}
		published++
	}
	return published, failed, nil
}
