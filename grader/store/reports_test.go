package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/report"
)

func TestSaveReport(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 2)
	l, err := s.Acquire(ctx, "c01", "grader-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	rep, raw, sig := testReport(t, "c01", reportOpts{status: report.Failed})
	if err := s.SaveReport(ctx, l, rep, raw, sig); err != nil {
		t.Fatal(err)
	}
	gotRaw, gotSig, got, err := s.Report(ctx, "c01")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotRaw, raw) || !bytes.Equal(gotSig, sig) {
		t.Fatal("the report's bytes or its signature's changed in the store")
	}
	if _, err := report.VerifyReport(gotRaw, gotSig, testKey.Public().(ed25519.PublicKey)); err != nil {
		t.Fatalf("the signature no longer verifies: %v", err)
	}
	if got.Commit != rep.Commit || got.Verdict != report.Fail {
		t.Errorf("parsed report: commit %s, verdict %s", got.Commit, got.Verdict)
	}

	c := stateOf(t, s, "c01")
	want := Summary{
		Candidate: "c01", Run: 1, Digest: digestOf(raw), Commit: commitOf("c01"), Verdict: report.Fail,
		Overall: rep.Overall, FinishedAt: rep.FinishedAt, Saved: c.Updated, SavedBy: "grader-a", Signed: true,
	}
	if c.State != Done || c.Lease != nil || c.Latest == nil || *c.Latest != want {
		t.Errorf("c01: %s, lease %v, latest %+v; want done, no lease, %+v", c.State, c.Lease, c.Latest, want)
	}
	if c := stateOf(t, s, "c02"); c.Latest != nil || c.State != Pending {
		t.Errorf("c02: %+v", c)
	}
	states, err := s.TaskStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantStates := []TaskState{
		{Candidate: "c01", Task: "server-1", Exam: "server", Run: 1, Status: report.Passed, Points: 2, Possible: 2},
		{Candidate: "c01", Task: "cli-1", Exam: "cli", Run: 1, Status: report.Failed, Possible: 3},
	}
	if !slices.Equal(states, wantStates) {
		t.Errorf("task states:\n got %+v\nwant %+v", states, wantStates)
	}

	// Unsigned reports are kept as such.
	l, err = s.Acquire(ctx, "c02", "grader-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	rep, raw, _ = testReport(t, "c02", reportOpts{})
	if err := s.SaveReport(ctx, l, rep, raw, nil); err != nil {
		t.Fatal(err)
	}
	if _, sig, _, err := s.Report(ctx, "c02"); err != nil || sig != nil {
		t.Errorf("unsigned report: signature %q, %v", sig, err)
	}
	if _, _, _, err := s.Report(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Report of an unknown candidate: %v", err)
	}
}

func TestSaveReportRefuses(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 2)
	freeze := cohort.Freeze{Version: cohort.FreezeVersion, Roster: testRoster(2).Digest, At: time.Now(),
		Commits: []cohort.FrozenCommit{{Candidate: "c01", Commit: strings.Repeat("ab", 20)}}}
	fraw, _ := json.Marshal(freeze)
	if err := s.SetFreeze(ctx, fraw, nil); err != nil {
		t.Fatal(err)
	}
	l, err := s.Acquire(ctx, "c01", "tester", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if l.Commit != strings.Repeat("ab", 20) {
		t.Errorf("lease commit %q, want the frozen one", l.Commit)
	}
	for _, tc := range []struct {
		name    string
		edit    func(rep *report.Report, raw, sig []byte) (*report.Report, []byte, []byte)
		wantErr error
		want    string
	}{
		{"too large", func(rep *report.Report, raw, sig []byte) (*report.Report, []byte, []byte) {
			return rep, make([]byte, MaxReportSize+1), sig
		}, ErrTooLarge, "at most 67108864"},
		{"bytes of another report", func(rep *report.Report, raw, sig []byte) (*report.Report, []byte, []byte) {
			other := *rep
			other.Verdict = report.Fail
			return &other, raw, sig
		}, ErrInvalid, "not the report given"},
		{"bytes edited after signing", func(rep *report.Report, raw, sig []byte) (*report.Report, []byte, []byte) {
			raw = append(raw, '\n')
			return rep, raw, sig
		}, ErrInvalid, "not the report given"},
		{"a signature of other bytes", func(rep *report.Report, raw, sig []byte) (*report.Report, []byte, []byte) {
			_, _, other := testReport(t, "c02", reportOpts{})
			return rep, raw, other
		}, report.ErrBadSignature, "signature"},
		{"another candidate's form", func(rep *report.Report, raw, sig []byte) (*report.Report, []byte, []byte) {
			rep.Form = &report.FormInfo{Candidate: "c02", Attempt: 1}
			raw, sig = encode(t, rep)
			return rep, raw, sig
		}, ErrInvalid, "form of candidate c02"},
		{"a commit other than frozen", func(rep *report.Report, raw, sig []byte) (*report.Report, []byte, []byte) {
			return rep, raw, sig
		}, ErrInvalid, "the freeze fixed " + strings.Repeat("ab", 20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, raw, sig := tc.edit(testReport(t, "c01", reportOpts{}))
			err := s.SaveReport(ctx, l, rep, raw, sig)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %v saying %q", err, tc.wantErr, tc.want)
			}
			if c := stateOf(t, s, "c01"); c.State != Running || c.Latest != nil {
				t.Errorf("after a refused save: %+v", c)
			}
		})
	}
	rep, _, _ := testReport(t, "c01", reportOpts{})
	rep.Commit = l.Commit
	raw, sig := encode(t, rep)
	if err := s.SaveReport(ctx, l, rep, raw, sig); err != nil {
		t.Fatalf("the frozen commit: %v", err)
	}
}

func TestNotGradableReport(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 1)
	grade(t, s, "c01", reportOpts{status: report.NotGradable})
	c := stateOf(t, s, "c01")
	if c.State != NotGradable || c.LastError != "1 task(s) without a grade: cli-1 not gradable" || c.Latest.Verdict != report.Incomplete {
		t.Errorf("c01: %s, %q, %+v", c.State, c.LastError, c.Latest)
	}
	q, err := s.ReviewQueue(ctx)
	if err != nil || len(q) != 1 || q[0].Task != "cli-1" {
		t.Errorf("review queue: %+v, %v", q, err)
	}
	l, err := s.Next(ctx, "tester", time.Minute) // retried
	if err != nil || l.Candidate.ID != "c01" || l.Attempt != 2 {
		t.Fatalf("Next: %+v, %v", l, err)
	}
	rep, raw, sig := testReport(t, "c01", reportOpts{})
	if err := s.SaveReport(ctx, l, rep, raw, sig); err != nil {
		t.Fatal(err)
	}
	if c := stateOf(t, s, "c01"); c.State != Done || c.LastError != "" || c.Latest.Run != 2 {
		t.Errorf("after the retry: %+v", c)
	}
	if q, _ := s.ReviewQueue(ctx); len(q) != 0 {
		t.Errorf("review queue after the retry: %+v", q)
	}
}

// TestReplaceReport records a proctor's review as a dashboard does.
func TestReplaceReport(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 1)
	clk := newClock()
	s.now = clk.Now
	grade(t, s, "c01", reportOpts{held: true})
	q, err := s.ReviewQueue(ctx)
	if err != nil || len(q) != 1 || !q[0].Held || q[0].Task != "server-1" {
		t.Fatalf("review queue: %+v, %v", q, err)
	}

	prev, _, rep, err := s.Report(ctx, "c01")
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Review("server-1", report.Accept, "os.Exit in a helper never reached", clk.Now()); err != nil {
		t.Fatal(err)
	}
	raw, sig := encode(t, rep)
	r := Replacement{
		Candidate: "c01", Previous: prev, Report: rep, Raw: raw, Sig: sig,
		Audit: Entry{Proctor: "ana", Action: "accept", Task: "server-1", Reason: "os.Exit in a helper never reached"},
	}
	if err := s.ReplaceReport(ctx, r); err != nil {
		t.Fatal(err)
	}
	gotRaw, gotSig, got, err := s.Report(ctx, "c01")
	if err != nil || !bytes.Equal(gotRaw, raw) || !bytes.Equal(gotSig, sig) || got.Verdict != report.Pass {
		t.Fatalf("reviewed report: verdict %s, %v", got.Verdict, err)
	}
	c := stateOf(t, s, "c01")
	if c.State != Done || c.Latest.Run != 2 || !c.Latest.Reviewed || c.Latest.SavedBy != "ana" {
		t.Errorf("after review: %+v, latest %+v", c, c.Latest)
	}
	states, _ := s.TaskStates(ctx)
	if states[0].Held || states[0].Decision != report.Accept {
		t.Errorf("task state after review: %+v", states[0])
	}
	if q, _ := s.ReviewQueue(ctx); len(q) != 0 {
		t.Errorf("review queue after review: %+v", q)
	}
	log, err := s.AuditLog(ctx)
	want := []Entry{{ID: 1, Proctor: "ana", Action: "accept", Candidate: "c01", Task: "server-1", Reason: r.Audit.Reason, At: clk.Now()}}
	if err != nil || !slices.Equal(log, want) {
		t.Errorf("audit log:\n got %+v\nwant %+v (%v)", log, want, err)
	}
	var runs int
	s.db.QueryRowContext(ctx, "SELECT count(*) FROM reports WHERE candidate = 'c01'").Scan(&runs)
	if runs != 2 {
		t.Errorf("%d runs kept, want the graded one and the reviewed one", runs)
	}

	// A second proctor working from the first report conflicts.
	if err := s.ReplaceReport(ctx, r); !errors.Is(err, ErrConflict) {
		t.Errorf("a stale review: %v, want ErrConflict", err)
	}
	// So does one while the candidate is graded again.
	if _, err := s.Regrade(ctx, "c01"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Acquire(ctx, "c01", "grader", time.Minute); err != nil {
		t.Fatal(err)
	}
	r.Previous = raw
	if err := s.ReplaceReport(ctx, r); !errors.Is(err, ErrLeased) {
		t.Errorf("a review during a regrade: %v, want ErrLeased", err)
	}
	if log, _ := s.AuditLog(ctx); len(log) != 1 {
		t.Errorf("a refused review was audited: %+v", log)
	}
}

func TestReports(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 4)
	grade(t, s, "c03", reportOpts{})
	grade(t, s, "c01", reportOpts{status: report.NotGradable})
	grade(t, s, "c01", reportOpts{})
	var got []string
	for st, err := range s.Reports(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if st.Report.Commit != commitOf(st.Candidate) || st.Digest != digestOf(st.Raw) {
			t.Errorf("%s: %+v", st.Candidate, st.Summary)
		}
		got = append(got, fmt.Sprintf("%s#%d %s", st.Candidate, st.Run, st.Verdict))
	}
	if want := []string{"c01#2 PASS", "c03#1 PASS"}; !slices.Equal(got, want) {
		t.Errorf("Reports = %v, want %v", got, want)
	}
	for range s.Reports(ctx) {
		break // a consumer that stops early releases the read
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRosterAndFreeze(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	r := testRoster(3)
	fr := func(f cohort.Freeze) []byte {
		b, _ := json.Marshal(f)
		return b
	}
	freeze := cohort.Freeze{Version: cohort.FreezeVersion, Roster: r.Digest, At: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC),
		Commits:  []cohort.FrozenCommit{{Candidate: "c01", Repo: r.Candidates[0].Repo, Branch: "cmc-exam", Commit: commitOf("c01")}},
		Problems: []cohort.FreezeProblem{{Candidate: "c02", Reason: "the branch is missing"}}}
	if err := s.SetFreeze(ctx, fr(freeze), nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("a freeze before its roster: %v", err)
	}
	if err := s.SetRoster(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRoster(ctx, r); err != nil {
		t.Errorf("the same roster again: %v", err)
	}
	if err := s.SetRoster(ctx, testRoster(4)); !errors.Is(err, ErrConflict) {
		t.Errorf("another roster: %v", err)
	}
	got, err := s.Roster(ctx)
	if err != nil || got.Digest != r.Digest || !slices.Equal(got.Candidates, r.Candidates) {
		t.Errorf("Roster = %+v, %v", got, err)
	}

	bad := freeze
	bad.Roster = "sha256:00"
	if err := s.SetFreeze(ctx, fr(bad), nil); !errors.Is(err, ErrConflict) {
		t.Errorf("a freeze of another roster: %v", err)
	}
	bad = freeze
	bad.Commits = []cohort.FrozenCommit{{Candidate: "c09", Commit: commitOf("c09")}}
	if err := s.SetFreeze(ctx, fr(bad), nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "c09 is not in the roster") {
		t.Errorf("a freeze of a stranger: %v", err)
	}
	bad = freeze
	bad.Commits = []cohort.FrozenCommit{{Candidate: "c01", Commit: "main"}}
	if err := s.SetFreeze(ctx, fr(bad), nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("a freeze of a branch name: %v", err)
	}
	sig := []byte("a signature file\n")
	if err := s.SetFreeze(ctx, fr(freeze), sig); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFreeze(ctx, fr(freeze), sig); err != nil {
		t.Errorf("the same freeze again: %v", err)
	}
	later := freeze
	later.At = later.At.Add(time.Hour)
	if err := s.SetFreeze(ctx, fr(later), nil); !errors.Is(err, ErrConflict) {
		t.Errorf("a second freeze: %v", err)
	}
	raw, gotSig, f, err := s.Freeze(ctx)
	if err != nil || !bytes.Equal(raw, fr(freeze)) || !bytes.Equal(gotSig, sig) || len(f.Problems) != 1 {
		t.Errorf("Freeze = %s, %q, %+v, %v", raw, gotSig, f, err)
	}
	if c := stateOf(t, s, "c01"); c.Frozen != commitOf("c01") {
		t.Errorf("c01 frozen at %q", c.Frozen)
	}
	if c := stateOf(t, s, "c02"); c.Frozen != "" {
		t.Errorf("c02 frozen at %q", c.Frozen)
	}
}

// TestAppendOnly checks the schema itself refuses to change a report or
// an audit entry.
func TestAppendOnly(t *testing.T) {
	ctx := context.Background()
	s := withRoster(t, 1)
	grade(t, s, "c01", reportOpts{})
	if err := s.Audit(ctx, Entry{Proctor: "ana", Action: "note"}); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"UPDATE reports SET overall = 100",
		"DELETE FROM reports",
		"UPDATE audit SET reason = 'nothing happened'",
		"DELETE FROM audit",
	} {
		if _, err := s.db.ExecContext(ctx, stmt); err == nil {
			t.Errorf("%s: allowed", stmt)
		}
	}
}
