package grader

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/cmcgrader/cmcgrader/grader/gradertest"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/sandbox"
)

type fakeToolchain struct{ v ToolVersions }

func (f fakeToolchain) Versions(context.Context, sandbox.Image) (ToolVersions, error) {
	return f.v, nil
}

func TestGradeFillsReceipt(t *testing.T) {
	repo := gittest.NewForkRepo(t)
	bank := gradertest.Bank()
	g := &Grader{
		Runner: &gradertest.ScriptedRunner{Outcomes: []string{"pass"}}, Images: gradertest.FixedImages{}, Log: gittest.Log(t),
		Limits: sandbox.Limits{Memory: 1 << 30}, Runtime: "runsc", Recheck: true, Version: "v1.2.3",
		Toolchain: fakeToolchain{ToolVersions{Go: "go1.26.8", Node: "v20.19.2", OPA: "1.22.3", Jest: "29.3.1"}},
	}
	rep, err := g.Grade(context.Background(), bank, Submission{Repo: repo.Bare, Branch: "cmc", BaseRef: "main"})
	if err != nil {
		t.Fatal(err)
	}
	rc := rep.Receipt
	if rc == nil {
		t.Fatal("report has no receipt")
	}
	want := report.Receipt{
		Repository: repo.Bare, Commit: repo.C3, Tree: repo.Tree3,
		Base:  report.ReceiptBase{Repository: repo.Bare, Ref: "main", Commit: repo.C2},
		Bank:  report.ReceiptBank{Name: "b", Digest: "d", Tasks: []report.TaskDigest{{ID: "server-h", Digest: bank.Tasks[0].Digest(), Timeout: time.Minute}}},
		Image: report.ReceiptImage{Ref: "img", ID: "sha256:img", Go: "go1.26.8", Node: "v20.19.2", OPA: "1.22.3", Jest: "29.3.1"},
		Limits: report.ReceiptLimits{
			MemoryBytes: 1 << 30, CPUs: sandbox.DefaultLimits.CPUs, Pids: sandbox.DefaultLimits.Pids,
			WorkspaceBytes: sandbox.DefaultLimits.WorkspaceBytes, TmpBytes: sandbox.DefaultLimits.TmpBytes,
			OutputBytes: sandbox.DefaultLimits.OutputBytes, Runtime: "runsc", Recheck: true,
		},
		GraderVersion: "v1.2.3",
	}
	// The fetch is shallow, but the graded commit names the base as its
	// parent.
	want.Base.MergeBase = repo.C2
	if rc.Base.MergeBase != repo.C2 {
		t.Errorf("merge base %q, want %s", rc.Base.MergeBase, repo.C2)
	}
	if diff := want.Diff(rc); len(diff) > 0 || rc.Base.Ref != "main" || rc.Bank.Name != "b" || rc.Image.Ref != "img" {
		t.Errorf("receipt differs from the inputs: %v\n got %+v", diff, rc)
	}
	sub := SubmissionOf(rc)
	if sub != (Submission{Repo: repo.Bare, Commit: repo.C3, BaseRepo: repo.Bare, BaseRef: repo.C2}) {
		t.Errorf("Submission() = %+v", sub)
	}
	if got := rc.Limits.Sandbox(); got.Memory != 1<<30 || got.Timeout != 0 || got.OutputBytes != sandbox.DefaultLimits.OutputBytes {
		t.Errorf("Limits.Sandbox() = %+v", got)
	}
}

func TestSandboxToolchain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		res     sandbox.Result
		err     error
		want    ToolVersions
		wantErr bool
	}{
		{"all", sandbox.Result{Stdout: []byte("go=go1.26.8\nnode=v20.19.2\nopa=1.22.3\njest=29.3.1\n")}, nil, ToolVersions{"go1.26.8", "v20.19.2", "1.22.3", "29.3.1"}, false},
		{"no jest", sandbox.Result{Stdout: []byte("go=go1.26.8\nnode=v20.19.2\nopa=1.22.3\njest=\n")}, nil, ToolVersions{Go: "go1.26.8", Node: "v20.19.2", OPA: "1.22.3"}, false},
		{"no node", sandbox.Result{Stdout: []byte("go=go1.26.8\nnode=\nopa=1.22.3\n")}, nil, ToolVersions{Go: "go1.26.8", OPA: "1.22.3"}, false},
		{"probe failed", sandbox.Result{ExitCode: 127, Stderr: []byte("sh: not found")}, nil, ToolVersions{}, true},
		{"timed out", sandbox.Result{ExitCode: 137, TimedOut: true}, nil, ToolVersions{}, true},
		{"sandbox error", sandbox.Result{}, errors.New("engine down"), ToolVersions{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &fakeRunner{res: tc.res, err: tc.err}
			v, err := SandboxToolchain{Runner: r, Runtime: "runsc"}.Versions(context.Background(), sandbox.Image{ID: "sha256:x"})
			if (err != nil) != tc.wantErr || v != tc.want {
				t.Errorf("Versions() = %+v, %v; want %+v, error %v", v, err, tc.want, tc.wantErr)
			}
			if r.spec.Image != "sha256:x" || r.spec.Runtime != "runsc" || r.spec.Workspace != nil {
				t.Errorf("probe spec %+v", r.spec)
			}
		})
	}
}

// fakeRunner answers every run with res and remembers the spec.
type fakeRunner struct {
	res  sandbox.Result
	err  error
	spec sandbox.Spec
}

func (f *fakeRunner) Run(_ context.Context, spec sandbox.Spec) (sandbox.Result, error) {
	f.spec = spec
	return f.res, f.err
}
