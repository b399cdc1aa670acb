package store

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tests below run grader processes: the test binary itself, started
// again with childEnv naming what it plays. A child prints one line per
// step on stdout.
const (
	childEnv  = "STORE_TEST_CHILD"
	childDB   = "STORE_TEST_DB"
	childName = "STORE_TEST_HOLDER"
	// childPadEnv sets the test output in the child's reports (default
	// childPad bytes).
	childPadEnv = "STORE_TEST_PAD"
	// childDie makes the child kill itself inside the transaction of its
	// n-th save, everything written and nothing committed.
	childDie = "STORE_TEST_DIE_IN_SAVE"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "grader":
		pad, err := strconv.Atoi(cmp.Or(os.Getenv(childPadEnv), strconv.Itoa(childPad)))
		if err == nil {
			err = childGrader(os.Getenv(childDB), os.Getenv(childName), pad)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "%s: unknown child %q\n", childEnv, os.Getenv(childEnv))
		os.Exit(2)
	}
}

// childPad is the test output in a child's reports: big enough that a
// save takes a while, so that a kill lands in one.
const childPad = 256 << 10

// dieInSave arms saveHook to kill this process in its n-th save.
func dieInSave(n int) {
	saves := 0
	saveHook = func() {
		if saves++; saves == n {
			p, _ := os.FindProcess(os.Getpid())
			p.Kill()
			select {} // SIGKILL cannot be caught: the process ends here
		}
	}
}

// childGrader grades every candidate it can lease, as a cohort runner
// does, once its stdin closes: the parent's starting gun. It prints
// "saving ID" before each save and "saved ID µs" once the save returned,
// with the time it took.
func childGrader(path, holder string, pad int) error {
	if n, _ := strconv.Atoi(os.Getenv(childDie)); n > 0 {
		dieInSave(n)
	}
	io.Copy(io.Discard, os.Stdin)
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		return err
	}
	defer s.Close()
	for {
		l, err := s.Next(ctx, holder, time.Minute)
		if errors.Is(err, ErrNoCandidate) {
			return nil
		}
		if err != nil {
			return err
		}
		rep, raw, sig := testReport(failer{}, l.Candidate.ID, reportOpts{pad: pad})
		fmt.Printf("saving %s\n", l.Candidate.ID)
		start := time.Now()
		if err := s.SaveReport(ctx, l, rep, raw, sig); err != nil {
			return err
		}
		fmt.Printf("saved %s %d\n", l.Candidate.ID, time.Since(start).Microseconds())
	}
}

// failer is the testing.TB of a child, which has no test: it panics.
type failer struct{ testing.TB }

func (failer) Helper()                      {}
func (failer) Fatal(args ...any)            { panic(fmt.Sprint(args...)) }
func (failer) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

// child is a grader process started by a test.
type child struct {
	cmd   *exec.Cmd
	gun   io.WriteCloser
	lines chan string
	done  chan struct{} // closed once the process ended
	err   error         // how it ended
}

// wait waits for the process to end and says how it did.
func (c *child) wait() error {
	<-c.done
	return c.err
}

// startChild starts a grader process on the store at path; it waits for
// fire.
func startChild(t *testing.T, path, holder string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=grader", childDB+"="+path, childName+"="+holder)
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	gun, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, gun: gun, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 4096), 4096)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		err := cmd.Wait()
		if err != nil && stderr.Len() > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
		}
		c.err = err
		close(c.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.done
	})
	return c
}

func (c *child) fire() { c.gun.Close() }

// TestProcessesRace has two grader processes race over one store: each
// candidate is graded exactly once.
func TestProcessesRace(t *testing.T) {
	ctx := context.Background()
	const n = 24
	path := filepath.Join(t.TempDir(), "cohort.db")
	s := openAt(t, path)
	if err := s.SetRoster(ctx, testRoster(n)); err != nil {
		t.Fatal(err)
	}
	kids := []*child{startChild(t, path, "grader-a"), startChild(t, path, "grader-b")}
	for _, k := range kids {
		k.fire()
	}
	graded := map[string][]string{}
	for i, k := range kids {
		for line := range k.lines {
			if rest, ok := strings.CutPrefix(line, "saved "); ok {
				id, _, _ := strings.Cut(rest, " ")
				graded[id] = append(graded[id], fmt.Sprint("grader ", i))
			}
		}
		if err := k.wait(); err != nil {
			t.Fatalf("grader %d: %v", i, err)
		}
	}
	per := map[string]int{}
	for id, by := range graded {
		if len(by) != 1 {
			t.Errorf("%s graded %d times: %v", id, len(by), by)
		}
		per[by[0]]++
	}
	if len(graded) != n {
		t.Errorf("%d candidates graded, want %d", len(graded), n)
	}
	t.Logf("graded per process: %v", per)
	checkOneRunEach(t, s, n)
}

// checkOneRunEach checks that every candidate is done with one report.
func checkOneRunEach(t *testing.T, s *Store, n int) {
	t.Helper()
	ctx := context.Background()
	cs, err := s.Candidates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.State != Done || c.Latest == nil || c.Latest.Run != 1 || c.Attempts != 1 {
			t.Errorf("%s: %s, %d attempts, latest %+v; want done once", c.ID, c.State, c.Attempts, c.Latest)
		}
	}
	var runs int
	s.db.QueryRowContext(ctx, "SELECT count(*) FROM reports").Scan(&runs)
	if runs != n {
		t.Errorf("%d reports for %d candidates", runs, n)
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}

// TestKillMidSave kills (SIGKILL) a grader process while it saves reports,
// then reopens the store: every save that returned is there, whole; no
// candidate is half done; the store is sound; and resuming grades exactly
// the candidates not done. One child kills itself inside its third save's
// transaction, with a report big enough that SQLite had to write pages of
// it to the log before the commit; the others are killed from outside, a
// little later into a save each time.
func TestKillMidSave(t *testing.T) {
	const n = 16
	type round struct {
		name  string
		delay time.Duration // after "saving" is read
		inTx  bool
		pad   int
	}
	rounds := []round{{name: "inside the transaction", inTx: true, pad: 4 << 20}}
	for ms := range 9 {
		d := time.Duration(ms) * time.Millisecond
		rounds = append(rounds, round{name: fmt.Sprint(d, " into a save"), delay: d, pad: childPad})
	}
	outcomes := map[string]int{}
	for i, r := range rounds {
		t.Run(r.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "cohort.db")
			s := openAt(t, path)
			if err := s.SetRoster(ctx, testRoster(n)); err != nil {
				t.Fatal(err)
			}
			s.Close()

			env := []string{childPadEnv + "=" + strconv.Itoa(r.pad)}
			if r.inTx {
				env = append(env, childDie+"=3")
			}
			k := startChild(t, path, "doomed", env...)
			k.fire()
			saved := map[string]bool{}
			var saving string
			var took []string
			for line := range k.lines {
				verb, rest, _ := strings.Cut(line, " ")
				switch verb {
				case "saving":
					saving = rest
					if !r.inTx && len(saved) == 2+i%3 {
						time.AfterFunc(r.delay, func() { k.cmd.Process.Kill() })
					}
				case "saved":
					id, us, _ := strings.Cut(rest, " ")
					saved[id] = true
					took = append(took, us+"µs")
				}
			}
			if err := k.wait(); err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("the grader was not killed: %v", err)
			}
			wal, _ := os.Stat(path + "-wal")
			t.Logf("saves took %s; the log had %d bytes at the kill", strings.Join(took, " "), wal.Size())

			s = openAt(t, path)
			if err := s.Check(ctx); err != nil {
				t.Fatal(err)
			}
			cs, err := s.Candidates(ctx)
			if err != nil {
				t.Fatal(err)
			}
			done := map[string]bool{}
			for _, c := range cs {
				raw, sig, _, err := s.Report(ctx, c.ID)
				switch c.State {
				case Done:
					done[c.ID] = true
					_, wantRaw, wantSig := testReport(t, c.ID, reportOpts{pad: r.pad})
					if err != nil || !bytes.Equal(raw, wantRaw) || !bytes.Equal(sig, wantSig) || c.Latest.Run != 1 {
						t.Errorf("%s is done, but its report is not whole: %v", c.ID, err)
					}
				case Pending, Running:
					if !errors.Is(err, ErrNotFound) || c.Latest != nil {
						t.Errorf("%s is %s, but has a report: %v", c.ID, c.State, err)
					}
					if saved[c.ID] {
						t.Errorf("%s was saved, but is %s", c.ID, c.State)
					}
				default:
					t.Errorf("%s is %s", c.ID, c.State)
				}
			}
			for id := range done {
				if !saved[id] && id != saving {
					t.Errorf("%s is done, but no save of it had begun", id)
				}
			}
			if r.inTx && done[saving] {
				t.Errorf("%s was killed before its commit, but is done", saving)
			}
			states, err := s.TaskStates(ctx)
			if err != nil || len(states) != 2*len(done) {
				t.Errorf("%d task states for %d candidates done (%v)", len(states), len(done), err)
			}

			// Resume once the dead grader's lease expired.
			s.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
			for {
				l, err := s.Next(ctx, "resumer", time.Minute)
				if errors.Is(err, ErrNoCandidate) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if done[l.Candidate.ID] {
					t.Errorf("%s was done, but handed out again", l.Candidate.ID)
				}
				rep, raw, sig := testReport(t, l.Candidate.ID, reportOpts{})
				if err := s.SaveReport(ctx, l, rep, raw, sig); err != nil {
					t.Fatal(err)
				}
			}
			var runs int
			s.db.QueryRowContext(ctx, "SELECT count(*) FROM reports").Scan(&runs)
			cs, _ = s.Candidates(ctx)
			for _, c := range cs {
				if c.State != Done || c.Latest.Run != 1 {
					t.Errorf("%s after resuming: %s, latest %+v", c.ID, c.State, c.Latest)
				}
			}
			if runs != n {
				t.Errorf("%d reports for %d candidates", runs, n)
			}

			outcome := "the save returned before the kill"
			switch {
			case !saved[saving] && done[saving]:
				outcome = "the save committed, the kill came before it returned"
			case !saved[saving]:
				outcome = "the save was cut off, nothing of it kept"
			}
			outcomes[outcome]++
			t.Logf("killed saving %s: %s", saving, outcome)
		})
	}
	t.Logf("%d kills: %v", len(rounds), outcomes)
}
