package kubernetes

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/grader"
	"github.com/cmcgrader/cmcgrader/grader/gittest"
	"github.com/cmcgrader/cmcgrader/grader/report"
	"github.com/cmcgrader/cmcgrader/grader/testout"
	"github.com/cmcgrader/cmcgrader/internal/kubecluster"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/sandbox/docker"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// sampleSameAsDocker grades the sample fork's candidate/subset branch
// (some tasks solved, some not) on the sample bank twice, through the
// Docker backend and through Jobs, fetched over git's smart HTTP, and
// requires the two reports to agree task by task: status, points and
// the tests passed.
func (e *e2e) sampleSameAsDocker(c *kubecluster.Cluster) func(t *testing.T) {
	return func(t *testing.T) {
		ctx := t.Context()
		root := t.TempDir()
		sample := filepath.Join("..", "..", "testdata", "sample")
		mk := exec.CommandContext(ctx, "sh", filepath.Join(sample, "mkrepo.sh"), filepath.Join(root, "meshery.git"))
		if out, err := mk.CombinedOutput(); err != nil {
			t.Fatalf("mkrepo.sh: %v\n%s", err, out)
		}
		url := gittest.Serve(t, root) + "/meshery.git"
		bank, err := tasks.Load(filepath.Join(sample, "bank"))
		if err != nil {
			t.Fatal(err)
		}
		l := logrus.New()
		l.SetOutput(testWriter{t})
		log := logrus.NewEntry(l)
		eng, err := docker.New(ctx, log)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		dockerImages := &docker.Images{Engine: eng, Log: log}
		grade := func(name string, r sandbox.Runner, im sandbox.Images) *report.Report {
			g := &grader.Grader{Runner: r, Images: im, Log: log.WithField("backend", name), Jobs: 2, Version: "e2e"}
			began := time.Now()
			rep, err := g.Grade(ctx, bank, grader.Submission{Repo: url, Branch: "candidate/subset"})
			if err != nil {
				t.Fatalf("%s: grade: %v", name, err)
			}
			t.Logf("%s: graded %d tasks in %v", name, len(rep.Tasks), time.Since(began).Round(time.Millisecond))
			return rep
		}
		viaDocker := grade("docker", eng, dockerImages)
		// The images the bank needs are built on this host and loaded
		// into the node, as a proctor without a registry would.
		viaJobs := grade("kubernetes", e.b, &Images{Inner: dockerImages, Publish: func(ctx context.Context, ref string) (string, error) {
			return ref, c.LoadImage(ctx, ref)
		}})

		if len(viaDocker.Tasks) != len(bank.Tasks) || len(viaJobs.Tasks) != len(viaDocker.Tasks) {
			t.Fatalf("tasks graded: docker %d, kubernetes %d, bank %d", len(viaDocker.Tasks), len(viaJobs.Tasks), len(bank.Tasks))
		}
		passed, failed := 0, 0
		for i, d := range viaDocker.Tasks {
			k := viaJobs.Tasks[i]
			if d.ID != k.ID || d.Status != k.Status || d.Points != k.Points || !slices.Equal(testsPassed(d), testsPassed(k)) || d.Forged || k.Forged {
				t.Errorf("task %s: docker %s %g %v (%s), kubernetes %s %s %g %v (%s)",
					d.ID, d.Status, d.Points, testsPassed(d), d.Reason, k.ID, k.Status, k.Points, testsPassed(k), k.Reason)
			}
			switch d.Status {
			case report.Passed:
				passed++
			case report.Failed:
				failed++
			}
		}
		// The comparison means something only when the branch has both.
		if passed == 0 || failed == 0 {
			t.Errorf("candidate/subset: %d tasks passed, %d failed; want some of each", passed, failed)
		}
		if viaDocker.Overall != viaJobs.Overall {
			t.Errorf("overall: docker %.1f%%, kubernetes %.1f%%", viaDocker.Overall, viaJobs.Overall)
		}
	}
}

// testsPassed names the hidden tests a task passed.
func testsPassed(g report.TaskGrade) []string {
	var out []string
	for _, o := range g.Tests {
		if o.Status == testout.Pass {
			out = append(out, o.Name)
		}
	}
	return out
}
