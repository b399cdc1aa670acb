package grader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/grader/plan"
	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/tamper"
	"github.com/cmcgrader/cmcgrader/grader/testout"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// Progress receives task events while grading runs. Methods may be called
// from several goroutines.
type Progress interface {
	// Phase names the step before the tasks run (fetching, preparing
	// the image), which can take a while.
	Phase(msg string)
	TaskStarted(t *tasks.Task)
	TaskDone(r report.TaskGrade)
}

// Grader grades submissions against a bank.
type Grader struct {
	// Runner runs the sandboxes. Required.
	Runner sandbox.Runner
	// Images prepares the grading image. Required.
	Images sandbox.Images
	// Log receives progress and diagnostics. Required.
	Log *logrus.Entry
	// Limits apply to every task run; a task's own timeout replaces
	// Limits.Timeout.
	Limits sandbox.Limits
	// Runtime is the OCI runtime for sandboxes; empty is the engine's default.
	Runtime string
	// Recheck runs a failed task a second time; when the two runs differ
	// the task is marked flaky and its exam cannot be decided.
	Recheck bool
	// Jobs bounds how many tasks run at once; zero means 1.
	Jobs int
	// Apart runs every task in a sandbox of its own, never several Go
	// tasks in one go test (see plan.Units).
	Apart bool
	// Fetch bounds fetches (size, time); URL and ref fields are ignored.
	Fetch repo.FetchOptions
	// Cache, if set, keeps a mirror of the base repository on disk, so
	// that a candidate's fetch transfers only what the fork added.
	Cache *repo.FetchCache
	// Progress, if set, is told when tasks start and end.
	Progress Progress
	// Toolchain, if set, is asked the image's Go and Node versions for
	// the report's receipt; nil leaves them empty.
	Toolchain Toolchain
	// Version is the grader version written into reports.
	Version string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Submission names what to grade.
type Submission struct {
	// Repo is the git URL of the candidate's fork.
	Repo string
	// Branch or Commit (a full SHA) selects what to grade; exactly one is set.
	Branch, Commit string
	// BaseRepo and BaseRef override the bank's base; empty means the bank's
	// (and an empty base repository means the candidate's).
	BaseRepo, BaseRef string
}

// ErrSubmission marks a problem with what was asked to be graded (bad URL,
// unknown branch...), as opposed to a grader failure.
var ErrSubmission = errors.New("submission")

// ErrInterrupted marks a grading stopped by its context once the tasks
// had started; Grade returns the partial report beside it.
var ErrInterrupted = errors.New("grading interrupted")

// Grade fetches the submission and the base, prepares the image and grades
// every task of the bank. An error means grading could not be done; a
// candidate's failures are data in the report. When the sandbox backend
// stops answering (sandbox.ErrBackendDown), no further task is started
// and Grade returns an error wrapping it, never a report.
//
// When ctx is cancelled once the tasks have started, Grade returns the
// partial report together with an error wrapping ErrInterrupted and the
// context's cause: the tasks that finished keep their results, the others
// are report.NotGraded, and the report is marked Interrupted (its verdict
// INCOMPLETE). Cancelled before that, it returns only the error.
func (g *Grader) Grade(ctx context.Context, bank *tasks.Bank, sub Submission) (*report.Report, error) {
	now := g.Now
	if now == nil {
		now = time.Now
	}
	started := now()
	if (sub.Branch == "") == (sub.Commit == "") {
		return nil, fmt.Errorf("%w: give exactly one of a branch or a commit", ErrSubmission)
	}
	mirror, err := g.upstream(ctx, bank, sub)
	if err != nil {
		return nil, err
	}
	if mirror != nil {
		defer mirror.Close()
	}
	fo := g.Fetch
	fo.URL, fo.Branch, fo.Commit = sub.Repo, sub.Branch, sub.Commit
	fo.Upstream = mirror
	g.phase("fetching the submission")
	g.Log.WithField("repo", sub.Repo).Info("fetching submission")
	cand, err := repo.Fetch(ctx, g.Log, fo)
	if err != nil {
		return nil, submissionFetchError("fetch submission", err)
	}
	defer cand.Close()
	baseRepo, baseRef, err := baseOf(bank, sub)
	if err != nil {
		return nil, err
	}
	base, err := g.fetchBase(ctx, bank, sub, mirror)
	if err != nil {
		return nil, err
	}
	defer base.Close()
	// The whole workspace is checked once, so a hostile tree is rejected
	// with its reason before any sandbox starts.
	stats, err := cand.Check(repo.Overlay{}, repo.TarLimits{})
	if err != nil {
		return nil, fmt.Errorf("%w: workspace of %s: %v", ErrSubmission, cand.Commit, err)
	}
	// Changes to tests, build files and CI are flagged for the proctor;
	// they never change a score.
	flags, err := tamper.Scan(ctx, cand, base, bank)
	if err != nil {
		return nil, fmt.Errorf("%w: compare %s with the base %s: %v", ErrSubmission, cand.Commit, base.Commit, err)
	}
	if len(flags) > 0 {
		g.Log.WithField("flags", len(flags)).Warn("changes for the proctor to review (tampering)")
	}
	req, err := imageRequest(bank, base)
	if err != nil {
		return nil, err
	}
	g.phase("preparing the sandbox image")
	img, err := g.Images.Prepare(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("prepare image: %w", err)
	}
	// The image's toolchain versions, for the receipt, are asked while
	// the tasks run: the probe is a sandbox of its own.
	versions := g.toolVersions(ctx, img)
	results, err := g.gradeTasks(ctx, bank, cand, base, img, stats)
	if err != nil {
		return nil, err
	}
	rep := &report.Report{
		Version:       report.ReportVersion,
		GraderVersion: g.Version,
		Repository:    sub.Repo,
		Branch:        sub.Branch,
		Commit:        cand.Commit,
		Tree:          cand.Tree,
		Base:          report.BaseInfo{Repository: baseRepo, Ref: baseRef, Commit: base.Commit},
		Bank:          report.BankInfo{Name: bank.Name, Digest: bank.Digest},
		Image:         img,
		StartedAt:     started.UTC(),
		Interrupted:   ctx.Err() != nil,
		Tasks:         results,
	}
	for _, r := range results {
		if r.Forged {
			rep.Tampering = append(rep.Tampering, report.TamperFlag{Kind: report.TamperForgedResults, Task: r.ID, Detail: r.Reason})
		}
	}
	rep.Tampering = append(flags, rep.Tampering...)
	if rep.Tampering == nil {
		rep.Tampering = []report.TamperFlag{} // an empty list in JSON, not null
	}
	report.ApplyHolds(results, flags)
	rep.Summary = report.Summarize(bank, results)
	rep.Receipt = g.receipt(rep, bank, cand, <-versions)
	rep.Receipt.Image.JSLockfile = req.JS.Digest()
	rep.FinishedAt = now().UTC()
	if rep.Interrupted {
		return rep, fmt.Errorf("%w: %w", ErrInterrupted, context.Cause(ctx))
	}
	return rep, nil
}

// fetchError wraps a fetch failure; problems with what was asked for (as
// opposed to the network or the grader) also wrap ErrSubmission.
func submissionFetchError(what string, err error) error {
	err = fmt.Errorf("%s: %w", what, err)
	for _, e := range []error{repo.ErrBadURL, repo.ErrBadRef, repo.ErrUnknownBranch, repo.ErrCommitNotFound, repo.ErrTooLarge} {
		if errors.Is(err, e) {
			return submissionError{err}
		}
	}
	return err
}

// submissionError is a problem with what was asked to be graded; it reads
// as the error it wraps and matches ErrSubmission.
type submissionError struct{ err error }

func (e submissionError) Error() string        { return e.err.Error() }
func (e submissionError) Unwrap() error        { return e.err }
func (e submissionError) Is(target error) bool { return target == ErrSubmission }

func (g *Grader) phase(msg string) {
	if g.Progress != nil {
		g.Progress.Phase(msg)
	}
}

// gradeTasks runs every task, at most g.Jobs at once, starting them in
// bank order, and returns the results in bank order. It starts no task
// once ctx is done or the backend stopped answering; the tasks without a
// result then are report.NotGraded. The error is the backend's, wrapped:
// no result counts then.
func (g *Grader) gradeTasks(ctx context.Context, bank *tasks.Bank, cand, base *repo.Snapshot, img sandbox.Image, stats repo.WorkspaceStats) ([]report.TaskGrade, error) {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	results := make([]report.TaskGrade, len(bank.Tasks))
	started := make([]bool, len(bank.Tasks))
	sem := make(chan struct{}, max(g.Jobs, 1))
	var wg sync.WaitGroup
	units := plan.Units(bank.Tasks)
	if g.Apart {
		units = units[:0]
		for i := range bank.Tasks {
			units = append(units, []int{i})
		}
	}
	for _, unit := range units {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		ts := make([]*tasks.Task, len(unit))
		for k, i := range unit {
			ts[k] = bank.Tasks[i]
			started[i] = true
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if g.Progress != nil {
				for _, t := range ts {
					g.Progress.TaskStarted(t)
				}
			}
			trs, err := g.gradeUnit(ctx, ts, cand, base, img)
			for k, tr := range trs {
				if tr.Status == "" {
					continue // not finished
				}
				tr.Workspace = workspaceInfo(stats)
				results[unit[k]] = tr
				if g.Progress != nil {
					g.Progress.TaskDone(tr)
				}
			}
			if err != nil {
				stop(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); errors.Is(err, sandbox.ErrBackendDown) {
		return nil, backendDown(err)
	}
	for i, t := range bank.Tasks {
		if results[i].Status == "" {
			results[i] = notGraded(t, started[i])
		}
	}
	return results, nil
}

// backendDown is the error of a grading whose sandbox backend stopped
// answering.
func backendDown(err error) error {
	return fmt.Errorf("the sandbox engine stopped answering: %w", err)
}

// halt returns the error that stops the grading, nil for an error of one
// run: ctx's, when ctx is done, or err when the backend stopped answering.
func halt(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sandbox.ErrBackendDown):
		return err
	case ctx.Err() != nil:
		return context.Cause(ctx)
	}
	return nil
}

func workspaceInfo(s repo.WorkspaceStats) *report.WorkspaceInfo {
	wi := &report.WorkspaceInfo{Files: s.Files, Bytes: s.Bytes}
	for _, sk := range s.Skipped {
		wi.Skipped = append(wi.Skipped, sk.String())
	}
	sort.Strings(wi.Skipped)
	return wi
}

// gradeTask runs one task, retrying once when the grader (not the
// candidate) failed. A non-nil error stops the grading (see halt); the
// result is then empty, or the first one when its recheck was stopped.
func (g *Grader) gradeTask(ctx context.Context, t *tasks.Task, cand, base *repo.Snapshot, img sandbox.Image) (report.TaskGrade, error) {
	ov, err := overlayFor(t, base)
	if err != nil {
		return notGradable(t, err, 0), nil
	}
	tr, runs, err := g.scoreOnce(ctx, t, cand, ov, img, 0)
	if err != nil {
		if err := halt(ctx, err); err != nil {
			return report.TaskGrade{}, err
		}
		return notGradable(t, err, runs), nil
	}
	tr.Attempts = runs
	if g.Recheck && tr.Status == report.Failed && !tr.Forged {
		return g.recheck(ctx, t, cand, base, img, tr)
	}
	return tr, nil
}

// recheck runs failed task t a second time, alone; a different result
// marks it flaky for the proctor. A non-nil error stops the grading (see
// halt); the first result is returned beside it.
func (g *Grader) recheck(ctx context.Context, t *tasks.Task, cand, base *repo.Snapshot, img sandbox.Image, tr report.TaskGrade) (report.TaskGrade, error) {
	log := g.Log.WithField("task", t.ID)
	ov, err := overlayFor(t, base)
	if err != nil {
		return tr, nil
	}
	again, runs, err := g.scoreOnce(ctx, t, cand, ov, img, 0)
	tr.Attempts += runs
	switch {
	case halt(ctx, err) != nil:
		log.WithError(err).Warn("recheck stopped; keeping the first result")
		return tr, halt(ctx, err)
	case err != nil:
		log.WithError(err).Warn("could not recheck the failure; keeping the first result")
	case !sameResult(tr, again):
		tr.Flaky = true
		tr.Recheck = &report.RecheckInfo{Status: again.Status, Points: again.Points, Reason: again.Reason}
		tr.Reason = fmt.Sprintf("FLAKY: first run %s %g, second run %s %g; %s", tr.Status, tr.Points, again.Status, again.Points, tr.Reason)
		log.WithFields(logrus.Fields{"first": tr.Status, "second": again.Status}).Warn("task is flaky")
	}
	return tr, nil
}

// scoreOnce runs task t and scores it, trying a second time when the
// grader (not the candidate) failed, unless the grading must stop (see
// halt). It returns the runs made so far, counting from runs.
func (g *Grader) scoreOnce(ctx context.Context, t *tasks.Task, cand *repo.Snapshot, ov repo.Overlay, img sandbox.Image, runs int) (report.TaskGrade, int, error) {
	log := g.Log.WithField("task", t.ID)
	var lastErr error
	for try := 1; try <= 2; try++ {
		if err := ctx.Err(); err != nil {
			return report.TaskGrade{}, runs, context.Cause(ctx)
		}
		runs++
		o, err := g.runTask(ctx, t, cand, ov, img)
		if err == nil {
			tr := report.Score(t, o)
			log.WithFields(logrus.Fields{"status": tr.Status, "points": tr.Points, "duration": tr.Duration.Round(time.Millisecond), "run": runs}).Info("task graded")
			return tr, runs, nil
		}
		if halt(ctx, err) != nil {
			return report.TaskGrade{}, runs, err
		}
		lastErr = err
		log.WithError(err).WithField("run", runs).Warn("task could not be graded")
	}
	return report.TaskGrade{}, runs, lastErr
}

// sameResult reports whether two runs of a task gave the same grade, test
// by test.
func sameResult(a, b report.TaskGrade) bool {
	if a.Status != b.Status || a.Points != b.Points || len(a.Tests) != len(b.Tests) {
		return false
	}
	for i := range a.Tests {
		if a.Tests[i].Name != b.Tests[i].Name || a.Tests[i].Status != b.Tests[i].Status {
			return false
		}
	}
	return true
}

// notGraded is the result of a task the grading stopped before it
// finished: started says whether it had begun.
func notGraded(t *tasks.Task, started bool) report.TaskGrade {
	reason := "grading was interrupted before the task ran"
	if started {
		reason = "grading was interrupted while the task ran"
	}
	return report.TaskGrade{
		ID: t.ID, Exam: t.Exam, Title: t.Title, Possible: t.Points,
		Status: report.NotGraded, Reason: reason,
	}
}

func notGradable(t *tasks.Task, err error, attempts int) report.TaskGrade {
	return report.TaskGrade{
		ID: t.ID, Exam: t.Exam, Title: t.Title, Possible: t.Points,
		Status: report.NotGradable, Reason: "grader error: " + err.Error(), Attempts: attempts,
	}
}

// overlayFor collects the task's hidden files and the protected files of
// the base commit.
func overlayFor(t *tasks.Task, base *repo.Snapshot) (repo.Overlay, error) {
	ov := repo.Overlay{Hidden: map[string][]byte{}, Restore: map[string][]byte{}}
	for _, h := range t.Hidden {
		ov.Hidden[h.Path] = h.Data
	}
	for _, p := range t.Restore {
		data, err := base.ReadFile(p)
		switch {
		case err == nil:
			ov.Restore[p] = data
		case errors.Is(err, repo.ErrNotExist):
			ov.Restore[p] = nil // absent in the base: absent in the workspace
		default:
			return repo.Overlay{}, fmt.Errorf("read %s from base: %w", p, err)
		}
	}
	return ov, nil
}

// runTask runs one task's hidden tests once. The error is the grader's.
func (g *Grader) runTask(ctx context.Context, t *tasks.Task, cand *repo.Snapshot, ov repo.Overlay, img sandbox.Image) (report.Outcome, error) {
	o, _, err := g.run(ctx, t, cand, ov, img)
	return o, err
}

// run runs t's hidden tests once and returns, beside the outcome, the
// import path each Go canary reported, by its folder. The error is the
// grader's.
func (g *Grader) run(ctx context.Context, t *tasks.Task, cand *repo.Snapshot, ov repo.Overlay, img sandbox.Image) (report.Outcome, map[string]string, error) {
	c, err := newCanary(t)
	if err != nil {
		return report.Outcome{}, nil, err
	}
	ov = ov.WithHidden(c.Files)
	pr, pw := io.Pipe()
	go func() {
		_, err := cand.WriteTar(pw, ov, repo.TarLimits{})
		pw.CloseWithError(err)
	}()
	defer pr.Close()

	lim := g.Limits
	lim.Timeout = t.Timeout
	spec := sandbox.Spec{
		Image:     img.ID,
		Cmd:       Command(t, c),
		Env:       runEnv(lim),
		Workspace: pr,
		Limits:    lim,
		Labels:    map[string]string{"dev.cmcgrader.task": t.ID},
		Runtime:   g.Runtime,
		Private:   c.Private,
		Stdin:     c.Entry,
		// The go command runs as the supervisor and starts each test
		// binary through the supervisor's exec helper; node and opa run
		// candidate code themselves, as the sandbox user.
		Driver: t.Runner == tasks.RunnerGo,
	}
	res, err := g.Runner.Run(ctx, spec)
	if err != nil {
		return report.Outcome{}, nil, err
	}
	var parsed *testout.Results
	switch t.Runner {
	case tasks.RunnerOPA:
		parsed, err = testout.ParseOPA(res.Stdout)
		if err != nil {
			// opa writes its report whole at the end: unparsable
			// output is a run killed or flooded.
			parsed = &testout.Results{Incomplete: true}
		}
	case tasks.RunnerJest:
		parsed, err = testout.ParseJest(res.Stdout)
		if err != nil {
			// The driver writes its result last: output without one is a
			// run killed, flooded or ended early by candidate code.
			parsed = &testout.Results{Incomplete: true}
		}
	case tasks.RunnerJS:
		parsed, err = testout.ParseJUnit(strings.NewReader(string(res.Stdout)))
		if err != nil {
			// Unparsable output is the candidate's doing (the run was
			// killed, or flooded): no test reported a pass.
			parsed = &testout.Results{Incomplete: true}
		}
	default:
		parsed, err = testout.ParseGo(strings.NewReader(string(res.Stdout)))
		if err != nil {
			return report.Outcome{}, nil, fmt.Errorf("read test output: %w", err)
		}
	}
	o := report.Outcome{Run: res, Results: parsed}
	shadow, shadowPassed := "", false
	if t.Runner == tasks.RunnerOPA {
		shadow, shadowPassed = c.opaOwn(t, parsed)
	}
	attested, late := c.attested(parsed), ""
	if attested && shadow != "" {
		attested = false
		o.Mismatch = shadow
	} else if attested {
		// The output is the tests' own; it must also agree with how
		// the test processes ended, and hold every result they reported.
		why := c.check(parsed, res.Exits)
		if why == "" {
			why = c.whole(t, parsed, res.StdoutTruncated)
		}
		if why == "" {
			late = c.late(parsed)
			why = late
		}
		if why != "" {
			attested = false
			o.Mismatch = why
		}
	}
	if !attested {
		o.Unfinished = true
		// Results after the check test come from parallel hidden
		// tests, the bank's doing: they are not counted, but not called
		// forged either.
		o.Forged = late == "" && !res.TimedOut && !res.OOMKilled && !parsed.BuildFailed && (onlyPasses(t, parsed) || shadowPassed)
	}
	pkgs := c.packages(parsed)
	c.strip(parsed)
	if len(parsed.Tests) == 0 && !parsed.BuildFailed && res.ExitCode != 0 && !res.TimedOut && !res.OOMKilled {
		// Nothing ran: the go command or node failed before any test
		// (a broken go.mod, a syntax error the runner reports on stderr).
		parsed.BuildFailed = true
		parsed.BuildOutput = string(res.Stderr)
	}
	return o, pkgs, nil
}

// onlyPasses reports whether res claims at least one of t's hidden tests
// passed and none failed.
func onlyPasses(t *tasks.Task, res *testout.Results) bool {
	hidden := map[string]bool{}
	for _, n := range t.Tests {
		hidden[n] = true
	}
	passed := false
	for _, r := range res.Tests {
		if !hidden[r.Name] {
			continue
		}
		switch r.Status {
		case testout.Pass:
			passed = true
		case testout.Fail:
			return false
		}
	}
	return passed
}

// runEnv is the environment of every task run: fixed time zone and locale,
// and as many Go threads as the run has CPUs, so that runs are alike.
func runEnv(lim sandbox.Limits) []string {
	cpus := lim.CPUs
	if cpus <= 0 {
		cpus = sandbox.DefaultLimits.CPUs
	}
	return []string{
		"TZ=UTC", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "CI=true", "NO_COLOR=1",
		fmt.Sprintf("GOMAXPROCS=%d", max(1, int(cpus))),
		"GOWORK=off",
	}
}

// Command returns the command that runs task t's hidden tests, with the
// run's canary c. JavaScript: node runs the entry module, which the
// supervisor gives it on stdin, and its tests in one process (jest: the
// entry runs the image's jest driver, in band). OPA: opa
// test loads the task's policy paths, the hidden files they do not hold,
// and the canary from stdin, and runs the hidden test rules and the
// canary only. Go: the go command, run as the supervisor, compiles the
// canary in through -overlay and runs each test binary as the sandbox
// user through sandbox.ExecHelper.
func Command(t *tasks.Task, c *canary) []string {
	if t.Runner == tasks.RunnerOPA {
		// opa opens the canary by path, /dev/stdin: a pipe made by the
		// supervisor is not the sandbox user's to open again, so cat, run
		// as that user too, hands the canary on through a pipe of its own.
		// The shell's exit status is opa's.
		cmd := []string{"sh", "-c", `cat | ` + sandbox.OPAPath + ` "$@"`, "opa", "test", "--format=json", "--exit-zero-on-skipped",
			"--timeout=" + t.Timeout.String(), "--run=" + opaRunPattern(append(append([]string{}, t.Tests...), c.Names...)), "--"}
		cmd = append(cmd, t.Packages...)
		for _, h := range t.Hidden {
			if !under(h.Path, t.Packages) {
				cmd = append(cmd, h.Path)
			}
		}
		return append(cmd, opaStdin)
	}
	if t.Runner == tasks.RunnerJest {
		return []string{"node", "--input-type=module"}
	}
	if t.Runner == tasks.RunnerJS {
		return []string{"node", "--test-reporter=" + sandbox.ReporterPath, "--test-reporter-destination=stdout", "--input-type=module"}
	}
	names := append(append([]string{}, t.Tests...), c.Names...)
	return append([]string{"go", "test", "-json", "-count=1", "-shuffle=off", "-vet=off",
		"-overlay=" + path.Join(sandbox.PrivateDir, overlayFile), "-exec=" + sandbox.ExecHelper,
		"-run", RunPattern(names)}, t.Packages...)
}

// RunPattern returns a -run pattern matching exactly the top-level tests
// of names (subtest names select their parent).
func RunPattern(names []string) string {
	seen := map[string]bool{}
	var top []string
	for _, n := range names {
		n, _, _ = strings.Cut(n, "/")
		if !seen[n] {
			seen[n] = true
			top = append(top, regexp.QuoteMeta(n))
		}
	}
	return "^(" + strings.Join(top, "|") + ")$"
}

// opaRunPattern returns an `opa test --run` pattern matching exactly the
// test rules of names (full paths), and their repeats: opa renames the
// second declaration of a test rule in a package "name#01", which its
// filter sees as data.pkg["name#01"].
func opaRunPattern(names []string) string {
	var alts []string
	for _, n := range names {
		i := strings.LastIndexByte(n, '.')
		alts = append(alts, regexp.QuoteMeta(n), regexp.QuoteMeta(n[:i])+`\["`+regexp.QuoteMeta(n[i+1:])+`#[0-9]+"\]`)
	}
	return "^(" + strings.Join(alts, "|") + ")$"
}

// under reports whether the slash path p is one of roots or inside one.
func under(p string, roots []string) bool {
	for _, r := range roots {
		r = path.Clean(r)
		if r == "." || p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}
