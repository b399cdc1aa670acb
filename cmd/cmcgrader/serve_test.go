package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/grader/store"
)

// TestProctorCommands adds, lists and removes a proctor; the token printed
// is the one the store accepts.
func TestProctorCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cohort.db")
	cmd := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append(args, "--db", db), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, stderr := cmd("proctor", "list"); code != 1 || !strings.Contains(stderr, "no such store") {
		t.Errorf("proctor list of a missing store: exit %d, %s", code, stderr)
	}
	code, out, stderr := cmd("proctor", "add", "ada")
	token := strings.TrimSpace(out)
	if code != 0 || len(token) != 43 || !strings.Contains(stderr, "shown this once") {
		t.Fatalf("proctor add: exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	if code, _, stderr := cmd("proctor", "add", "ada"); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("proctor add again: exit %d, %s", code, stderr)
	}
	if code, _, _ := cmd("proctor", "add"); code != 2 {
		t.Errorf("proctor add without a name: exit %d, want 2", code)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if name, ok, err := st.CheckToken(context.Background(), token); err != nil || !ok || name != "ada" {
		t.Errorf("the token printed: %q %v %v", name, ok, err)
	}
	if code, out, _ := cmd("proctor", "list"); code != 0 || !strings.Contains(out, "ada") || strings.Contains(out, token) {
		t.Errorf("proctor list: exit %d\n%s", code, out)
	}
	if code, _, _ := cmd("proctor", "remove", "ada"); code != 0 {
		t.Errorf("proctor remove: exit %d", code)
	}
	if _, ok, _ := st.CheckToken(context.Background(), token); ok {
		t.Error("the token still works after proctor remove")
	}
	if code, _, stderr := cmd("proctor", "remove", "ada"); code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("proctor remove again: exit %d, %s", code, stderr)
	}
}

// TestServe serves a store on a free loopback port, answers 401 without a
// token and 200 with one, and stops when its context ends.
func TestServe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cohort.db")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	token, err := st.AddProctor(context.Background(), "ada")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	a := &app{stdout: pw, stderr: io.Discard}
	if a.log, err = newLogger(io.Discard, "text", false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, serveFlags{db: db, addr: "127.0.0.1:0"}); pw.Close() }()
	lines := bufio.NewScanner(pr)
	lines.Buffer(nil, 4096)
	if !lines.Scan() {
		cancel()
		t.Fatalf("serve printed nothing: %v", <-done)
	}
	first := lines.Text()
	url := first[strings.Index(first, "http://"):strings.Index(first, " (")]

	get := func(token string) int {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := get(""); code != http.StatusUnauthorized {
		t.Errorf("GET / without a token: %d", code)
	}
	if code := get(token); code != http.StatusOK {
		t.Errorf("GET / with the token: %d", code)
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if err := <-done; err != nil {
		t.Errorf("serve after its context ended: %v", err)
	}
	if code, _ := exitOf(t, "serve", "--db", filepath.Join(t.TempDir(), "missing.db")); code != 1 {
		t.Errorf("serve of a missing store: exit %d, want 1", code)
	}
}

// exitOf runs the command and returns its exit status and stderr.
func exitOf(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	return run(args, strings.NewReader(""), &out, &errb), errb.String()
}
