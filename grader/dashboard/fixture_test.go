package dashboard

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha1"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// testKey is the grader's key in the tests.
var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))

// hostile is a candidate id written to attack the page: markup and
// quotes (a roster refuses invisible characters in ids).
const hostile = `<script>alert(1)</script>x"'&`

// hostileDetail is a tampering finding's detail from the same candidate:
// markup, and a bidirectional override.
const hostileDetail = `<img src=x onerror=alert(2)> "quoted" & more x` + "\u202e" + `gpj`

// candidate is a candidate of the test cohort and how their report looks.
type candidate struct {
	id string
	// cli is the cli task's status (passed when empty).
	cli report.Status
	// held holds the server task for review.
	held bool
	// signed signs the report with testKey.
	signed bool
	// ungraded leaves the candidate without a report.
	ungraded bool
	// tamper adds a tampering finding with this detail.
	tamper string
}

// testCohort is the cohort most tests use: one certified, one held and
// signed, one failed, one hostile and held (unsigned), one not graded.
var testCohort = []candidate{
	{id: "c01", signed: true},
	{id: "c02", held: true, signed: true, tamper: "os.Exit in an init function"},
	{id: "c03", cli: report.Failed, signed: true},
	{id: hostile, held: true, tamper: hostileDetail},
	{id: "c05", ungraded: true},
}

// testBank is the bank of the test reports: two exams.
var testBank = &tasks.Bank{Exams: []tasks.Exam{{Name: "server", Threshold: 70}, {Name: "cli", Threshold: 70}}}

// newStore makes a store holding the cohort, graded as described.
func newStore(t testing.TB, cands []candidate) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "cohort.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &cohort.Roster{Path: "roster.csv", Digest: "sha256:" + strings.Repeat("ab", 32)}
	for i, c := range cands {
		r.Candidates = append(r.Candidates, cohort.Candidate{
			ID: c.id, Repo: "https://git.example/" + c.id + "/meshery", Branch: "cmc-exam", Line: i + 2,
		})
	}
	if err := st.SetRoster(ctx, r); err != nil {
		t.Fatal(err)
	}
	for _, c := range cands {
		if c.ungraded {
			continue
		}
		l, err := st.Acquire(ctx, c.id, "tester", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		rep := testReport(c)
		var key ed25519.PrivateKey
		if c.signed {
			key = testKey
		}
		raw, sig, err := report.Encode(rep, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SaveReport(ctx, l, rep, raw, sig); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// testReport is the report of candidate c.
func testReport(c candidate) *report.Report {
	if c.cli == "" {
		c.cli = report.Passed
	}
	sum := sha1.Sum([]byte(c.id))
	at := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	tg := []report.TaskGrade{
		{ID: "server-1", Exam: "server", Title: "Serve the design", Status: report.Passed, Points: 2, Possible: 2,
			Tests: []report.TestOutcome{{Name: "TestServe", Status: "pass"}}},
		{ID: "cli-1", Exam: "cli", Title: "A command", Status: c.cli, Possible: 3,
			Tests: []report.TestOutcome{{Name: "TestCommand", Status: "pass"}}},
	}
	if c.cli == report.Passed {
		tg[1].Points = 3
	} else {
		tg[1].Reason = "TestCommand failed: want 3, got 2 " + c.id
		tg[1].Tests[0] = report.TestOutcome{Name: "TestCommand", Status: "fail", Output: "--- FAIL: TestCommand\n" + c.id + "\n"}
	}
	rep := &report.Report{
		Version: report.ReportVersion, GraderVersion: "test", Repository: "https://git.example/" + c.id + "/meshery",
		Branch: "cmc-exam", Commit: hex.EncodeToString(sum[:]), StartedAt: at, FinishedAt: at.Add(time.Minute),
		Bank: report.BankInfo{Name: "sample", Digest: "sha256:" + strings.Repeat("cd", 32)},
	}
	if c.tamper != "" {
		rep.Tampering = []report.TamperFlag{{Kind: report.CapExit, Path: "server/init.go", Line: 7, Detail: c.tamper, Reached: []string{"server-1"}}}
	}
	if c.held {
		report.ApplyHolds(tg, rep.Tampering)
		if tg[0].Hold == nil {
			tg[0].Hold = &report.Hold{Flags: []string{"server/init.go:7 exit: " + c.tamper}}
		}
	}
	rep.Tasks = tg
	rep.Summary = report.Summarize(testBank, tg)
	return rep
}
