package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/store"
)

var secret = []byte("a shared secret for the tests")

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var start = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

var roster = &cohort.Roster{Path: "roster.csv", Digest: "sha256:" + strings.Repeat("ab", 32), Candidates: []cohort.Candidate{
	{ID: "ada", Line: 2, Repo: "https://github.com/ada/exam", Branch: "cmc-exam", Name: "Ada", Email: "ada@example.org"},
	{ID: "bob", Line: 3, Repo: "git@GitHub.com:bob/exam.git", Branch: "cmc-exam", Name: "Bob", Email: "bob@example.org"},
}}

type fixture struct {
	t     *testing.T
	path  string
	st    *store.Store
	clk   *clock
	srv   *httptest.Server
	calls int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "cohort.db"), clk: &clock{t: start}}
	f.open()
	if err := f.st.SetRoster(context.Background(), roster); err != nil {
		t.Fatal(err)
	}
	return f
}

// open opens the store and serves a handler over it, as a restarted
// serve would.
func (f *fixture) open() {
	f.t.Helper()
	st, err := store.Open(context.Background(), f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	h, err := New(Config{Store: st, Secret: secret, Now: f.clk.Now})
	if err != nil {
		f.t.Fatal(err)
	}
	f.st, f.srv = st, httptest.NewServer(h)
	f.t.Cleanup(f.close)
}

func (f *fixture) close() {
	if f.srv != nil {
		f.srv.Close()
		f.st.Close()
		f.srv = nil
	}
}

// deliver posts body as event with GitHub's headers, signed with key
// unless sig is given.
func (f *fixture) deliver(event, delivery string, body []byte, sig ...string) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	if len(sig) > 0 {
		req.Header.Set("X-Hub-Signature-256", sig[0])
	}
	if event != "" {
		req.Header.Set("X-GitHub-Event", event)
	}
	if delivery != "" {
		req.Header.Set("X-GitHub-Delivery", delivery)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, strings.TrimSpace(b.String())
}

// pushes lists the queue as candidate:first letter of the commit:state.
func (f *fixture) pushes() string {
	f.t.Helper()
	ps, err := f.st.Pushes(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	var s []string
	for _, p := range ps {
		s = append(s, p.Candidate+":"+p.Commit[:1]+":"+string(p.State))
	}
	return strings.Join(s, " ")
}

func sha(c byte) string { return strings.Repeat(string(c), 40) }

// pushBody is a push event as GitHub sends it, built from go-github's
// own types.
func pushBody(t *testing.T, repoURL, ref, after string, deleted bool) []byte {
	t.Helper()
	html := strings.TrimSuffix(repoURL, ".git")
	ev := github.PushEvent{
		Ref: github.String(ref), Before: github.String(sha('0')), After: github.String(after),
		Deleted: github.Bool(deleted), Created: github.Bool(false),
		Repo: &github.PushEventRepository{
			Name: github.String("exam"), HTMLURL: github.String(html), CloneURL: github.String(html + ".git"),
			SSHURL: github.String("git@github.com:" + strings.TrimPrefix(html, "https://github.com/") + ".git"),
		},
		HeadCommit: &github.HeadCommit{ID: github.String(after), Message: github.String("solve"),
			// A commit's own time says nothing: its author sets it.
			Timestamp: &github.Timestamp{Time: start.Add(-24 * time.Hour)}},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	adaRepo = "https://github.com/ada/exam"
	bobRepo = "https://github.com/Bob/exam/" // as GitHub spells it, not as the roster does
)

func TestWebhookPush(t *testing.T) {
	f := newFixture(t)
	if code, text := f.deliver("push", "d1", pushBody(t, adaRepo, "refs/heads/cmc-exam", sha('a'), false)); code != 202 || text != "queued" {
		t.Fatalf("push: %d %s", code, text)
	}
	if got := f.pushes(); got != "ada:a:queued" {
		t.Errorf("queue: %s", got)
	}
	// The clone URL with .git and another case of the host match too.
	if code, text := f.deliver("push", "d2", pushBody(t, "https://GITHUB.com/bob/exam.git", "refs/heads/cmc-exam", sha('b'), false)); code != 202 || text != "queued" {
		t.Errorf("bob's push: %d %s", code, text)
	}
	// A newer push supersedes the queued one.
	f.deliver("push", "d3", pushBody(t, adaRepo, "refs/heads/cmc-exam", sha('c'), false))
	if got := f.pushes(); got != "ada:a:superseded bob:b:queued ada:c:queued" {
		t.Errorf("after a newer push: %s", got)
	}
	ds, _ := f.st.Deliveries(context.Background())
	if len(ds) != 3 || ds[0].Outcome != "queued" || !ds[0].Received.Equal(start) {
		t.Errorf("deliveries: %+v", ds)
	}
}

func TestWebhookIgnored(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name, repo, ref, after string
		deleted                bool
		want                   string
	}{
		{"deleted", adaRepo, "refs/heads/cmc-exam", sha('0'), true, "ignored: the branch was deleted"},
		{"zero after", adaRepo, "refs/heads/cmc-exam", sha('0'), false, "ignored: the branch was deleted"},
		{"other branch", adaRepo, "refs/heads/main", sha('a'), false, "ignored: not an exam branch"},
		{"tag", adaRepo, "refs/tags/cmc-exam", sha('a'), false, "ignored: not a push to a branch"},
		{"unknown repo", "https://github.com/eve/exam", "refs/heads/cmc-exam", sha('a'), false, "ignored: unknown repository"},
		{"same name elsewhere", "https://git.example/ada/exam", "refs/heads/cmc-exam", sha('a'), false, "ignored: unknown repository"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, text := f.deliver("push", "d-"+c.name, pushBody(t, c.repo, c.ref, c.after, c.deleted))
			if code != 202 || text != c.want {
				t.Errorf("%d %q, want 202 %q", code, text, c.want)
			}
		})
	}
	if code, text := f.deliver("issues", "d-issue", []byte(`{"action":"opened"}`)); code != 202 || !strings.Contains(text, "ignored") {
		t.Errorf("an issues event: %d %s", code, text)
	}
	if got := f.pushes(); got != "" {
		t.Errorf("queued: %s", got)
	}
}

func TestWebhookRefused(t *testing.T) {
	f := newFixture(t)
	body := pushBody(t, adaRepo, "refs/heads/cmc-exam", sha('a'), false)
	other := hmac.New(sha256.New, []byte("another secret"))
	other.Write(body)
	for _, c := range []struct {
		name, sig string
	}{
		{"another secret", "sha256=" + hex.EncodeToString(other.Sum(nil))},
		{"none", ""},
		{"sha1", "sha1=" + strings.Repeat("0", 40)},
		{"not hex", "sha256=" + strings.Repeat("z", 64)},
	} {
		if code, _ := f.deliver("push", "d-"+c.name, body, c.sig); code != http.StatusUnauthorized {
			t.Errorf("signature %s: %d, want 401", c.name, code)
		}
	}
	// Signed, then changed.
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL, bytes.NewReader(append(body, ' ')))
	req.Header.Set("X-Hub-Signature-256", Sign(secret, body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", "d-changed")
	req.Header.Set("Content-Type", "application/json")
	if resp, err := f.srv.Client().Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("a changed body: %v %v", resp, err)
	}

	big := bytes.Repeat([]byte(" "), 30<<20)
	if code, _ := f.deliver("push", "d-big", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("30 MB: %d, want 413", code)
	}
	if code, _ := f.deliver("push", "d-json", []byte(`{"ref": "refs/heads/cmc-exam",`)); code != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d, want 400", code)
	}
	if code, _ := f.deliver("push", "d-type", []byte(`{"ref": 7}`)); code != http.StatusBadRequest {
		t.Errorf("not a push event: %d, want 400", code)
	}
	if code, _ := f.deliver("push", "", body); code != http.StatusBadRequest {
		t.Errorf("no delivery id: %d, want 400", code)
	}
	if resp, err := f.srv.Client().Get(f.srv.URL); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v", resp, err)
	}
	if got := f.pushes(); got != "" {
		t.Errorf("queued: %s", got)
	}
	if ds, _ := f.st.Deliveries(context.Background()); len(ds) != 0 {
		t.Errorf("deliveries recorded: %+v", ds)
	}
}

func TestWebhookPing(t *testing.T) {
	f := newFixture(t)
	if code, text := f.deliver("ping", "d-ping", []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)); code != 200 || text != "pong" {
		t.Errorf("ping: %d %s", code, text)
	}
}

// TestWebhookRedelivery delivers the same push again, before and after a
// restart: one queue entry.
func TestWebhookRedelivery(t *testing.T) {
	f := newFixture(t)
	body := pushBody(t, bobRepo, "refs/heads/cmc-exam", sha('b'), false)
	f.deliver("push", "d1", body)
	if code, text := f.deliver("push", "d1", body); code != 200 || text != "duplicate delivery" {
		t.Errorf("redelivery: %d %s", code, text)
	}
	f.close()
	f.open()
	f.clk.Set(start.Add(time.Hour))
	if code, text := f.deliver("push", "d1", body); code != 200 || text != "duplicate delivery" {
		t.Errorf("redelivery after a restart: %d %s", code, text)
	}
	if got := f.pushes(); got != "bob:b:queued" {
		t.Errorf("queue: %s", got)
	}
}

// TestWebhookLate: after the freeze, pushes are recorded as late, by the
// time they were received, whatever their commits' timestamps say.
func TestWebhookLate(t *testing.T) {
	f := newFixture(t)
	raw, _ := json.Marshal(cohort.Freeze{Version: cohort.FreezeVersion, Roster: roster.Digest, At: start.Add(time.Hour)})
	if err := f.st.SetFreeze(context.Background(), raw, nil); err != nil {
		t.Fatal(err)
	}
	f.deliver("push", "d1", pushBody(t, adaRepo, "refs/heads/cmc-exam", sha('a'), false))
	f.clk.Set(start.Add(time.Hour + time.Second))
	code, text := f.deliver("push", "d2", pushBody(t, adaRepo, "refs/heads/cmc-exam", sha('b'), false))
	if code != 202 || !strings.Contains(text, "after the deadline") {
		t.Errorf("late push: %d %s", code, text)
	}
	if got := f.pushes(); got != "ada:a:queued ada:b:late" {
		t.Errorf("queue: %s", got)
	}
}

func TestWebhookNormalizeRepo(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/ada/exam":          "github.com/ada/exam",
		"https://GitHub.com/ada/exam.git":      "github.com/ada/exam",
		"http://github.com/ada/exam/":          "github.com/ada/exam",
		"ssh://git@github.com:22/ada/exam.git": "github.com/ada/exam",
		"git@github.com:ada/exam.git":          "github.com/ada/exam",
		"git://github.com/ada/exam.git":        "github.com/ada/exam",
		"https://github.com/":                  "",
		"exam":                                 "",
		"":                                     "",
	} {
		if got := NormalizeRepo(in); got != want {
			t.Errorf("NormalizeRepo(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := New(Config{Store: &store.Store{}}); err == nil {
		t.Error("a handler without a secret")
	}
}

// TestWebhookQueuedAndDrain tells Config.Queued of each push queued, and
// of nothing else (a duplicate, a late push, an ignored one); once
// drained, deliveries are answered 503 and recorded nowhere.
func TestWebhookQueuedAndDrain(t *testing.T) {
	f := newFixture(t)
	f.srv.Close()
	var mu sync.Mutex
	var heard []string
	h, err := New(Config{Store: f.st, Secret: secret, Now: f.clk.Now, Queued: func(_ context.Context, p store.Push) {
		mu.Lock()
		heard = append(heard, p.Candidate+":"+p.Commit[:1])
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	body := pushBody(t, adaRepo, "refs/heads/cmc-exam", sha('a'), false)
	f.deliver("push", "d1", body)
	f.deliver("push", "d1", body)
	f.deliver("push", "d2", pushBody(t, adaRepo, "refs/heads/other", sha('b'), false))
	if got := strings.Join(heard, " "); got != "ada:a" {
		t.Errorf("Queued heard %q, want one push: ada:a", got)
	}
	if h.Draining() {
		t.Error("draining before Drain")
	}
	h.Drain()
	if code, text := f.deliver("push", "d3", pushBody(t, adaRepo, "refs/heads/cmc-exam", sha('c'), false)); code != http.StatusServiceUnavailable {
		t.Errorf("a push while draining: %d %s", code, text)
	}
	if got := f.pushes(); got != "ada:a:queued" {
		t.Errorf("queue after a delivery while draining: %s", got)
	}
	if ds, _ := f.st.Deliveries(context.Background()); len(ds) != 2 {
		t.Errorf("%d deliveries recorded, want 2 (none while draining)", len(ds))
	}
}
