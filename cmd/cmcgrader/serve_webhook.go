package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/grader/webhook"
)

// webhookSecretEnv names the environment variable that may hold the
// webhook's secret, instead of a file.
const webhookSecretEnv = "CMCGRADER_WEBHOOK_SECRET"

// probeTimeout bounds a readiness check.
const probeTimeout = 2 * time.Second

// probes answers /healthz (the process answers) and /readyz (intake is
// on, the store takes writes and, when pushes are graded, the sandbox
// engine answers), to anyone: they say ok or not, and nothing of the
// cohort.
type probes struct {
	store    *store.Store
	engine   func(context.Context) error // nil: not grading
	draining atomic.Bool
}

// drain makes /readyz answer not ready from now on: serve is stopping.
func (p *probes) drain() { p.draining.Store(true) }

// handler serves the probes beside next; /webhook goes to webhook when it
// is not nil.
func (p *probes) handler(next http.Handler, webhook *webhook.Handler) http.Handler {
	mux := http.NewServeMux()
	plain := func(w http.ResponseWriter, status int, text string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		io.WriteString(w, text+"\n")
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { plain(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if p.draining.Load() {
			plain(w, http.StatusServiceUnavailable, "not ready: stopping")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
		defer cancel()
		if err := p.store.Writable(ctx); err != nil {
			if !errors.Is(err, context.Canceled) {
				plain(w, http.StatusServiceUnavailable, "not ready: the store takes no writes")
			}
			return
		}
		if p.engine != nil {
			if err := p.engine(ctx); err != nil {
				if !errors.Is(err, context.Canceled) {
					plain(w, http.StatusServiceUnavailable, "not ready: the sandbox engine does not answer")
				}
				return
			}
		}
		plain(w, http.StatusOK, "ready")
	})
	if webhook != nil {
		mux.Handle("/webhook", webhook)
	}
	mux.Handle("/", next)
	return mux
}
