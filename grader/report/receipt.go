package report

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cmcgrader/cmcgrader/internal/escape"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// Receipt records every input that decided a report's scores, so that the
// grading can be re-run exactly (see Regrade). Its JSON form is documented
// in docs/report.md. A report's signature is not part of it: it is a file
// of its own (see SignReport).
type Receipt struct {
	// Repository is the URL the graded commit was fetched from.
	Repository string `json:"repository"`
	// Commit is the full SHA graded and Tree its root tree.
	Commit string `json:"commit"`
	Tree   string `json:"tree"`
	// Base is the upstream commit the protected files came from.
	Base ReceiptBase `json:"base"`
	// Bank identifies the bank and each task graded.
	Bank ReceiptBank `json:"bank"`
	// Image is the sandbox image the tasks ran in.
	Image ReceiptImage `json:"image"`
	// Limits are the sandbox limits of every task run (a task's own
	// timeout is in Bank.Tasks).
	Limits ReceiptLimits `json:"limits"`
	// GraderVersion is the version of the grader that graded.
	GraderVersion string `json:"grader_version"`
}

// ReceiptBase names the base commit and, when the fetched history shows
// it, the merge-base of the graded commit and the base.
type ReceiptBase struct {
	Repository string `json:"repository"`
	Ref        string `json:"ref"`
	Commit     string `json:"commit"`
	// MergeBase is Commit when the base commit is the graded commit or
	// an ancestor of it that the fetched history names: a parent of the
	// graded commit, or of any ancestor fetched. Fetches are shallow
	// (depth 1) unless a mirror of the base is used, so only the graded
	// commit's own parents are known then; when the candidate committed
	// more than once, or merged, it is empty: saying more would be a
	// guess.
	MergeBase string `json:"merge_base"`
}

// ReceiptBank identifies the bank and the tasks graded.
type ReceiptBank struct {
	Name string `json:"name"`
	// Digest is the bank's digest (tasks.Bank.Digest), over the whole
	// bank even when only some tasks were graded.
	Digest string `json:"digest"`
	// Tasks are the tasks graded, in bank order.
	Tasks []TaskDigest `json:"tasks"`
}

// TaskDigest identifies one task of the bank.
type TaskDigest struct {
	ID string `json:"id"`
	// Digest is tasks.Task.Digest: its spec after defaults, hidden files,
	// reference and statement.
	Digest string `json:"digest"`
	// Timeout is the task's wall-clock limit.
	Timeout time.Duration `json:"timeout_ns"`
}

// ReceiptImage identifies the sandbox image and the toolchains in it.
type ReceiptImage struct {
	Ref string `json:"ref"`
	ID  string `json:"id"`
	// Go and Node are what `go env GOVERSION` and `node --version` print
	// in the image; empty when they were not asked (Grader.Toolchain is
	// nil) or the image has no such program.
	Go   string `json:"go"`
	Node string `json:"node"`
	// OPA is the version `opa version` prints in the image (e.g.
	// "1.22.3"); empty when not asked or the image has no opa.
	OPA string `json:"opa,omitempty"`
	// Jest is the version of the jest package the image carries (e.g.
	// "29.3.1"); empty when not asked or the image has none.
	Jest string `json:"jest,omitempty"`
	// JSLockfile is, for a bank whose jest tasks install the base's
	// packages (js_deps npm), the lockfile's path and the hex SHA-256 of
	// its content at the base commit ("ui/package-lock.json sha256:...").
	JSLockfile string `json:"js_lockfile,omitempty"`
}

// ReceiptLimits are the limits of every task run, defaults applied, and
// the settings that can change a score.
type ReceiptLimits struct {
	MemoryBytes    int64   `json:"memory_bytes"`
	CPUs           float64 `json:"cpus"`
	Pids           int64   `json:"pids"`
	WorkspaceBytes int64   `json:"workspace_bytes"`
	TmpBytes       int64   `json:"tmp_bytes"`
	OutputBytes    int64   `json:"output_bytes"`
	// Runtime is the OCI runtime; empty is the engine's default.
	Runtime string `json:"runtime,omitempty"`
	// Recheck says failed tasks were run a second time.
	Recheck bool `json:"recheck"`
}

// Sandbox returns the limits as sandbox limits (without a timeout: each
// task has its own).
func (l ReceiptLimits) Sandbox() sandbox.Limits {
	return sandbox.Limits{
		Memory: l.MemoryBytes, CPUs: l.CPUs, Pids: l.Pids,
		WorkspaceBytes: l.WorkspaceBytes, TmpBytes: l.TmpBytes, OutputBytes: l.OutputBytes,
	}
}

// ErrBankMismatch means a bank is not the one a receipt was graded with.
var ErrBankMismatch = errors.New("bank does not match the receipt")

// Tasks returns the part of bank the receipt graded, after checking that
// the bank is the one the receipt names: same digest, and each task with
// the same digest. The error lists what differs.
func (r *Receipt) Tasks(bank *tasks.Bank) (*tasks.Bank, error) {
	var diffs []string
	ids := make([]string, 0, len(r.Bank.Tasks))
	for _, td := range r.Bank.Tasks {
		ids = append(ids, td.ID)
		t := bank.Task(td.ID)
		switch {
		case t == nil:
			diffs = append(diffs, td.ID+" is missing")
		case t.Digest() != td.Digest:
			diffs = append(diffs, td.ID+" changed")
		}
	}
	if bank.Digest != r.Bank.Digest || len(diffs) > 0 {
		sort.Strings(diffs)
		what := ""
		if len(diffs) > 0 {
			what = " (" + strings.Join(diffs, ", ") + ")"
		}
		return nil, fmt.Errorf("%w: bank %s has digest %s, the receipt's bank %s has %s%s; regrade with the bank the report was graded with",
			ErrBankMismatch, bank.Name, escape.Short(bank.Digest), r.Bank.Name, escape.Short(r.Bank.Digest), what)
	}
	return bank.Subset(ids)
}
