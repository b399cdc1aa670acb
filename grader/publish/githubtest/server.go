package githubtest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v66/github"
)

// apiPrefix is where the API is served, as on a GitHub Enterprise server.
const apiPrefix = "/api/v3"

// Failure is a kind of failing answer the server can be told to give.
type Failure string

// The failing answers.
const (
	// SecondaryLimit: 403 with GitHub's secondary rate limit message and
	// Retry-After: 1.
	SecondaryLimit Failure = "403"
	// TooMany: 429 with Retry-After: 1.
	TooMany Failure = "429"
	// BadGateway: 502, as GitHub's front end gives at times.
	BadGateway Failure = "502"
	// PrimaryLimit: 403 with X-RateLimit-Remaining: 0 and a reset one
	// second ahead.
	PrimaryLimit Failure = "ratelimit"
)

// ParseFailure reads a Failure's name: 403, 429, 502 or ratelimit.
func ParseFailure(s string) (Failure, error) {
	switch f := Failure(s); f {
	case SecondaryLimit, TooMany, BadGateway, PrimaryLimit:
		return f, nil
	}
	return "", fmt.Errorf("unknown failure %q: want 403, 429, 502 or ratelimit", s)
}

// Options configure a Server. Zero values mean defaults.
type Options struct {
	// AppID is the App's id; default 4242.
	AppID int64
	// Token is the plain token the server accepts; default a random one.
	Token string
	// TokenTTL is how long an installation token lives; default an hour,
	// as on GitHub.
	TokenTTL time.Duration
	// InstallAll installs the App on every repository, under installation
	// 1; otherwise only on those given to Install.
	InstallAll bool
	// Fallback serves the paths outside the API (a git server); nil
	// answers them 404.
	Fallback http.Handler
	// Now is the server's clock, for JWTs and token expiry; nil for
	// time.Now.
	Now func() time.Time
}

// Call is one call the server received.
type Call struct {
	Method, Path, Query string
	// Auth is the Authorization header as sent.
	Auth string
	Body []byte
	// Status is the status answered; Error says why a call failed.
	Status int
	Error  string
}

// CheckRun is a check run as the server holds it.
type CheckRun struct {
	Repo string // OWNER/NAME
	github.CheckRun
}

// Status is a commit status as the server holds it.
type Status struct {
	Repo, SHA string
	github.RepoStatus
}

// Server is the stand-in. It is safe for concurrent use.
type Server struct {
	// AppID is the App's id, Key its private key and KeyPEM that key in
	// PEM, as GitHub hands it out; Token the plain token accepted.
	AppID  int64
	Key    *rsa.PrivateKey
	KeyPEM []byte
	Token  string

	url      string
	srv      *http.Server
	ttl      time.Duration
	all      bool
	fallback http.Handler
	now      func() time.Time

	mu        sync.Mutex
	calls     []Call
	fail      []Failure
	installed map[string]int64 // OWNER/NAME → installation
	tokens    map[string]issued
	runs      []*CheckRun
	statuses  []Status
}

type issued struct {
	installation int64
	expires      time.Time
}

// Start starts a server on 127.0.0.1 until Close.
func Start(o Options) (*Server, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	s := &Server{
		AppID: o.AppID, Key: key, Token: o.Token, ttl: o.TokenTTL, all: o.InstallAll, fallback: o.Fallback, now: o.Now,
		installed: map[string]int64{}, tokens: map[string]issued{},
		KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
	}
	if s.AppID == 0 {
		s.AppID = 4242
	}
	if s.Token == "" {
		s.Token = "ghp_" + randomHex(18)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ttl == 0 {
		s.ttl = time.Hour
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// URL is the server's base URL: repositories are at URL()/OWNER/NAME.
func (s *Server) URL() string { return s.url }

// APIURL is the API's base URL, as publish.Config.BaseURL wants it.
func (s *Server) APIURL() string { return s.url + apiPrefix + "/" }

// Host is the server's host and port.
func (s *Server) Host() string { return strings.TrimPrefix(s.url, "http://") }

// Install installs the App on repo (OWNER/NAME) as installation id.
func (s *Server) Install(repo string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installed[repo] = id
}

// Uninstall removes the App from repo (with InstallAll too).
func (s *Server) Uninstall(repo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installed[repo] = 0
}

// RevokeTokens revokes every installation token issued.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Fail answers the next n API calls with f, in place of the failures
// asked for before: Fail(0, f) ends them.
func (s *Server) Fail(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = nil
	for range n {
		s.fail = append(s.fail, f)
	}
}

// Calls returns the API calls received, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CheckRuns returns the check runs, as created and last updated.
func (s *Server) CheckRuns() []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	for _, r := range s.runs {
		out = append(out, *r)
	}
	return out
}

// Statuses returns the commit statuses set, in order.
func (s *Server) Statuses() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.statuses)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// apiError is a failed call: its status and GitHub's message.
type apiError struct {
	status  int
	message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.message) }

func fail(status int, format string, args ...any) *apiError {
	return &apiError{status, fmt.Sprintf(format, args...)}
}

// maxBody bounds a call's body.
const maxBody = 1 << 20

var (
	reInstallation = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/installation$`)
	reAccessTokens = regexp.MustCompile(`^/app/installations/([0-9]+)/access_tokens$`)
	reCheckRuns    = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/check-runs$`)
	reCheckRun     = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/check-runs/([0-9]+)$`)
	reRefRuns      = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/commits/([^/]+)/check-runs$`)
	reStatus       = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/statuses/([^/]+)$`)
)

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !ok {
		if s.fallback != nil {
			s.fallback.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	call := Call{Method: r.Method, Path: path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), Body: body}
	var out any
	status := http.StatusOK
	var aerr *apiError
	switch {
	case err != nil:
		aerr = fail(http.StatusBadRequest, "read the body: %v", err)
	case len(body) > maxBody:
		aerr = fail(http.StatusRequestEntityTooLarge, "body over %d bytes", maxBody)
	default:
		if f, ok := s.nextFailure(); ok {
			s.answerFailure(w, f, &call)
			s.record(call)
			return
		}
		status, out, aerr = s.route(r.Method, path, call.Auth, body)
	}
	if aerr != nil {
		call.Status, call.Error = aerr.status, aerr.message
		s.record(call)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(aerr.status)
		json.NewEncoder(w).Encode(map[string]string{"message": aerr.message, "documentation_url": "https://docs.github.com/rest"})
		return
	}
	call.Status = status
	s.record(call)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(out)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func (s *Server) nextFailure() (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fail) == 0 {
		return "", false
	}
	f := s.fail[0]
	s.fail = s.fail[1:]
	return f, true
}

func (s *Server) answerFailure(w http.ResponseWriter, f Failure, call *Call) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	msg := map[string]string{"documentation_url": "https://docs.github.com/rest"}
	switch f {
	case SecondaryLimit:
		call.Status = http.StatusForbidden
		h.Set("Retry-After", "1")
		msg["message"] = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
		msg["documentation_url"] = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	case TooMany:
		call.Status = http.StatusTooManyRequests
		h.Set("Retry-After", "1")
		msg["message"] = "Too many requests"
	case PrimaryLimit:
		call.Status = http.StatusForbidden
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(s.now().Add(time.Second).Unix(), 10))
		msg["message"] = "API rate limit exceeded"
	default:
		call.Status = http.StatusBadGateway
		msg["message"] = "Server Error"
	}
	call.Error = msg["message"]
	w.WriteHeader(call.Status)
	json.NewEncoder(w).Encode(msg)
}

func (s *Server) route(method, path, auth string, body []byte) (int, any, *apiError) {
	var m []string
	match := func(re *regexp.Regexp, want string) bool {
		m = re.FindStringSubmatch(path)
		return m != nil && method == want
	}
	switch {
	case match(reInstallation, http.MethodGet):
		if err := s.checkJWT(auth); err != nil {
			return 0, nil, err
		}
		return s.findInstallation(m[1] + "/" + m[2])
	case match(reAccessTokens, http.MethodPost):
		if err := s.checkJWT(auth); err != nil {
			return 0, nil, err
		}
		return s.accessToken(m[1], body)
	case match(reCheckRuns, http.MethodPost):
		if err := s.checkToken(auth, m[1]+"/"+m[2], true); err != nil {
			return 0, nil, err
		}
		return s.createCheckRun(m[1]+"/"+m[2], body)
	case match(reCheckRun, http.MethodPatch):
		if err := s.checkToken(auth, m[1]+"/"+m[2], true); err != nil {
			return 0, nil, err
		}
		return s.updateCheckRun(m[1]+"/"+m[2], m[3], body)
	case match(reRefRuns, http.MethodGet):
		if err := s.checkToken(auth, m[1]+"/"+m[2], false); err != nil {
			return 0, nil, err
		}
		return s.listCheckRuns(m[1]+"/"+m[2], m[3])
	case match(reStatus, http.MethodPost):
		if err := s.checkToken(auth, m[1]+"/"+m[2], false); err != nil {
			return 0, nil, err
		}
		return s.createStatus(m[1]+"/"+m[2], m[3], body)
	}
	return 0, nil, fail(http.StatusNotFound, "Not Found")
}

// checkJWT checks an App's JWT: RS256, signed by the App's key, issued by
// the App, alive, and living at most 10 minutes.
func (s *Server) checkJWT(auth string) *apiError {
	raw, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return fail(http.StatusUnauthorized, "A JSON web token could not be decoded: want Authorization: Bearer JWT")
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return &s.Key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(90*time.Second), jwt.WithTimeFunc(s.now))
	if err != nil {
		return fail(http.StatusUnauthorized, "A JSON web token could not be decoded: %v", err)
	}
	switch {
	case claims.Issuer != strconv.FormatInt(s.AppID, 10):
		return fail(http.StatusUnauthorized, "'Issuer' claim ('iss') must be the App's id")
	case claims.IssuedAt == nil:
		return fail(http.StatusUnauthorized, "'Issued at' claim ('iat') is required")
	case claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 10*time.Minute:
		return fail(http.StatusUnauthorized, "'Expiration time' claim ('exp') is too far in the future")
	}
	return nil
}

// checkToken checks a token for a repository's endpoint: an installation
// token alive and covering repo, or the plain token unless app (check
// runs need an App).
func (s *Server) checkToken(auth, repo string, app bool) *apiError {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(auth, "token ")
	}
	if !ok || tok == "" {
		return fail(http.StatusUnauthorized, "Requires authentication")
	}
	if tok == s.Token {
		if app {
			return fail(http.StatusForbidden, "You must authenticate via a GitHub App.")
		}
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.tokens[tok]
	switch {
	case !ok:
		return fail(http.StatusUnauthorized, "Bad credentials")
	case s.now().After(it.expires):
		return fail(http.StatusUnauthorized, "Bad credentials: the token expired")
	case s.installationOf(repo) != it.installation:
		return fail(http.StatusNotFound, "Not Found")
	}
	return nil
}

// installationOf is repo's installation, 0 for none; s.mu is held.
func (s *Server) installationOf(repo string) int64 {
	if id, ok := s.installed[repo]; ok {
		return id
	}
	if s.all {
		return 1
	}
	return 0
}

func (s *Server) findInstallation(repo string) (int, any, *apiError) {
	s.mu.Lock()
	id := s.installationOf(repo)
	s.mu.Unlock()
	if id == 0 {
		return 0, nil, fail(http.StatusNotFound, "Not Found")
	}
	return http.StatusOK, &github.Installation{ID: github.Int64(id), AppID: github.Int64(s.AppID)}, nil
}

func (s *Server) accessToken(idText string, body []byte) (int, any, *apiError) {
	id, _ := strconv.ParseInt(idText, 10, 64)
	if len(bytes.TrimSpace(body)) > 0 {
		var o github.InstallationTokenOptions
		if err := decode(body, &o); err != nil {
			return 0, nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	known := s.all && id == 1
	for _, v := range s.installed {
		known = known || (v == id && id != 0)
	}
	if !known {
		return 0, nil, fail(http.StatusNotFound, "Not Found")
	}
	tok := "ghs_" + randomHex(18)
	exp := s.now().Add(s.ttl).Truncate(time.Second)
	s.tokens[tok] = issued{installation: id, expires: exp}
	return http.StatusCreated, &github.InstallationToken{Token: github.String(tok), ExpiresAt: &github.Timestamp{Time: exp}}, nil
}

// decode decodes body into v as GitHub would read it: one JSON object,
// no field v does not know.
func decode(body []byte, v any) *apiError {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fail(http.StatusUnprocessableEntity, "Invalid request: %v", err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return fail(http.StatusUnprocessableEntity, "Invalid request: data after the JSON object")
	}
	return nil
}
