package grader

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/internal/escape"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// ToolVersions are the toolchain versions an image carries.
type ToolVersions struct {
	Go, Node, OPA, Jest string
}

// Toolchain tells which Go, Node, OPA and jest versions an image carries.
type Toolchain interface {
	Versions(ctx context.Context, img sandbox.Image) (ToolVersions, error)
}

// SandboxToolchain asks the image itself: it runs `go env GOVERSION`,
// `node --version`, `opa version` and reads jest's package.json once, in a
// sandbox with no workspace.
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
			`echo "go=$(go env GOVERSION 2>/dev/null)"; echo "node=$(node --version 2>/dev/null)"; ` +
				`echo "opa=$(opa version 2>/dev/null | sed -n 's/^Version: //p')"; ` +
				`echo "jest=$(node -p "require('jest/package.json').version" 2>/dev/null)"`},
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
			img.ID, res.ExitCode, res.TimedOut, escape.OneLine(string(res.Stderr), 200))
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
		case "opa":
			v.OPA = strings.TrimSpace(val)
		case "jest":
			v.Jest = strings.TrimSpace(val)
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
			g.Log.WithError(err).Warn("the receipt will not name the image's Go, Node, OPA and jest versions")
		}
		done <- v
	}()
	return done
}

// receipt records the inputs of rep, whose fields other than Receipt are
// filled, and the image's toolchain versions v.
func (g *Grader) receipt(rep *report.Report, bank *tasks.Bank, cand *repo.Snapshot, v ToolVersions) *report.Receipt {
	lim := g.Limits.WithDefaults()
	rc := &report.Receipt{
		Repository: rep.Repository,
		Commit:     rep.Commit,
		Tree:       rep.Tree,
		Base: report.ReceiptBase{
			Repository: rep.Base.Repository, Ref: rep.Base.Ref, Commit: rep.Base.Commit,
			MergeBase: cand.MergeBase(rep.Base.Commit),
		},
		Bank:  report.ReceiptBank{Name: bank.Name, Digest: bank.Digest, Tasks: make([]report.TaskDigest, 0, len(bank.Tasks))},
		Image: report.ReceiptImage{Ref: rep.Image.Ref, ID: rep.Image.ID},
		Limits: report.ReceiptLimits{
			MemoryBytes: lim.Memory, CPUs: lim.CPUs, Pids: lim.Pids,
			WorkspaceBytes: lim.WorkspaceBytes, TmpBytes: lim.TmpBytes, OutputBytes: lim.OutputBytes,
			Runtime: g.Runtime, Recheck: g.Recheck,
		},
		GraderVersion: g.Version,
	}
	rc.Image.Go, rc.Image.Node, rc.Image.OPA, rc.Image.Jest = v.Go, v.Node, v.OPA, v.Jest
	for _, t := range bank.Tasks {
		rc.Bank.Tasks = append(rc.Bank.Tasks, report.TaskDigest{ID: t.ID, Digest: t.Digest(), Timeout: t.Timeout})
	}
	return rc
}

// SubmissionOf returns what the receipt r graded: the same commit, against
// the same base commit.
func SubmissionOf(r *report.Receipt) Submission {
	return Submission{Repo: r.Repository, Commit: r.Commit, BaseRepo: r.Base.Repository, BaseRef: r.Base.Commit}
}
