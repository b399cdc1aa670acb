package dashboard

import (
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"embed"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/grader/store"
)

// Config says what a dashboard serves. Store is required; the zero value
// of every other field is a sensible default.
type Config struct {
	// Store is the cohort's results store.
	Store *store.Store
	// SignKey signs a reviewed report again when the report reviewed was
	// signed, after checking that it verifies with this key. Without
	// it, a signed report cannot be reviewed (its decision would not be
	// signed); an unsigned report is reviewed and stays unsigned.
	SignKey ed25519.PrivateKey
	// Log receives a line per decision and per failure to serve a
	// page; nil logs nothing.
	Log *logrus.Entry
	// SessionTTL is how long a login lasts (default 12 hours); a session
	// also ends after an hour without a request.
	SessionTTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Limits of requests and sessions.
const (
	// maxFormBytes bounds the body of a POST.
	maxFormBytes = 16 << 10
	// maxReasonBytes bounds a review's reason.
	maxReasonBytes = 2000
	// idleTimeout ends a session without requests.
	idleTimeout = time.Hour
	// maxSessions bounds the sessions kept; the oldest goes first.
	maxSessions = 1000
)

// Dashboard is the proctor dashboard, an http.Handler. It is safe for
// concurrent use.
type Dashboard struct {
	st       *store.Store
	key      ed25519.PrivateKey
	log      *logrus.Entry
	now      func() time.Time
	sessions *sessions
	origin   *http.CrossOriginProtection
	handler  http.Handler
}

//go:embed static
var static embed.FS

// New returns the dashboard of cfg.Store.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Store == nil {
		return nil, errors.New("dashboard: no store")
	}
	d := &Dashboard{st: cfg.Store, key: cfg.SignKey, log: cfg.Log, now: cfg.Now, origin: http.NewCrossOriginProtection()}
	if d.log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		d.log = logrus.NewEntry(l)
	}
	if d.now == nil {
		d.now = time.Now
	}
	ttl := cfg.SessionTTL
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	d.sessions = newSessions(ttl, idleTimeout, maxSessions)

	// What a proctor may see or do: behind the token.
	private := http.NewServeMux()
	private.HandleFunc("GET /{$}", d.cohortPage)
	private.HandleFunc("GET /candidate", d.candidatePage)
	private.HandleFunc("GET /queue", d.queuePage)
	private.HandleFunc("GET /audit", d.auditPage)
	private.HandleFunc("GET /analysis", d.analysisPage)
	private.HandleFunc("POST /review", d.review)
	private.HandleFunc("POST /logout", d.logout)

	// What anyone may reach: the login form and the style sheet, which
	// hold no data. Everything else needs a token, even to learn that
	// a page does not exist.
	public := http.NewServeMux()
	public.Handle("GET /static/", http.FileServerFS(static))
	public.HandleFunc("GET /login", d.loginPage)
	public.HandleFunc("POST /login", d.login)
	public.Handle("/", d.authenticated(private))
	d.handler = headers(public)
	return d, nil
}

// ServeHTTP serves the dashboard.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.handler.ServeHTTP(w, r)
}

// Server returns an http.Server for h on addr with timeouts that a slow or
// idle client cannot hold open forever, and a bound on request headers.
func Server(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// contentSecurityPolicy allows the dashboard's own style sheet, images
// inlined as data, and forms posted to itself: no script, no frame, no
// resource from elsewhere.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// headers sets the security headers of every response, and bounds the
// body of every request.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		next.ServeHTTP(w, r)
	})
}

// proctorKey is the context key of the proctor a request acts for.
type proctorKey struct{}

// caller is who makes a request: a proctor, through a session or a
// bearer token.
type caller struct {
	Proctor string
	// Session is nil for a bearer token.
	Session *session
}

// callerOf returns the caller of an authenticated request.
func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(proctorKey{}).(caller)
	return c
}

// authenticated serves next only to a proctor: one whose bearer token the
// store holds, or whose session is open. Any other request gets 401 and
// no data. A POST must also pass the checks against cross-site forgery.
func (d *Dashboard) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := d.caller(r)
		if !ok {
			d.unauthorized(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := d.origin.Check(r); err != nil {
				d.fail(w, r, http.StatusForbidden, "This request came from another site, and was refused.")
				return
			}
			if err := r.ParseForm(); err != nil {
				d.formFailed(w, r, err)
				return
			}
			if c.Session != nil && !c.Session.checkCSRF(r.PostFormValue("csrf")) {
				d.fail(w, r, http.StatusForbidden, "This form is out of date or was not sent by this dashboard. Open the page again and resend it.")
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), proctorKey{}, c)))
	})
}

// caller finds who makes the request. An Authorization header decides
// alone: a wrong token is refused even with a session cookie.
func (d *Dashboard) caller(r *http.Request) (caller, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return caller{}, false
		}
		name, ok, err := d.st.CheckToken(r.Context(), strings.TrimSpace(token))
		if err != nil {
			d.log.WithError(err).Warn("check a proctor's token")
			return caller{}, false
		}
		return caller{Proctor: name}, ok
	}
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return caller{}, false
	}
	s := d.sessions.get(ck.Value, d.now())
	if s == nil {
		return caller{}, false
	}
	// A proctor removed from the store is logged out at once.
	if !d.proctorExists(r.Context(), s.proctor, s.added) {
		d.sessions.remove(ck.Value)
		return caller{}, false
	}
	return caller{Proctor: s.proctor, Session: s}, true
}

// proctorExists says the store still holds the proctor, as added at added.
func (d *Dashboard) proctorExists(ctx context.Context, name string, added time.Time) bool {
	ps, err := d.st.Proctors(ctx)
	if err != nil {
		d.log.WithError(err).Warn("list proctors")
		return false
	}
	for _, p := range ps {
		if p.Name == name && p.Added.Equal(added) {
			return true
		}
	}
	return false
}

// unauthorized answers a request without a valid token: 401, and a page
// that says where to log in, with no data.
func (d *Dashboard) unauthorized(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="cmcgrader"`)
	d.render(w, r, http.StatusUnauthorized, "unauthorized", page{Title: "Log in"})
}

// equal compares two secrets in constant time.
func equal(a, b string) bool {
	return len(a) > 0 && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// formFailed answers a form that could not be read: too large, or
// malformed.
func (d *Dashboard) formFailed(w http.ResponseWriter, r *http.Request, err error) {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		d.fail(w, r, http.StatusRequestEntityTooLarge, "The form is too large.")
		return
	}
	d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
}
