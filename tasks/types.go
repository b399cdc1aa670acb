package tasks

import "time"

// Exams are the five CMC exams, in report order.
var Exams = []string{"server", "cli", "ui", "models", "extensibility"}

// DefaultThreshold is an exam's pass mark, in percent, when the bank sets none.
const DefaultThreshold = 70.0

// DefaultAttempts is how many exam forms a candidate may draw when the
// bank sets no attempts.
const DefaultAttempts = 3

// Runner names how a task's hidden tests are run.
type Runner string

const (
	// RunnerGo runs `go test -json` on Task.Packages.
	RunnerGo Runner = "go"
	// RunnerJS runs `node --test` on Task.Packages (test file paths) with a
	// JUnit reporter.
	RunnerJS Runner = "js"
	// RunnerJest runs jest on Task.Packages (test file paths) with the
	// grader's configuration, through the image's jest driver, and reads
	// jest's JSON result.
	RunnerJest Runner = "jest"
	// RunnerOPA runs `opa test --format=json` on Task.Packages (Rego
	// policy folders or files) and the hidden Rego test files.
	RunnerOPA Runner = "opa"
)

// Scoring names how a task's points follow from its hidden tests.
type Scoring string

const (
	// AllOrNothing gives the points only when every hidden test passed.
	AllOrNothing Scoring = "all-or-nothing"
	// Partial splits the points evenly over the hidden tests.
	Partial Scoring = "partial"
)

// Bank is a loaded, validated task bank.
type Bank struct {
	// Dir is the folder the bank was loaded from.
	Dir string
	// Name is the bank's name, for reports.
	Name string
	// Go is the Go toolchain version the grading image carries (e.g. "1.26.8").
	Go string
	// Base names the upstream commit candidates forked from.
	Base Base
	// Exams holds one entry per exam in Exams order.
	Exams []Exam
	// Tasks holds every task, sorted by exam (Exams order) then id.
	Tasks []*Task
	// Digest is the hex SHA-256 over bank.yaml, every task spec and every
	// hidden and reference file, in a fixed order.
	Digest string
	// Attempts is how many exam forms a candidate may draw (attempts 1 to
	// Attempts); DefaultAttempts when bank.yaml sets none.
	Attempts int
	// JSDeps says where jest tasks find their JavaScript packages.
	JSDeps JSDeps
}

// JSDeps is where a bank's jest tasks find jest and the packages their
// code imports (bank.yaml's js_deps).
type JSDeps struct {
	// Source is JSDepsImage (the default) or JSDepsNPM.
	Source string
	// Lockfile is, for JSDepsNPM, the base commit's npm lockfile, by
	// slash path from the repository root (ui/package-lock.json); its
	// package.json is beside it.
	Lockfile string
}

// Where jest tasks find their packages.
const (
	// JSDepsImage uses the packages the grading image carries: Debian's
	// jest and its dependencies, and nothing of the repository's.
	JSDepsImage = "image"
	// JSDepsNPM installs the base commit's packages from its lockfile
	// (npm ci --ignore-scripts, on the host, with the network) into the
	// modules image; sandboxes stay offline.
	JSDepsNPM = "npm"
)

// Base says where the upstream (base) commit comes from.
type Base struct {
	// Repo is the git URL of the upstream repository. Empty means the
	// candidate's own repository (a fork carries upstream's branches).
	Repo string
	// Ref is a branch name or a full commit SHA.
	Ref string
}

// Exam is one of the five exams and its pass mark.
type Exam struct {
	// Name is one of Exams.
	Name string
	// Threshold is the pass mark in percent (0 < t <= 100).
	Threshold float64
	// Draw is how many of the exam's tasks a form draws (bank.yaml's
	// exams.<name>.tasks); 0 means all of them.
	Draw int
}

// Task is one graded task.
type Task struct {
	// ID is unique in the bank: lowercase letters, digits and dashes.
	ID string
	// Exam is one of Exams.
	Exam string
	// Title is shown to candidates.
	Title string
	// Difficulty is easy, medium or hard.
	Difficulty string
	// Points is what the task is worth (> 0; default 2).
	Points float64
	// Runner is go, js, jest or opa.
	Runner Runner
	// Packages are Go package patterns (./server/handlers) for RunnerGo,
	// test file paths relative to the repo root for RunnerJS and
	// RunnerJest, or the
	// policy folders and .rego files opa loads for RunnerOPA.
	Packages []string
	// Tests are the hidden test names that must pass. For Go these are
	// top-level test function names or subtests as go test reports them
	// ("TestX/case"); for JS, the test names as the reporter writes them;
	// for jest, the describe blocks and the test joined by " > "
	// ("formatBytes > rounds to one decimal");
	// for OPA, the test rules by full path (data.models.policy.test_allow).
	Tests []string
	// Scoring is all-or-nothing (default) or partial.
	Scoring Scoring
	// Timeout is the wall-clock limit of the task's sandbox run.
	Timeout time.Duration
	// Hidden are the hidden files, as paths relative to the repo root.
	Hidden []HiddenFile
	// Restore are paths relative to the repo root restored from the base
	// commit before running.
	Restore []string
	// Reference is the reference solution, a unified diff against the base
	// (as `git diff` writes it). Used by calibration.
	Reference []byte
	// Statement is the task statement in markdown, shown to candidates
	// (may be empty).
	Statement string
	// Dir is the task's folder inside the bank.
	Dir string
	// NodeModules is, for a jest task of a bank with js_deps npm, the
	// folder of the base's installed packages, relative to the image's
	// folder of them (sandbox.NodeModulesDir): the lockfile's folder,
	// then node_modules. Empty otherwise.
	NodeModules string
}

// HiddenFile is one hidden file of a task.
type HiddenFile struct {
	// Path is relative to the repo root, slash-separated.
	Path string
	// Data is the file's content.
	Data []byte
}
