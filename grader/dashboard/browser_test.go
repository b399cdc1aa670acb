package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cmcgrader/cmcgrader/grader/report"
)

// browsers are the programs tried, Debian's first.
var browsers = []string{"chromium", "chromium-browser", "google-chrome"}

// screenshots is where the browser test saves what it saw, from the
// repository's root.
const screenshots = "build/dashboard"

// TestDashboardBrowser drives the dashboard as a proctor does, in a real
// headless Chromium: the pages refuse a visitor without a token, the login
// form opens a session, the cohort table and a candidate's page show the
// store, and accepting a held task through its form changes the verdict.
// It saves a screenshot of each page under build/dashboard.
//
// It needs Chromium (Debian's chromium package; .ci/run installs it) and
// fails without it: the dashboard is tested in a browser or not at all.
func TestDashboardBrowser(t *testing.T) {
	var browser string
	for _, b := range browsers {
		if p, err := exec.LookPath(b); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Fatalf("no Chromium found (looked for %s): the dashboard's browser test needs it; install Debian's package: apt-get install chromium (.ci/run does when it is missing)",
			strings.Join(browsers, ", "))
	}
	e := newEnv(t, testKey)
	srv := httptest.NewServer(e.d)
	defer srv.Close()
	shots := filepath.Join("..", "..", screenshots)
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		// Chromium's sandbox does not run as root (a CI container).
		opts = append(opts, chromedp.NoSandbox)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	defer cancelBrowser()

	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	count := func(sel string) int {
		t.Helper()
		nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(sel)))
		if err != nil {
			t.Fatalf("nodes %s: %v", sel, err)
		}
		return len(nodes)
	}

	// A visitor without a token gets 401 and the way to log in.
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(srv.URL+"/"))
	if err != nil {
		t.Fatalf("open the dashboard in %s: %v", browser, err)
	}
	if res.Status != http.StatusUnauthorized || !strings.Contains(text("main"), "Log in first") {
		t.Fatalf("GET / without a token: %d %q", res.Status, text("main"))
	}
	shot("01-unauthorized")

	// Log in through the form.
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), e.token),
	)
	if err != nil {
		t.Fatal(err)
	}
	shot("02-login")
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form.login button`))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("cohort"))); err != nil {
		t.Fatal(err)
	}
	if n := count(`#cohort tbody tr[data-candidate]`); n != len(testCohort) {
		t.Errorf("the cohort table has %d rows, want %d", n, len(testCohort))
	}
	if who := text("form.logout span"); who != "ada" {
		t.Errorf("logged in as %q, want ada", who)
	}
	shot("03-cohort")

	// Filtered on the server: INCOMPLETE leaves the two held candidates.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?verdict=INCOMPLETE")); err != nil {
		t.Fatal(err)
	}
	if n := count(`#cohort tbody tr[data-candidate]`); n != 2 {
		t.Errorf("INCOMPLETE: %d rows, want 2", n)
	}

	// The held candidate's page, reached from the table.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`tr[data-candidate="c02"] a`))); err != nil {
		t.Fatal(err)
	}
	if v := text("#verdict"); v != string(report.Incomplete) {
		t.Errorf("c02's verdict: %q, want INCOMPLETE", v)
	}
	if n := count(`tr.hold form.review`); n != 1 {
		t.Errorf("c02's page has %d review forms, want 1", n)
	}
	shot("04-candidate-held")

	// Accept the held task through the form: the verdict changes.
	err = chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`tr.hold textarea[name="reason"]`), "The init function only sets a default; nothing reaches the output."))
	if err != nil {
		t.Fatal(err)
	}
	res, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`tr.hold button.accept`)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK || !strings.Contains(res.URL, "/candidate?id=c02") {
		t.Fatalf("after accept: %d %s", res.Status, res.URL)
	}
	if v := text("#verdict"); v != string(report.Pass) {
		t.Errorf("c02's verdict after accept: %q, want PASS", v)
	}
	shot("05-candidate-accepted")
	st, entries := e.state("c02")
	if st.Report.Verdict != report.Pass || len(entries) != 1 || entries[0].Proctor != "ada" {
		t.Errorf("the store after accept: %s, audit %+v", st.Report.Verdict, entries)
	}

	// The queue keeps the other held task, and shows the hostile id as
	// text, not a script that ran; the audit log shows the decision; the
	// analysis draws its histograms.
	for _, p := range []struct {
		path, sel, name string
		check           func()
	}{
		{"/queue", "#queue", "06-queue", func() {
			if n := count(`#queue form.review`); n != 1 {
				t.Errorf("the queue has %d review forms after one accept, want 1", n)
			}
			if !strings.Contains(text("#queue"), "<script>alert(1)</script>") {
				t.Error("the queue does not show the hostile candidate id as text")
			}
		}},
		{"/audit", "#audit", "07-audit", func() {
			if !strings.Contains(text("#audit"), "nothing reaches the output") {
				t.Error("the audit log does not show the decision")
			}
		}},
		{"/analysis", "svg", "08-analysis", func() {
			if n := count(`svg rect.bar`); n == 0 {
				t.Error("the analysis has no histogram")
			}
		}},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel))); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		p.check()
		shot(p.name)
	}
}
