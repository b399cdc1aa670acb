package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// testKey signs the test reports; a fixed seed, so that a child process
// signs the same bytes as its parent expects.
var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// clock is a settable clock for leases.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openTest opens a store in a new folder; it is closed when the test ends.
func openTest(t *testing.T) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "cohort.db"))
}

func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testRoster is a roster of n candidates, c01 to cNN.
func testRoster(n int) *cohort.Roster {
	r := &cohort.Roster{Path: "roster.csv"}
	var ids []string
	for i := range n {
		id := fmt.Sprintf("c%02d", i+1)
		ids = append(ids, id)
		r.Candidates = append(r.Candidates, cohort.Candidate{
			ID: id, Repo: "https://git.example/" + id + "/meshery", Branch: "cmc-exam",
			Name: "Candidate " + id, Email: id + "@example.org", Line: i + 2,
		})
	}
	sum := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	r.Digest = "sha256:" + hex.EncodeToString(sum[:])
	return r
}

// withRoster opens a test store holding a roster of n candidates.
func withRoster(t *testing.T, n int) *Store {
	t.Helper()
	s := openTest(t)
	if err := s.SetRoster(context.Background(), testRoster(n)); err != nil {
		t.Fatal(err)
	}
	return s
}

// commitOf is the commit a test report of candidate grades.
func commitOf(candidate string) string {
	sum := sha1.Sum([]byte(candidate))
	return hex.EncodeToString(sum[:])
}

var testBank = &tasks.Bank{Exams: []tasks.Exam{{Name: "server", Threshold: 70}, {Name: "cli", Threshold: 70}}}

// reportOpts vary a test report.
type reportOpts struct {
	// status of the cli task; passed by default.
	status report.Status
	// held holds the server task for review.
	held bool
	// pad adds that many bytes of test output.
	pad int
}

// testReport is a report of candidate, its bytes and its signature.
func testReport(t testing.TB, candidate string, o reportOpts) (*report.Report, []byte, []byte) {
	t.Helper()
	if o.status == "" {
		o.status = report.Passed
	}
	at := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	tg := []report.TaskGrade{
		{ID: "server-1", Exam: "server", Title: "Serve", Status: report.Passed, Points: 2, Possible: 2,
			Tests: []report.TestOutcome{{Name: "TestServe", Status: "pass", Output: strings.Repeat("x", o.pad)}}},
		{ID: "cli-1", Exam: "cli", Title: "Command", Status: o.status, Possible: 3},
	}
	if o.status == report.Passed {
		tg[1].Points = 3
	}
	if o.held {
		tg[0].Hold = &report.Hold{Flags: []string{"server/x.go:7 exit: os.Exit"}}
	}
	rep := &report.Report{
		Version: report.ReportVersion, GraderVersion: "test", Repository: "https://git.example/" + candidate + "/meshery",
		Branch: "cmc-exam", Commit: commitOf(candidate), StartedAt: at, FinishedAt: at.Add(time.Minute),
		Tasks: tg, Summary: report.Summarize(testBank, tg),
	}
	raw, sig := encode(t, rep)
	return rep, raw, sig
}

// encode writes rep and signs it.
func encode(t testing.TB, rep *report.Report) (raw, sig []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	sig, err := report.SignReport(buf.Bytes(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), sig
}

// grade leases and saves candidate's test report.
func grade(t *testing.T, s *Store, candidate string, o reportOpts) {
	t.Helper()
	ctx := context.Background()
	l, err := s.Acquire(ctx, candidate, "tester", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	rep, raw, sig := testReport(t, candidate, o)
	if err := s.SaveReport(ctx, l, rep, raw, sig); err != nil {
		t.Fatal(err)
	}
}

// stateOf returns candidate's state in s.
func stateOf(t *testing.T, s *Store, candidate string) CandidateState {
	t.Helper()
	cs, err := s.Candidates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == candidate {
			return c
		}
	}
	t.Fatalf("candidate %s not listed", candidate)
	return CandidateState{}
}

// leasedPush queues a push of sha for candidate, received at, and leases
// it to "worker" for a minute: the push a worker is grading.
func leasedPush(t *testing.T, s *Store, candidate, sha string, at time.Time) *PushLease {
	t.Helper()
	ctx := context.Background()
	if _, err := s.QueuePush(ctx, candidate, sha, at); err != nil {
		t.Fatal(err)
	}
	pl, err := s.NextPush(ctx, "worker", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}
