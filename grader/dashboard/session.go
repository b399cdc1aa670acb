package dashboard

import (
	"crypto/rand"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The cookies of the dashboard: the session's id, and the login form's
// token against forged logins.
const (
	sessionCookie = "cmcgrader_session"
	loginCookie   = "cmcgrader_login"
)

// session is a proctor's login. Its id is in their cookie; the token they
// logged in with is kept nowhere.
type session struct {
	proctor string
	// added is when the proctor was added: a proctor removed and added
	// again under the same name does not inherit the old sessions.
	added time.Time
	// csrf is the token every form of the session carries.
	csrf             string
	created, lastUse time.Time
}

// checkCSRF says whether a form's token is the session's.
func (s *session) checkCSRF(token string) bool { return equal(token, s.csrf) }

// sessions are the open sessions, by id.
type sessions struct {
	ttl, idle time.Duration
	max       int

	mu   sync.Mutex
	byID map[string]*session
}

func newSessions(ttl, idle time.Duration, max int) *sessions {
	return &sessions{ttl: ttl, idle: idle, max: max, byID: map[string]*session{}}
}

// open starts a session for proctor and returns its id.
func (ss *sessions) open(proctor string, added, now time.Time) (string, *session) {
	id := rand.Text()
	s := &session{proctor: proctor, added: added, csrf: rand.Text(), created: now, lastUse: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, o := range ss.byID {
		if ss.expired(o, now) {
			delete(ss.byID, k)
		}
	}
	for len(ss.byID) >= ss.max {
		var oldest string
		for k, o := range ss.byID {
			if oldest == "" || o.created.Before(ss.byID[oldest].created) {
				oldest = k
			}
		}
		delete(ss.byID, oldest)
	}
	ss.byID[id] = s
	return id, s
}

// get returns the open session of id, nil if there is none.
func (ss *sessions) get(id string, now time.Time) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[id]
	if s == nil {
		return nil
	}
	if ss.expired(s, now) {
		delete(ss.byID, id)
		return nil
	}
	s.lastUse = now
	return s
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	delete(ss.byID, id)
	ss.mu.Unlock()
}

func (ss *sessions) expired(s *session, now time.Time) bool {
	return now.Sub(s.created) >= ss.ttl || now.Sub(s.lastUse) >= ss.idle
}

// cookie is a cookie of the dashboard: not for scripts, never sent along
// a request from another site, and only over TLS when the request came
// over TLS.
func cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	}
}

// loginPage shows the login form, with a token of its own against a login
// forged by another site.
func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	d.showLogin(w, r, http.StatusOK, "")
}

func (d *Dashboard) showLogin(w http.ResponseWriter, r *http.Request, status int, problem string) {
	token := rand.Text()
	http.SetCookie(w, cookie(r, loginCookie, token, 600))
	d.render(w, r, status, "login", page{Title: "Log in", CSRF: token, Data: problem})
}

// login exchanges a proctor's token for a session.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if err := d.origin.Check(r); err != nil {
		d.fail(w, r, http.StatusForbidden, "This login came from another site, and was refused.")
		return
	}
	if err := r.ParseForm(); err != nil {
		d.formFailed(w, r, err)
		return
	}
	ck, err := r.Cookie(loginCookie)
	if err != nil || !equal(r.PostFormValue("csrf"), ck.Value) {
		d.showLogin(w, r, http.StatusForbidden, "The login form was out of date. Give your token again.")
		return
	}
	name, ok, err := d.st.CheckToken(r.Context(), strings.TrimSpace(r.PostFormValue("token")))
	if err != nil {
		d.log.WithError(err).Warn("check a proctor's token")
		d.fail(w, r, http.StatusInternalServerError, "The store could not be read.")
		return
	}
	if !ok {
		d.showLogin(w, r, http.StatusUnauthorized, "That token is not a proctor's.")
		return
	}
	var added time.Time
	ps, err := d.st.Proctors(r.Context())
	if err != nil {
		d.log.WithError(err).Warn("list proctors")
		d.fail(w, r, http.StatusInternalServerError, "The store could not be read.")
		return
	}
	for _, p := range ps {
		if p.Name == name {
			added = p.Added
		}
	}
	id, _ := d.sessions.open(name, added, d.now())
	http.SetCookie(w, cookie(r, loginCookie, "", -1))
	http.SetCookie(w, cookie(r, sessionCookie, id, int(d.sessions.ttl/time.Second)))
	d.log.WithField("proctor", name).Info("proctor logged in")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the caller's session.
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		d.sessions.remove(ck.Value)
	}
	http.SetCookie(w, cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
