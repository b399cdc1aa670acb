package grader

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// Receipt records every input that decided a report's scores, so that the
// grading can be re-run exactly (see Regrade) and the report signed (see
// Report.Sign). Its JSON form is documented in docs/report.md.
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
	// Signature, when set, signs the whole report (see Report.Sign).
	Signature *Signature `json:"signature,omitempty"`
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

// ToolVersions are the toolchain versions an image carries.
type ToolVersions struct {
	Go, Node string
}

// Toolchain tells which Go and Node versions an image carries.
type Toolchain interface {
	Versions(ctx context.Context, img sandbox.Image) (ToolVersions, error)
}

// SandboxToolchain asks the image itself: it runs `go env GOVERSION` and
// `node --version` once, in a sandbox with no workspace.
type SandboxToolchain struct {
	// Runner runs the sandbox. Required.
	Runner sandbox.Runner
	// Runtime is the OCI runtime; empty is the engine's default.
	Runtime string
}

var _ Toolchain = SandboxToolchain{}

// Versions runs the probe in img. An empty version means the image has no
// such program.
func (s SandboxToolchain) Versions(ctx context.Context, img sandbox.Image) (ToolVersions, error) {
	res, err := s.Runner.Run(ctx, sandbox.Spec{
		Image: img.ID,
		Cmd: []string{"sh", "-c",
			`echo "go=$(go env GOVERSION 2>/dev/null)"; echo "node=$(node --version 2>/dev/null)"`},
		Env:     []string{"LANG=C.UTF-8", "LC_ALL=C.UTF-8"},
		Limits:  sandbox.Limits{Timeout: 2 * time.Minute, OutputBytes: 64 << 10},
		Labels:  map[string]string{"dev.cmcgrader.probe": "toolchain"},
		Runtime: s.Runtime,
	})
	if err != nil {
		return ToolVersions{}, fmt.Errorf("ask image %s for its toolchain versions: %w", img.ID, err)
	}
	if res.TimedOut || res.ExitCode != 0 {
		return ToolVersions{}, fmt.Errorf("ask image %s for its toolchain versions: the probe exited %d (timed out: %v): %s",
			img.ID, res.ExitCode, res.TimedOut, oneLine(string(res.Stderr), 200))
	}
	var v ToolVersions
	sc := bufio.NewScanner(strings.NewReader(string(res.Stdout)))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), "=")
		switch key {
		case "go":
			v.Go = strings.TrimSpace(val)
		case "node":
			v.Node = strings.TrimSpace(val)
		}
	}
	return v, nil
}

// toolVersions starts asking g.Toolchain for img's versions; the answer
// arrives on the channel. A toolchain that cannot be asked gives empty
// versions and is logged: the scores do not depend on it.
func (g *Grader) toolVersions(ctx context.Context, img sandbox.Image) <-chan ToolVersions {
	done := make(chan ToolVersions, 1)
	if g.Toolchain == nil {
		done <- ToolVersions{}
		return done
	}
	go func() {
		v, err := g.Toolchain.Versions(ctx, img)
		if err != nil {
			g.Log.WithError(err).Warn("the receipt will not name the image's Go and Node versions")
		}
		done <- v
	}()
	return done
}

// receipt records the inputs of rep, whose fields other than Receipt are
// filled, and the image's toolchain versions v.
func (g *Grader) receipt(rep *Report, bank *tasks.Bank, cand *Snapshot, v ToolVersions) *Receipt {
	lim := g.Limits.WithDefaults()
	rc := &Receipt{
		Repository: rep.Repository,
		Commit:     rep.Commit,
		Tree:       rep.Tree,
		Base: ReceiptBase{
			Repository: rep.Base.Repository, Ref: rep.Base.Ref, Commit: rep.Base.Commit,
			MergeBase: cand.mergeBase(rep.Base.Commit),
		},
		Bank:  ReceiptBank{Name: bank.Name, Digest: bank.Digest, Tasks: make([]TaskDigest, 0, len(bank.Tasks))},
		Image: ReceiptImage{Ref: rep.Image.Ref, ID: rep.Image.ID},
		Limits: ReceiptLimits{
			MemoryBytes: lim.Memory, CPUs: lim.CPUs, Pids: lim.Pids,
			WorkspaceBytes: lim.WorkspaceBytes, TmpBytes: lim.TmpBytes, OutputBytes: lim.OutputBytes,
			Runtime: g.Runtime, Recheck: g.Recheck,
		},
		GraderVersion: g.Version,
	}
	rc.Image.Go, rc.Image.Node = v.Go, v.Node
	for _, t := range bank.Tasks {
		rc.Bank.Tasks = append(rc.Bank.Tasks, TaskDigest{ID: t.ID, Digest: t.Digest(), Timeout: t.Timeout})
	}
	return rc
}

// maxAncestry bounds the walk of a graded commit's history.
const maxAncestry = 100_000

// mergeBase returns base when it is the snapshot's commit or an ancestor
// of it that the objects fetched name, else "". A shallow fetch holds the
// graded commit but none of its parents: the walk then sees the parents'
// hashes and stops.
func (s *Snapshot) mergeBase(base string) string {
	if base == "" || s.objects == nil {
		return ""
	}
	if s.Commit == base {
		return base
	}
	want := plumbing.NewHash(base)
	seen := map[plumbing.Hash]bool{}
	queue := []plumbing.Hash{plumbing.NewHash(s.Commit)}
	for len(queue) > 0 && len(seen) < maxAncestry {
		h := queue[0]
		queue = queue[1:]
		if seen[h] {
			continue
		}
		seen[h] = true
		c, err := object.GetCommit(s.objects, h)
		if err != nil {
			continue // not fetched: the history ends here
		}
		for _, p := range c.ParentHashes {
			if p == want {
				return base
			}
			queue = append(queue, p)
		}
	}
	return ""
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
			ErrBankMismatch, bank.Name, short(bank.Digest), r.Bank.Name, short(r.Bank.Digest), what)
	}
	return bank.Subset(ids)
}

// Submission returns what the receipt graded: the same commit, against
// the same base commit.
func (r *Receipt) Submission() Submission {
	return Submission{Repo: r.Repository, Commit: r.Commit, BaseRepo: r.Base.Repository, BaseRef: r.Base.Commit}
}
