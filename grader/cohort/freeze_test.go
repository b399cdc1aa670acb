package cohort

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/jsonout"
)

var deadline = time.Date(2026, 3, 1, 17, 0, 0, 0, time.FixedZone("CET", 3600))

func testRoster(ids ...string) *Roster {
	r := &Roster{Path: "roster.csv", Digest: "sha256:" + strings.Repeat("0f", 32)}
	for i, id := range ids {
		r.Candidates = append(r.Candidates, Candidate{ID: id, Repo: "https://github.com/" + id + "/meshery", Branch: "cmc", Line: i + 2})
	}
	return r
}

func sha(n int) string { return fmt.Sprintf("%040x", n) }

func TestResolve(t *testing.T) {
	r := testRoster("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7")
	var running, most atomic.Int32
	resolve := func(_ context.Context, c Candidate) (string, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(10 * time.Millisecond) // let the others start
		switch c.ID {
		case "c2":
			return "", fmt.Errorf("%w: branch %q not found in %s; the candidate must push to it", repo.ErrUnknownBranch, c.Branch, c.Repo)
		case "c5":
			return "main", nil // not a SHA
		case "c6":
			return strings.ToUpper("abcdef" + sha(6)[6:]), nil
		}
		return sha(int(c.ID[1] - '0')), nil
	}
	f := Resolve(context.Background(), r, resolve, 3, deadline)

	if m := most.Load(); m > 3 || m < 2 {
		t.Errorf("%d resolutions ran at once with jobs 3", m)
	}
	if f.Version != FreezeVersion || f.Roster != r.Digest || !f.At.Equal(deadline) || f.At.Location() != time.UTC {
		t.Errorf("freeze %d %s %s", f.Version, f.Roster, f.At)
	}
	var got []string
	for _, c := range f.Commits {
		got = append(got, c.Candidate+"="+c.Commit[len(c.Commit)-1:])
	}
	if want := "c0=0 c1=1 c3=3 c4=4 c6=6 c7=7"; strings.Join(got, " ") != want {
		t.Errorf("commits %s, want %s", strings.Join(got, " "), want)
	}
	if len(f.Problems) != 2 || f.Problems[0].Candidate != "c2" || f.Problems[1].Candidate != "c5" {
		t.Fatalf("problems %+v, want c2 and c5", f.Problems)
	}
	if p := f.Problems[0]; p.Repo != r.Candidates[2].Repo || p.Branch != "cmc" || !strings.Contains(p.Reason, `branch "cmc" not found`) {
		t.Errorf("problem %+v", p)
	}
	if !strings.Contains(f.Problems[1].Reason, `resolved to "main", not a full commit SHA`) {
		t.Errorf("problem %+v", f.Problems[1])
	}
	if c, ok := f.Commit("c6"); !ok || c != "abcdef"+sha(6)[6:] {
		t.Errorf("Commit(c6) = %q, %v; want the SHA in lower case", c, ok)
	}
	for _, id := range []string{"c2", "c5", "nobody"} {
		if c, ok := f.Commit(id); ok {
			t.Errorf("Commit(%s) = %q, true; want none", id, c)
		}
	}
	// A freeze built by hand answers too.
	byHand := &Freeze{Commits: []FrozenCommit{{Candidate: "x", Commit: sha(9)}}}
	if c, ok := byHand.Commit("x"); !ok || c != sha(9) {
		t.Errorf("Commit on a freeze built by hand = %q, %v", c, ok)
	}

	var out bytes.Buffer
	if err := f.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	golden(t, "freeze/resolve.golden", out.String())
}

func TestResolveCancel(t *testing.T) {
	r := testRoster("c0", "c1", "c2", "c3")
	ctx, cancel := context.WithCancel(context.Background())
	f := Resolve(ctx, r, func(ctx context.Context, c Candidate) (string, error) {
		if c.ID == "c1" {
			cancel()
			return "", ctx.Err()
		}
		return sha(1), nil
	}, 1, deadline)
	if len(f.Commits) != 1 || len(f.Problems) != 3 {
		t.Fatalf("commits %+v, problems %+v; want c0 frozen, the rest problems", f.Commits, f.Problems)
	}
	if reason := f.Problems[2].Reason; reason != "not read: context canceled" {
		t.Errorf("reason %q", reason)
	}
	if f := Resolve(ctx, testRoster(), nil, 0, deadline); len(f.Commits) != 0 || f.Commits == nil || f.Problems == nil {
		t.Errorf("empty roster: %+v", f)
	}
}

// TestResolveBranches freezes a roster over real git smart HTTP: branches
// that exist, one that does not, an unreachable repository; then a push
// after the freeze leaves the freeze as it was.
func TestResolveBranches(t *testing.T) {
	fork := gittest.NewForkRepo(t)
	r := &Roster{Path: "roster.csv", Digest: "sha256:" + strings.Repeat("0f", 32), Candidates: []Candidate{
		{ID: "answers", Repo: fork.URL, Branch: "cmc"},
		{ID: "main", Repo: "file://" + fork.Bare, Branch: "main"},
		{ID: "missing", Repo: fork.URL, Branch: "nope"},
		{ID: "gone", Repo: strings.TrimSuffix(fork.URL, "fork.git") + "gone.git", Branch: "cmc"},
	}}
	resolve := func(ctx context.Context, c Candidate) (string, error) {
		return repo.ResolveBranch(ctx, gittest.Log(t), repo.FetchOptions{URL: c.Repo, Branch: c.Branch, Timeout: time.Minute})
	}
	f := Resolve(context.Background(), r, resolve, 4, deadline)
	if c, _ := f.Commit("answers"); c != fork.C3 {
		t.Errorf("answers: %q, want %s", c, fork.C3)
	}
	if c, _ := f.Commit("main"); c != fork.C2 {
		t.Errorf("main: %q, want %s", c, fork.C2)
	}
	if len(f.Problems) != 2 || !strings.Contains(f.Problems[0].Reason, "unknown branch") || !strings.Contains(f.Problems[1].Reason, "repository unreachable") {
		t.Errorf("problems %+v", f.Problems)
	}

	name := filepath.Join(t.TempDir(), "freeze.json")
	if err := WriteFreeze(name, f, nil); err != nil {
		t.Fatal(err)
	}
	work := gittest.InitWork(t)
	gittest.Git(t, work, "fetch", "-q", fork.Bare, "cmc:cmc")
	gittest.Git(t, work, "checkout", "-q", "cmc")
	late := gittest.CommitAll(t, work, "after the deadline")
	gittest.Git(t, work, "push", "-q", fork.Bare, "cmc:cmc")
	if now, err := resolve(context.Background(), r.Candidates[0]); err != nil || now != late {
		t.Fatalf("after the push the branch is at %q, %v; want %s", now, err, late)
	}
	loaded, err := LoadFreeze(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := loaded.Commit("answers"); c != fork.C3 {
		t.Errorf("the loaded freeze says %s, want %s as frozen", c, fork.C3)
	}
}

func testKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func testFreeze() *Freeze {
	return &Freeze{
		Version: FreezeVersion, Roster: "sha256:" + strings.Repeat("0f", 32), At: deadline.UTC(),
		Commits:  []FrozenCommit{{Candidate: "cmc-0001", Repo: "https://github.com/alice/meshery", Branch: "cmc", Commit: sha(1)}},
		Problems: []FreezeProblem{{Candidate: "cmc-0002", Repo: "https://github.com/bob/meshery", Branch: "cmc", Reason: `unknown branch: branch "cmc" not found in https://github.com/bob/meshery; the candidate must push to it`}},
	}
}

func TestWriteLoadFreeze(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	pub := key.Public().(ed25519.PublicKey)
	name := filepath.Join(dir, "freeze.json")
	if err := WriteFreeze(name, testFreeze(), key); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "freeze/freeze.json", string(data))

	for _, trusted := range []ed25519.PublicKey{nil, pub} {
		f, err := LoadFreeze(name, trusted)
		if err != nil {
			t.Fatalf("LoadFreeze(trusted %v): %v", trusted != nil, err)
		}
		if f.SignedBy != report.KeyFingerprint(pub) {
			t.Errorf("SignedBy %q", f.SignedBy)
		}
		if c, ok := f.Commit("cmc-0001"); !ok || c != sha(1) || len(f.Problems) != 1 {
			t.Errorf("loaded %+v", f)
		}
	}

	// Written again without a key, the old signature file goes.
	if err := WriteFreeze(name, testFreeze(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name + ".sig"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the signature file of the earlier freeze is still there: %v", err)
	}
	if f, err := LoadFreeze(name, nil); err != nil || f.SignedBy != "" {
		t.Errorf("unsigned: %+v, %v", f, err)
	}
	if _, err := LoadFreeze(name, pub); !errors.Is(err, report.ErrUnsigned) || !strings.Contains(err.Error(), "freeze is not signed") {
		t.Errorf("unsigned with a trusted key: %v; want ErrUnsigned", err)
	}
}

// TestLoadFreezeRefuses edits a signed freeze or its signature file, or
// writes files that are no freeze, as someone with access to them could.
func TestLoadFreezeRefuses(t *testing.T) {
	key := testKey(t)
	pub := key.Public().(ed25519.PublicKey)
	other := testKey(t)
	var buf bytes.Buffer
	f := testFreeze()
	if err := jsonout.Write(&buf, f); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	sig, err := report.SignFile(FreezeSignatureDomain, data, key)
	if err != nil {
		t.Fatal(err)
	}
	reportSig := signAsReport(t, key)

	edited := bytes.Replace(data, []byte(sha(1)), []byte(sha(2)), 1)
	resigned := func(d []byte, k ed25519.PrivateKey) []byte {
		s, err := report.SignFile(FreezeSignatureDomain, d, k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	b := func(s string) []byte { return []byte(s) }
	valid := string(data)
	cases := []struct {
		name      string
		data, sig []byte
		trusted   ed25519.PublicKey
		want      error  // matched with errors.Is, or nil
		msg       string // a part of the message
	}{
		{name: "intact", data: data, sig: sig, trusted: pub},
		{name: "commit edited", data: edited, sig: sig, want: report.ErrBadSignature, msg: "the freeze's bytes are not the ones"},
		{name: "edited and signed by another key", data: edited, sig: resigned(edited, other), trusted: pub, want: report.ErrWrongKey, msg: "the freeze was signed by"},
		{name: "a report's signature", data: data, sig: reportSig, want: report.ErrBadSignature},
		{name: "trusted key, no signature", data: data, trusted: pub, want: report.ErrUnsigned},
		{name: "signature file malformed", data: data, sig: b("{}\n"), want: report.ErrMalformed},
		{name: "unsigned version 2", data: b(strings.Replace(valid, `"version": 1`, `"version": 2`, 1)), msg: "version: must be 1 (got 2)"},
		{name: "unknown field", data: b(strings.Replace(valid, `"version": 1,`, `"version": 1, "graded": true,`, 1)), msg: `unknown field "graded"`},
		{name: "trailing data", data: b(valid + "{}\n"), msg: "data after the freeze"},
		{name: "short SHA", data: b(strings.Replace(valid, sha(1), sha(1)[:12], 1)), msg: "is not a full SHA"},
		{name: "no roster digest", data: b(strings.Replace(valid, "sha256:0f", "md5:0f", 1)), msg: "roster: must be sha256:"},
		{name: "no time", data: b(strings.Replace(valid, `"at": "2026-03-01T16:00:00Z"`, `"at": "0001-01-01T00:00:00Z"`, 1)), msg: "time of the freeze is missing"},
		{name: "candidate twice", data: b(strings.Replace(valid, `"cmc-0002"`, `"cmc-0001"`, 1)), msg: `candidate "cmc-0001" is listed twice`},
		{name: "not JSON", data: b("roster,commit\n"), msg: "not a freeze written by cmcgrader freeze"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "freeze.json")
			if err := os.WriteFile(name, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.sig != nil {
				if err := os.WriteFile(name+".sig", tc.sig, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := LoadFreeze(name, tc.trusted)
			switch {
			case tc.want == nil && tc.msg == "":
				if err != nil {
					t.Fatalf("LoadFreeze: %v", err)
				}
				return
			case err == nil:
				t.Fatalf("LoadFreeze = %+v; want an error", f)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("err = %v, want %v", err, tc.want)
			case !strings.Contains(err.Error(), tc.msg):
				t.Errorf("err %q does not say %q", err, tc.msg)
			}
			t.Logf("error: %v", err)
		})
	}

	// The freeze's signature is no report's.
	if _, err := report.VerifyReport(data, sig, nil); !errors.Is(err, report.ErrBadSignature) {
		t.Errorf("a freeze signature verified as a report's: %v", err)
	}
}

// signAsReport returns the signature file of a report signed with key
// (SignReport signs reports only), after checking that it is refused as a
// freeze's signature of the very same bytes.
func signAsReport(t *testing.T, key ed25519.PrivateKey) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := (&report.Report{Version: report.ReportVersion}).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	sig, err := report.SignReport(buf.Bytes(), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := report.VerifyFile(FreezeSignatureDomain, buf.Bytes(), sig, nil); !errors.Is(err, report.ErrBadSignature) {
		t.Errorf("a report's signature verified as a freeze's over the report's bytes: %v", err)
	}
	return sig
}
