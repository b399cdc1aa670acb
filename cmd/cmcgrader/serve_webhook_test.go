package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/grader/webhook"
)

// TestServeWebhook serves a store with a webhook secret: a signed push
// to a candidate's exam branch is queued, an unsigned one refused; the
// probes answer without a token, the dashboard still wants one.
func TestServeWebhook(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "cohort.db")
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	err = st.SetRoster(ctx, &cohort.Roster{Path: "roster.csv", Digest: "sha256:" + strings.Repeat("cd", 32),
		Candidates: []cohort.Candidate{{ID: "ada", Line: 2, Repo: "https://github.com/ada/exam", Branch: "cmc-exam", Name: "Ada", Email: "ada@example.org"}}})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(dir, "webhook.secret")
	if err := os.WriteFile(secretFile, []byte("s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stderr := exitOf(t, "serve", "--db", db, "--webhook-secret-file", secretFile); code != 1 || !strings.Contains(stderr, "chmod 600") || strings.Contains(stderr, "s3cret") {
		t.Errorf("a secret file open to others: exit %d, %s", code, stderr)
	}
	if err := os.Chmod(secretFile, 0o600); err != nil {
		t.Fatal(err)
	}

	pr, pw := io.Pipe()
	var logs bytes.Buffer
	a := &app{stdout: pw, stderr: io.Discard}
	if a.log, err = newLogger(&logs, "text", true); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- a.serve(sctx, serveFlags{db: db, addr: "127.0.0.1:0", webhookSecretFile: secretFile})
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var base string
	for lines.Scan() {
		if l := lines.Text(); strings.HasPrefix(l, "taking GitHub webhooks at ") {
			base = strings.TrimSuffix(strings.TrimPrefix(l, "taking GitHub webhooks at "), "/webhook")
			break
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("serve did not say where it takes webhooks: %v", <-done)
	}
	go io.Copy(io.Discard, pr)

	do := func(method, path string, body []byte, header map[string]string) (int, string) {
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	body := []byte(`{"ref":"refs/heads/cmc-exam","after":"` + strings.Repeat("a", 40) + `","repository":{"html_url":"https://github.com/ada/exam","clone_url":"https://github.com/ada/exam.git"}}`)
	hdr := map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		"Content-Type": "application/json", "X-Hub-Signature-256": webhook.Sign([]byte("s3cret"), body)}
	if code, text := do("POST", "/webhook", body, hdr); code != http.StatusAccepted || text != "queued" {
		t.Errorf("signed push: %d %s", code, text)
	}
	hdr["X-Hub-Signature-256"] = webhook.Sign([]byte("wrong"), body)
	hdr["X-GitHub-Delivery"] = "another"
	if code, _ := do("POST", "/webhook", body, hdr); code != http.StatusUnauthorized {
		t.Errorf("badly signed push: %d", code)
	}
	if code, text := do("GET", "/healthz", nil, nil); code != 200 || text != "ok" {
		t.Errorf("/healthz: %d %s", code, text)
	}
	if code, text := do("GET", "/readyz", nil, nil); code != 200 || text != "ready" {
		t.Errorf("/readyz: %d %s", code, text)
	}
	if code, _ := do("GET", "/", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("the dashboard without a token: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after its context ended: %v", err)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Error("the secret is in the log")
	}

	st, err = store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ps, err := st.Pushes(ctx)
	if err != nil || len(ps) != 1 || ps[0].Candidate != "ada" || ps[0].State != store.PushQueued {
		t.Errorf("pushes: %+v %v", ps, err)
	}
}

func webhookSecretOf(file string) ([]byte, error) {
	return readSecret("--webhook-secret-file", file, webhookSecretEnv, maxSecretFile)
}

// TestServeWebhookSecret reads the secret from a file or the
// environment; without either there is no webhook.
func TestServeWebhookSecret(t *testing.T) {
	t.Setenv(webhookSecretEnv, "")
	if s, err := webhookSecretOf(""); s != nil || err != nil {
		t.Errorf("no secret: %q %v", s, err)
	}
	t.Setenv(webhookSecretEnv, " from-env\n")
	if s, err := webhookSecretOf(""); string(s) != "from-env" || err != nil {
		t.Errorf("from the environment: %q %v", s, err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := webhookSecretOf(empty); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("an empty file: %v", err)
	}
	if _, err := webhookSecretOf(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file")
	}
}

// TestProbesDrain answers /readyz ready while the store takes writes and
// the engine answers, and not ready once the engine does not answer or
// serve is stopping; /healthz answers throughout.
func TestProbesDrain(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "cohort.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var engineErr error
	p := &probes{store: st, engine: func(context.Context) error { return engineErr }}
	h := p.handler(http.NotFoundHandler(), nil)
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	if code, text := get("/readyz"); code != 200 || text != "ready" {
		t.Errorf("/readyz: %d %s", code, text)
	}
	engineErr = errors.New("docker engine unreachable")
	if code, text := get("/readyz"); code != 503 || !strings.Contains(text, "engine") {
		t.Errorf("/readyz with the engine down: %d %s", code, text)
	}
	engineErr = nil
	p.drain()
	if code, text := get("/readyz"); code != 503 || !strings.Contains(text, "stopping") {
		t.Errorf("/readyz while stopping: %d %s", code, text)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz while stopping: %d", code)
	}
}
