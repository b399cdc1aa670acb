package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/grader/batch"
	"github.com/cmcgrader/cmcgrader/grader/dashboard"
	"github.com/cmcgrader/cmcgrader/grader/publish"
	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/grader/webhook"
)

type serveFlags struct {
	db, addr, signKey, tlsCert, tlsKey string
	webhookSecretFile                  string
	push                               pushFlags
	github                             githubFlags
}

// shutdownTimeout bounds how long serve waits for requests in flight
// when it stops.
const shutdownTimeout = 10 * time.Second

func (a *app) serveCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve --db FILE [--addr HOST:PORT] [--sign-key KEYFILE] [--webhook-secret-file F --bank DIR]",
		Short: "Serve the proctor dashboard of a results store",
		Long: `Serve serves the proctor dashboard of a cohort's results store: the cohort
table, each candidate's report, the review queue where a held task is
accepted or rejected, the audit log and the item analysis.

Every page needs a proctor's token (cmcgrader proctor add). A decision on a
signed report is signed again with --sign-key, the grader's key; without it,
signed reports can be read but not reviewed.

It listens on loopback by default. On any other address, give --tls-cert and
--tls-key, or put it behind a proxy that terminates TLS: tokens and session
cookies must not cross a network in clear. Interrupt (Ctrl-C) or SIGTERM
stops it once the requests in flight end.

With --webhook-secret-file (or $CMCGRADER_WEBHOOK_SECRET), it also takes
GitHub's webhook deliveries at /webhook, authenticated by their signature
with that secret rather than by a proctor's token: each push to a roster
candidate's exam branch is queued in the store. With --bank, workers
(--workers, 1 by default) grade the queue while serve runs: each push at
its commit, in the same sandboxes as cohort grade, its report kept as the
candidate's latest and signed with --sign-key. A newer push supersedes a
queued older one; a candidate is graded by one grader at a time, also
against a cohort grade on the same store; a push whose grading fails for a
reason that may pass (the engine down) is tried again, up to 3 times; one
that can never be graded ends failed, listed by cohort status.

With GitHub credentials (--github-app-id and its key, or --github-token-file
or $CMCGRADER_GITHUB_TOKEN), each push is shown on its commit: a check run
queued, in progress, then completed with the candidate's view of the result
(commit statuses with a token). A result GitHub keeps refusing waits in the
store for publish --pending. As an App, serve warns of the roster's
candidates whose repositories the App cannot see (as github check does).
/healthz and /readyz (the store takes writes, the engine answers) answer
anyone, with no data.

Interrupt or SIGTERM stops intake first (/webhook answers 503, /readyz is
not ready), lets the gradings under way finish within --grace, then
cancels them and queues their pushes again. The queue is in the store:
serve started again goes on with it, and a push whose grader was killed
is graded again once its lease (--lease) runs out.`,
		Example: `  cmcgrader proctor add ada --db cohort.db
  cmcgrader serve --db cohort.db --sign-key grader.key
  cmcgrader serve --db cohort.db --roster roster.csv --bank ./bank --sign-key grader.key \
      --webhook-secret-file webhook.secret --workers 2 --grace 5m \
      --github-app-id 12345 --github-app-key-file app.pem --dashboard-url https://grading.example.org/`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.push.workersSet = cmd.Flags().Changed("workers")
			return a.serve(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.db, "db", "", "results store (required)")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fl.StringVar(&f.signKey, "sign-key", "", "private key file: sign the reports of pushes, and reviewed reports again, with it")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve over TLS with this certificate file (PEM)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "the TLS certificate's private key file (PEM)")
	fl.StringVar(&f.webhookSecretFile, "webhook-secret-file", "", "take GitHub webhooks at /webhook, signed with the secret in this file (or $"+webhookSecretEnv+")")
	f.push.register(fl)
	f.github.register(fl)
	return cmd
}

func (a *app) serve(ctx context.Context, f serveFlags) error {
	switch {
	case f.db == "":
		return usageError{errors.New("--db is required: the results store")}
	case (f.tlsCert == "") != (f.tlsKey == ""):
		return usageError{errors.New("--tls-cert and --tls-key go together")}
	}
	grading, err := f.push.check()
	if err != nil {
		return err
	}
	if f.github.on() && !grading {
		return usageError{errors.New("the GitHub flags publish the gradings of pushes: give --bank (and --workers 1 or more) too")}
	}
	if err := storeExists(f.db); err != nil {
		return err
	}
	key, err := loadSignKey(f.signKey)
	if err != nil {
		return err
	}
	secret, err := readSecret("--webhook-secret-file", f.webhookSecretFile, webhookSecretEnv, maxSecretFile)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, f.db)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := f.push.loadRoster(ctx, st); err != nil {
		return err
	}
	var workers *batch.Runner
	var engine func(context.Context) error
	if grading {
		var cleanup func()
		if workers, cleanup, err = a.pushRunner(ctx, &f.push, st, key); err != nil {
			return err
		}
		defer cleanup()
		if p, ok := workers.Grader.Runner.(interface{ Ping(context.Context) error }); ok {
			engine = p.Ping
		}
		if f.github.on() {
			// Results GitHub refuses wait in the store for publish --pending.
			gh, err := a.publisher(f.github, st)
			if err != nil {
				return err
			}
			workers.Publisher = gh
			if gh.App() {
				go a.warnUnseen(ctx, gh, st)
			}
		}
	}
	d, err := dashboard.New(dashboard.Config{Store: st, SignKey: key, Log: a.log})
	if err != nil {
		return err
	}
	var hook *webhook.Handler
	if secret != nil {
		cfg := webhook.Config{Store: st, Secret: secret, Log: a.log}
		if workers != nil {
			cfg.Queued = workers.Queued
		}
		if hook, err = webhook.New(cfg); err != nil {
			return err
		}
	}
	pr := &probes{store: st, engine: engine}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	srv := dashboard.Server(f.addr, pr.handler(d, hook))
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	} else if host, _, _ := net.SplitHostPort(f.addr); !isLoopback(host) {
		fmt.Fprintf(a.stderr, "cmcgrader: warning: %s is not a loopback address and the dashboard has no TLS: tokens and session cookies cross the network in clear; give --tls-cert and --tls-key, or put a TLS proxy in front\n", f.addr)
	}
	fmt.Fprintf(a.stdout, "serving the proctor dashboard at %s://%s/ (interrupt to stop)\n", scheme, ln.Addr())
	if hook != nil {
		fmt.Fprintf(a.stdout, "taking GitHub webhooks at %s://%s/webhook\n", scheme, ln.Addr())
	}
	graded := make(chan error, 1)
	// The workers stop with ctx, or when the server failed.
	wctx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	switch {
	case workers != nil:
		fmt.Fprintf(a.stdout, "grading queued pushes, %d at a time\n", f.push.workers)
		go func() { graded <- workers.Pushes(wctx, f.push.grace) }()
	case hook != nil:
		fmt.Fprintln(a.stdout, "not grading pushes: they stay queued (give --bank to grade them)")
		graded <- nil
	default:
		graded <- nil
	}

	done := make(chan error, 1)
	go func() {
		if f.tlsCert != "" {
			done <- srv.ServeTLS(ln, f.tlsCert, f.tlsKey)
		} else {
			done <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		stopWork()
		<-graded
		return err
	case <-ctx.Done():
	}
	// Intake stops first; the dashboard and the probes go on while the
	// gradings under way finish.
	pr.drain()
	if hook != nil {
		hook.Drain()
	}
	if workers != nil {
		fmt.Fprintf(a.stdout, "stopping: no push is taken; the gradings under way have %s to finish\n", f.push.grace)
	}
	if err := <-graded; err != nil {
		a.log.WithError(err).Error("grading pushes")
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stop the dashboard: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(a.stdout, "the dashboard stopped")
	return nil
}

// warnUnseen warns of the roster's candidates whose repositories the
// GitHub App cannot see: their pushes never reach the webhook. It fails
// nothing; a failure to ask GitHub is a warning too.
func (a *app) warnUnseen(ctx context.Context, gh *publish.GitHub, st *store.Store) {
	roster, err := st.Roster(ctx)
	if err != nil {
		a.log.WithError(err).Warn("could not read the roster to check the GitHub App's reach")
		return
	}
	missing, err := unseen(ctx, gh, roster)
	for _, m := range missing {
		id, why, _ := strings.Cut(m, "\t")
		a.log.WithField("candidate", id).Warnf("the GitHub App cannot see this candidate's repository, so its pushes are not graded: %s (the candidate installs the App on the fork, or the fork moves to an organisation the App is installed on)", why)
	}
	if err != nil && ctx.Err() == nil {
		a.log.WithError(err).Warn("could not check which candidates' repositories the GitHub App sees (cmcgrader github check --roster asks again)")
	}
}

// isLoopback says host is a loopback name or address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// storeExists checks that a results store is there, so that a mistyped
// --db does not make a new, empty one.
func storeExists(name string) error {
	if _, err := os.Stat(name); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("--db %s: no such store; grade a cohort into it first (cmcgrader cohort grade --db)", name)
		}
		return fmt.Errorf("--db: %w", err)
	}
	return nil
}
