package dashboard

import (
	"context"
	"crypto/ed25519"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/store"
)

// env is a dashboard over the test cohort, with a proctor "ada".
type env struct {
	t     *testing.T
	st    *store.Store
	d     *Dashboard
	token string
}

func newEnv(t *testing.T, key ed25519.PrivateKey) *env {
	t.Helper()
	st := newStore(t, testCohort)
	token, err := st.AddProctor(context.Background(), "ada")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Store: st, SignKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, st: st, d: d, token: token}
}

// do serves one request and returns the response and its body.
func (e *env) do(req *http.Request) (*http.Response, string) {
	e.t.Helper()
	w := httptest.NewRecorder()
	e.d.ServeHTTP(w, req)
	res := w.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// get requests path with the bearer token.
func (e *env) get(path string) (*http.Response, string) {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	return e.do(req)
}

// post makes a form POST from the dashboard's own pages.
func post(path string, form url.Values) *http.Request {
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", "http://example.com")
	return req
}

// login logs in through the form and returns the session cookie and the
// session's CSRF token.
func (e *env) login() (*http.Cookie, string) {
	e.t.Helper()
	res, body := e.do(httptest.NewRequest("GET", "/login", nil))
	loginCk := cookieNamed(res, loginCookie)
	if res.StatusCode != 200 || loginCk == nil {
		e.t.Fatalf("GET /login: %s, login cookie %v", res.Status, loginCk)
	}
	req := post("/login", url.Values{"csrf": {hiddenCSRF(e.t, body)}, "token": {e.token}})
	req.AddCookie(loginCk)
	res, body = e.do(req)
	ck := cookieNamed(res, sessionCookie)
	if res.StatusCode != http.StatusSeeOther || ck == nil {
		e.t.Fatalf("POST /login: %s, session cookie %v\n%s", res.Status, ck, body)
	}
	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(ck)
	res, body = e.do(req)
	if res.StatusCode != 200 {
		e.t.Fatalf("GET / after login: %s", res.Status)
	}
	return ck, hiddenCSRF(e.t, body)
}

func cookieNamed(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name && c.MaxAge >= 0 {
			return c
		}
	}
	return nil
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func hiddenCSRF(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in the page:\n%s", body)
	}
	return m[1]
}

// routes are every page and action of the dashboard, and a path that is
// none.
var routes = []struct{ method, path string }{
	{"GET", "/"}, {"GET", "/?verdict=PASS"}, {"GET", "/candidate?id=c01"}, {"GET", "/queue"},
	{"GET", "/audit"}, {"GET", "/analysis"}, {"POST", "/review"}, {"POST", "/logout"},
	{"GET", "/no-such-page"}, {"HEAD", "/"},
}

// TestDashboardUnauthorized: without a valid token, every route answers
// 401 and shows nothing of the cohort.
func TestDashboardUnauthorized(t *testing.T) {
	e := newEnv(t, testKey)
	for _, rt := range routes {
		for _, how := range []string{"none", "wrong bearer", "basic", "unknown session", "token as cookie"} {
			req := httptest.NewRequest(rt.method, rt.path, strings.NewReader("candidate=c02&task=server-1&decision=accept&reason=x"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			switch how {
			case "wrong bearer":
				req.Header.Set("Authorization", "Bearer "+strings.Repeat("A", len(e.token)))
			case "basic":
				req.Header.Set("Authorization", "Basic "+e.token)
			case "unknown session":
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
			case "token as cookie":
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.token})
			}
			res, body := e.do(req)
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s (%s): %s, want 401", rt.method, rt.path, how, res.Status)
			}
			for _, leak := range []string{"c01", "c02", "PASS", "INCOMPLETE", "server-1", "alert"} {
				if strings.Contains(body, leak) {
					t.Errorf("%s %s (%s): the 401 page shows %q", rt.method, rt.path, how, leak)
				}
			}
		}
	}
	if _, entries := e.state("c02"); len(entries) != 0 {
		t.Errorf("unauthorized requests left audit entries: %v", entries)
	}
	// With the token, the same routes answer.
	for _, rt := range routes[:6] {
		if res, _ := e.get(rt.path); res.StatusCode != 200 {
			t.Errorf("GET %s with the token: %s", rt.path, res.Status)
		}
	}
	if res, _ := e.get("/no-such-page"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /no-such-page with the token: %s, want 404", res.Status)
	}
}

// TestDashboardHeaders: every response carries the security headers,
// whatever its status.
func TestDashboardHeaders(t *testing.T) {
	e := newEnv(t, testKey)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"X-Frame-Options":         "DENY",
	}
	check := func(what string, res *http.Response) {
		t.Helper()
		for k, v := range want {
			if got := res.Header.Get(k); !strings.HasPrefix(got, v) {
				t.Errorf("%s (%s): %s: %q, want %q", what, res.Status, k, got, v)
			}
		}
	}
	for _, rt := range routes {
		res, _ := e.do(httptest.NewRequest(rt.method, rt.path, nil))
		check(rt.method+" "+rt.path+" without token", res)
		req := httptest.NewRequest(rt.method, rt.path, nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		res, _ = e.do(req)
		check(rt.method+" "+rt.path+" with token", res)
	}
	for _, p := range []string{"/login", "/static/style.css"} {
		res, _ := e.do(httptest.NewRequest("GET", p, nil))
		if res.StatusCode != 200 {
			t.Errorf("GET %s: %s", p, res.Status)
		}
		check("GET "+p, res)
	}
}

// TestDashboardLogin: the login form exchanges the token for a session
// whose cookie holds a random id, never the token.
func TestDashboardLogin(t *testing.T) {
	e := newEnv(t, testKey)
	ck, _ := e.login()
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure {
		t.Errorf("session cookie: HttpOnly %v, SameSite %v, Secure %v over plain HTTP", ck.HttpOnly, ck.SameSite, ck.Secure)
	}
	if strings.Contains(ck.Value, e.token) || len(ck.Value) < 20 {
		t.Errorf("session cookie %q: not a random id", ck.Value)
	}

	// A wrong token opens no session.
	res, body := e.do(httptest.NewRequest("GET", "/login", nil))
	req := post("/login", url.Values{"csrf": {hiddenCSRF(t, body)}, "token": {"not-a-token"}})
	req.AddCookie(cookieNamed(res, loginCookie))
	if res, _ := e.do(req); res.StatusCode != http.StatusUnauthorized || cookieNamed(res, sessionCookie) != nil {
		t.Errorf("login with a wrong token: %s, session cookie %v", res.Status, cookieNamed(res, sessionCookie))
	}
	// A login without the form's token is refused: another site cannot
	// log a proctor in.
	req = post("/login", url.Values{"token": {e.token}})
	if res, _ := e.do(req); res.StatusCode != http.StatusForbidden || cookieNamed(res, sessionCookie) != nil {
		t.Errorf("login without the form's token: %s", res.Status)
	}
	req = post("/login", url.Values{"csrf": {"x"}, "token": {e.token}})
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res, _ := e.do(req); res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login: %s", res.Status)
	}

	// Logging out ends the session.
	req = post("/logout", url.Values{"csrf": {hiddenCSRF(t, e.page(ck, "/"))}})
	req.AddCookie(ck)
	if res, _ := e.do(req); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %s", res.Status)
	}
	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(ck)
	if res, _ := e.do(req); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET / after logout: %s", res.Status)
	}

	// Removing a proctor ends their sessions at once.
	ck, _ = e.login()
	if err := e.st.RemoveProctor(context.Background(), "ada"); err != nil {
		t.Fatal(err)
	}
	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(ck)
	if res, _ := e.do(req); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET / after the proctor was removed: %s", res.Status)
	}
}

// page GETs path in session ck and returns the body.
func (e *env) page(ck *http.Cookie, path string) string {
	e.t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.AddCookie(ck)
	res, body := e.do(req)
	if res.StatusCode != 200 {
		e.t.Fatalf("GET %s: %s", path, res.Status)
	}
	return body
}

// state returns the candidate's latest report and the audit log.
func (e *env) state(candidate string) (*store.Stored, []store.Entry) {
	e.t.Helper()
	ctx := context.Background()
	raw, sig, rep, err := e.st.Report(ctx, candidate)
	if err != nil {
		e.t.Fatal(err)
	}
	entries, err := e.st.AuditLog(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return &store.Stored{Raw: raw, Sig: sig, Report: rep}, entries
}

// reviewForm is the form of a decision on c02's held task.
func (e *env) reviewForm(csrf, decision string) url.Values {
	st, _ := e.state("c02")
	return url.Values{"csrf": {csrf}, "candidate": {"c02"}, "task": {"server-1"}, "digest": {digestOf(st.Raw)},
		"decision": {decision}, "reason": {"the init function only sets a flag; read it"}}
}

// TestDashboardCSRF: a decision without the session's token, with another
// one, or from another site is refused and changes nothing.
func TestDashboardCSRF(t *testing.T) {
	e := newEnv(t, testKey)
	ck, csrf := e.login()
	before, _ := e.state("c02")
	cases := map[string]func() *http.Request{
		"no token": func() *http.Request {
			f := e.reviewForm(csrf, "accept")
			f.Del("csrf")
			return post("/review", f)
		},
		"wrong token": func() *http.Request { return post("/review", e.reviewForm(csrf[1:]+"A", "accept")) },
		"empty token": func() *http.Request { return post("/review", e.reviewForm("", "accept")) },
		"token in the query only": func() *http.Request {
			f := e.reviewForm(csrf, "accept")
			f.Del("csrf")
			return post("/review?csrf="+url.QueryEscape(csrf), f)
		},
		"cross-site": func() *http.Request {
			r := post("/review", e.reviewForm(csrf, "accept"))
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return r
		},
		"other origin": func() *http.Request {
			r := post("/review", e.reviewForm(csrf, "accept"))
			r.Header.Del("Sec-Fetch-Site")
			r.Header.Set("Origin", "https://evil.example")
			return r
		},
	}
	for name, mk := range cases {
		req := mk()
		req.AddCookie(ck)
		if res, body := e.do(req); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %s, want 403\n%s", name, res.Status, body)
		}
	}
	after, entries := e.state("c02")
	if string(after.Raw) != string(before.Raw) || len(entries) != 0 {
		t.Errorf("a refused request changed the store: report changed %v, audit %v", string(after.Raw) != string(before.Raw), entries)
	}
	// A body over the limit is refused before it is read whole.
	f := e.reviewForm(csrf, "accept")
	f.Set("reason", strings.Repeat("x", maxFormBytes))
	req := post("/review", f)
	req.AddCookie(ck)
	if res, _ := e.do(req); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a large form: %s, want 413", res.Status)
	}
}

// TestDashboardReview: a decision taken through the form changes the
// verdict in the store, re-signs the report with the server's key, and
// records the proctor in the audit log.
func TestDashboardReview(t *testing.T) {
	e := newEnv(t, testKey)
	ck, csrf := e.login()
	before, _ := e.state("c02")
	if before.Report.Verdict != report.Incomplete || before.Sig == nil {
		t.Fatalf("fixture: c02 is %s, signed %v", before.Report.Verdict, before.Sig != nil)
	}
	req := post("/review", e.reviewForm(csrf, "accept"))
	req.AddCookie(ck)
	res, body := e.do(req)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/candidate?id=c02" {
		t.Fatalf("review: %s, Location %q\n%s", res.Status, res.Header.Get("Location"), body)
	}
	after, entries := e.state("c02")
	if after.Report.Verdict != report.Pass {
		t.Errorf("c02 after accept: %s, want PASS", after.Report.Verdict)
	}
	if _, err := report.VerifyReport(after.Raw, after.Sig, testKey.Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("the reviewed report does not verify with the server's key: %v", err)
	}
	if len(entries) != 1 || entries[0].Proctor != "ada" || entries[0].Action != "accept" || entries[0].Candidate != "c02" ||
		entries[0].Task != "server-1" || !strings.Contains(entries[0].Reason, "only sets a flag") {
		t.Errorf("audit log: %+v", entries)
	}
	if h := after.Report.Tasks[0].Hold; h == nil || h.Review == nil || h.Review.Decision != report.Accept {
		t.Errorf("the report does not record the decision: %+v", h)
	}
	// The pages show it: the table, the audit log.
	if body := e.page(ck, "/audit"); !strings.Contains(body, "only sets a flag") {
		t.Error("the audit page does not show the decision")
	}

	// The same form again is refused: the report it was read from is
	// no longer the latest.
	req = post("/review", url.Values{"csrf": {csrf}, "candidate": {"c02"}, "task": {"server-1"}, "digest": {digestOf(before.Raw)},
		"decision": {"reject"}, "reason": {"second thoughts"}})
	req.AddCookie(ck)
	if res, body := e.do(req); res.StatusCode != http.StatusConflict || !strings.Contains(body, "changed since you opened") {
		t.Errorf("a stale decision: %s\n%s", res.Status, body)
	}

	// A bearer client needs no form token; the unsigned hostile report
	// is rejected and stays unsigned.
	st, _ := e.state(hostile)
	req = post("/review", url.Values{"candidate": {hostile}, "task": {"server-1"}, "digest": {digestOf(st.Raw)},
		"decision": {"reject"}, "reason": {"forges its exit status"}, "back": {"queue"}})
	req.Header.Set("Authorization", "Bearer "+e.token)
	if res, body := e.do(req); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/queue" {
		t.Fatalf("bearer review: %s\n%s", res.Status, body)
	}
	after, entries = e.state(hostile)
	if after.Report.Verdict != report.Fail || after.Sig != nil || len(entries) != 2 {
		t.Errorf("hostile after reject: %s, signed %v, %d audit entries", after.Report.Verdict, after.Sig != nil, len(entries))
	}
	// A reason is required.
	f := e.reviewForm(csrf, "reject")
	f.Set("reason", "  ")
	req = post("/review", f)
	req.AddCookie(ck)
	if res, _ := e.do(req); res.StatusCode != http.StatusBadRequest {
		t.Errorf("no reason: %s, want 400", res.Status)
	}
}

// TestDashboardReviewSignedWithoutKey: a signed report is not reviewed by
// a dashboard that cannot sign the decision, nor with another key.
func TestDashboardReviewSignedWithoutKey(t *testing.T) {
	other := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	for name, key := range map[string]ed25519.PrivateKey{"no key": nil, "another key": other} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, key)
			ck, csrf := e.login()
			before, _ := e.state("c02")
			req := post("/review", e.reviewForm(csrf, "accept"))
			req.AddCookie(ck)
			res, body := e.do(req)
			if res.StatusCode != http.StatusConflict || !strings.Contains(body, "Not recorded") {
				t.Errorf("review: %s\n%s", res.Status, body)
			}
			after, entries := e.state("c02")
			if string(after.Raw) != string(before.Raw) || len(entries) != 0 {
				t.Error("the refused review changed the store")
			}
		})
	}
}

// TestDashboardEscaping: what a candidate wrote is text on every page,
// never markup, and its invisible characters show as escapes.
func TestDashboardEscaping(t *testing.T) {
	e := newEnv(t, testKey)
	for _, p := range []string{"/", "/candidate?id=" + url.QueryEscape(hostile), "/queue", "/analysis", "/audit"} {
		res, body := e.get(p)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %s", p, res.Status)
		}
		for _, bad := range []string{"<script", "<img", "\u202e"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: the page holds %q", p, bad)
			}
		}
		doc, err := html.Parse(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var walk func(*html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode {
				switch n.Data {
				case "script", "img", "iframe", "object", "embed", "base":
					t.Errorf("GET %s: a <%s> element", p, n.Data)
				}
				for _, a := range n.Attr {
					if strings.HasPrefix(a.Key, "on") || strings.Contains(strings.ToLower(a.Val), "javascript:") {
						t.Errorf("GET %s: attribute %s=%q", p, a.Key, a.Val)
					}
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(doc)
	}
	_, body := e.get("/candidate?id=" + url.QueryEscape(hostile))
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;x&#34;&#39;&amp;", "&lt;img src=x onerror=alert(2)&gt;", `x\u202egpj`} {
		if !strings.Contains(body, want) {
			t.Errorf("the candidate's page does not show %q as text", want)
		}
	}
}

// TestDashboardCohortTable: the table filters and sorts on the server.
func TestDashboardCohortTable(t *testing.T) {
	e := newEnv(t, testKey)
	rowsOf := func(q string) []string {
		t.Helper()
		res, body := e.get("/" + q)
		if res.StatusCode != 200 {
			t.Fatalf("GET /%s: %s", q, res.Status)
		}
		var ids []string
		for _, m := range regexp.MustCompile(`<tr data-candidate="([^"]*)"`).FindAllStringSubmatch(body, -1) {
			ids = append(ids, html.UnescapeString(m[1]))
		}
		return ids
	}
	for q, want := range map[string][]string{
		"":                            {"c01", "c02", "c03", hostile, "c05"},
		"?verdict=PASS":               {"c01"},
		"?verdict=INCOMPLETE":         {"c02", hostile},
		"?verdict=none":               {"c05"},
		"?flag=held":                  {"c02", hostile},
		"?flag=exit":                  {"c02", hostile},
		"?flag=test-file":             nil,
		"?verdict=FAIL&flag=held":     nil,
		"?sort=overall&desc=1":        {"c01", "c02", hostile, "c03", "c05"},
		"?sort=overall":               {"c05", "c03", "c01", "c02", hostile},
		"?sort=id&verdict=INCOMPLETE": {hostile, "c02"},
	} {
		if got := rowsOf(q); !slices.Equal(got, want) {
			t.Errorf("GET /%s: rows %q, want %q", q, got, want)
		}
	}
	for _, q := range []string{"?verdict=MAYBE", "?flag=%3Cb%3E", "?sort=name"} {
		if res, body := e.get("/" + q); res.StatusCode != http.StatusBadRequest || strings.Contains(body, "<b>") {
			t.Errorf("GET /%s: %s, want 400", q, res.Status)
		}
	}
}
