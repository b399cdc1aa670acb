// Package webhook takes GitHub's webhook deliveries for a cohort: it
// authenticates each by its signature, records it once by its delivery
// id, and queues a grading in the results store for every push to a
// roster candidate's exam branch. Grading the queue and publishing the
// results on the commit are other packages' jobs.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v66/github"
	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/internal/gitref"
)

// MaxBody is the largest delivery accepted: GitHub caps a webhook's
// payload at 25 MB and drops larger ones.
const MaxBody = 25 << 20

// Headers GitHub sets on every delivery.
const (
	headerSignature = "X-Hub-Signature-256"
	headerEvent     = "X-GitHub-Event"
	headerDelivery  = "X-GitHub-Delivery"
	signaturePrefix = "sha256="
)

// zeroSHA is the commit GitHub gives as "after" when a push deleted the
// branch.
var zeroSHA = strings.Repeat("0", 40)

// Config configures a Handler.
type Config struct {
	// Store is the cohort's results store: its roster says which pushes
	// to grade, its freeze when the deadline was; deliveries and pushes
	// are recorded in it.
	Store *store.Store
	// Secret is the webhook's shared secret, as set in GitHub. It must
	// not be empty.
	Secret []byte
	// Log receives a line per delivery; nil logs nothing. The secret
	// and the bodies are never logged.
	Log *logrus.Entry
	// Now is the clock (default time.Now): a push is on time when its
	// delivery is received by the freeze's time.
	Now func() time.Time
	// Queued, if set, hears of every push queued, once its delivery was
	// recorded, before the delivery is answered: it must return at once
	// (the grading service wakes its workers and publishes in the
	// background). ctx is the request's.
	Queued func(ctx context.Context, p store.Push)
}

// Handler is the http.Handler of GitHub's webhook deliveries. It is safe
// for concurrent use.
type Handler struct {
	st       *store.Store
	secret   []byte
	log      *logrus.Entry
	now      func() time.Time
	queued   func(context.Context, store.Push)
	draining atomic.Bool
}

// Drain stops intake: every delivery from then on is answered 503
// Service Unavailable, and recorded nowhere; GitHub shows it failed, to
// be redelivered once the service is back. It is for a shutdown.
func (h *Handler) Drain() { h.draining.Store(true) }

// Draining says Drain was called.
func (h *Handler) Draining() bool { return h.draining.Load() }

// New returns the handler of cfg.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("webhook: no store")
	case len(cfg.Secret) == 0:
		return nil, errors.New("webhook: no secret: a webhook without one would take anybody's deliveries")
	}
	h := &Handler{st: cfg.Store, secret: append([]byte(nil), cfg.Secret...), log: cfg.Log, now: cfg.Now, queued: cfg.Queued}
	if h.log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		h.log = logrus.NewEntry(l)
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// answer ends a request with a status and a one-line text.
func answer(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, text+"\n")
}

// ServeHTTP takes one delivery. Nothing is parsed or recorded before its
// signature is verified.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := h.now()
	if h.draining.Load() {
		w.Header().Set("Retry-After", "60")
		answer(w, http.StatusServiceUnavailable, "shutting down: redeliver later")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		answer(w, http.StatusMethodNotAllowed, "webhook deliveries are POSTed")
		return
	}
	sig, ok := parseSignature(r.Header.Get(headerSignature))
	if !ok {
		h.log.WithField("remote", r.RemoteAddr).Warn("webhook: a delivery without a valid signature header refused")
		answer(w, http.StatusUnauthorized, "missing or malformed "+headerSignature)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.log.WithField("remote", r.RemoteAddr).Warn("webhook: a delivery over 25 MB refused")
			answer(w, http.StatusRequestEntityTooLarge, "a delivery has at most 25 MB")
			return
		}
		answer(w, http.StatusBadRequest, "could not read the body")
		return
	}
	mac := hmac.New(sha256.New, h.secret)
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), sig) {
		h.log.WithField("remote", r.RemoteAddr).Warn("webhook: a delivery with a wrong signature refused")
		answer(w, http.StatusUnauthorized, "bad signature")
		return
	}

	// Authenticated from here on.
	event := r.Header.Get(headerEvent)
	delivery := r.Header.Get(headerDelivery)
	log := h.log.WithFields(logrus.Fields{"delivery": clip(delivery), "event": clip(event)})
	switch {
	case delivery == "" || len(delivery) > 128:
		answer(w, http.StatusBadRequest, "missing or overlong "+headerDelivery)
		return
	case event == "":
		answer(w, http.StatusBadRequest, "missing "+headerEvent)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		answer(w, http.StatusUnsupportedMediaType, "set the webhook's content type to application/json")
		return
	}
	if !json.Valid(body) {
		answer(w, http.StatusBadRequest, "malformed JSON")
		return
	}
	switch event {
	case "ping":
		log.Info("webhook: ping")
		answer(w, http.StatusOK, "pong")
		return
	case "push":
	default:
		log.Info("webhook: event ignored")
		answer(w, http.StatusAccepted, "event ignored: only pushes are graded")
		return
	}
	var push github.PushEvent
	if err := json.Unmarshal(body, &push); err != nil {
		answer(w, http.StatusBadRequest, "not a push event")
		return
	}

	ctx := r.Context()
	dup, err := h.st.RecordDelivery(ctx, delivery, event, received)
	if err != nil {
		h.failed(w, log, err)
		return
	}
	if dup {
		log.Info("webhook: duplicate delivery ignored")
		answer(w, http.StatusOK, "duplicate delivery")
		return
	}
	outcome, queued, err := h.push(ctx, log, &push, received)
	if err != nil {
		h.failed(w, log, err)
		return
	}
	if err := h.st.DeliveryOutcome(ctx, delivery, outcome); err != nil {
		h.failed(w, log, err)
		return
	}
	if h.queued != nil {
		for _, p := range queued {
			h.queued(ctx, p)
		}
	}
	answer(w, http.StatusAccepted, outcome)
}

// failed answers a delivery that could not be recorded: GitHub shows it
// as failed, and a redelivery is handled anew.
func (h *Handler) failed(w http.ResponseWriter, log *logrus.Entry, err error) {
	log.WithError(err).Error("webhook: delivery not recorded")
	answer(w, http.StatusInternalServerError, "the delivery could not be recorded; redeliver it")
}

// push queues a grading for every roster candidate whose exam branch the
// push updated, and says what came of it and which pushes it queued.
func (h *Handler) push(ctx context.Context, log *logrus.Entry, p *github.PushEvent, received time.Time) (string, []store.Push, error) {
	ref, after := p.GetRef(), strings.ToLower(p.GetAfter())
	repo := p.GetRepo()
	log = log.WithFields(logrus.Fields{"repo": clip(repo.GetHTMLURL()), "ref": clip(ref)})
	if p.GetDeleted() || after == zeroSHA {
		log.Info("webhook: push ignored: it deleted the branch")
		return "ignored: the branch was deleted", nil, nil
	}
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok || !gitref.IsBranch(branch) {
		log.Info("webhook: push ignored: not to a branch")
		return "ignored: not a push to a branch", nil, nil
	}
	if !gitref.IsCommit(after) {
		log.Info("webhook: push ignored: no head commit")
		return "ignored: no head commit", nil, nil
	}
	roster, err := h.st.Roster(ctx)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("webhook: push ignored: the store holds no roster")
		return "ignored: unknown repository", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	urls := map[string]bool{}
	for _, u := range []string{repo.GetCloneURL(), repo.GetHTMLURL(), repo.GetSSHURL(), repo.GetGitURL()} {
		if k := NormalizeRepo(u); k != "" {
			urls[k] = true
		}
	}
	known := false
	var queued, late []string
	var pushes []store.Push
	for _, c := range roster.Candidates {
		if !urls[NormalizeRepo(c.Repo)] {
			continue
		}
		known = true
		if c.Branch != branch {
			continue
		}
		q, err := h.st.QueuePush(ctx, c.ID, after, received)
		if err != nil {
			return "", nil, err
		}
		if q.State == store.PushLate {
			late = append(late, c.ID)
			log.WithField("candidate", c.ID).Warn("webhook: push after the deadline recorded, not graded")
		} else {
			queued = append(queued, c.ID)
			pushes = append(pushes, q)
			log.WithFields(logrus.Fields{"candidate": c.ID, "commit": after, "push": q.ID}).Info("webhook: push queued")
		}
	}
	switch {
	case !known:
		log.Info("webhook: push ignored: no roster candidate has this repository")
		return "ignored: unknown repository", nil, nil
	case len(queued) == 0 && len(late) == 0:
		log.Info("webhook: push ignored: not to an exam branch")
		return "ignored: not an exam branch", nil, nil
	case len(queued) == 0:
		return "recorded, not queued: received after the deadline", nil, nil
	}
	return "queued", pushes, nil
}

// parseSignature reads "sha256=<64 hex digits>".
func parseSignature(h string) ([]byte, bool) {
	hexSum, ok := strings.CutPrefix(h, signaturePrefix)
	if !ok || len(hexSum) != 2*sha256.Size {
		return nil, false
	}
	sum, err := hex.DecodeString(hexSum)
	return sum, err == nil
}

// Sign returns the X-Hub-Signature-256 value of body under secret, as
// GitHub computes it.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// NormalizeRepo returns the key a repository's address is compared by:
// host and path in lower case (GitHub's owner and repository names are
// not case-sensitive), without scheme, user, port, trailing slashes or
// ".git". Both URLs ("https://host/o/r.git")
// and scp-like addresses ("git@host:o/r.git") are read; "" when it is
// neither.
func NormalizeRepo(addr string) string {
	addr = strings.TrimSpace(addr)
	var host, path string
	if u, err := url.Parse(addr); err == nil && u.Scheme != "" && u.Host != "" {
		host, path = u.Hostname(), u.Path
	} else if at, rest, ok := strings.Cut(addr, "@"); ok && !strings.Contains(at, "/") {
		host, path, ok = strings.Cut(rest, ":")
		if !ok {
			return ""
		}
	} else {
		return ""
	}
	path = strings.Trim(path, "/")
	path = strings.TrimSuffix(path, ".git")
	path = strings.TrimRight(path, "/")
	if host == "" || path == "" {
		return ""
	}
	return strings.ToLower(host + "/" + path)
}

// clip bounds a header or payload value in a log line.
func clip(s string) string {
	if len(s) > 200 {
		return fmt.Sprintf("%.200s…", s)
	}
	return s
}
