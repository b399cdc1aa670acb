package docker

import (
	"context"
	"os/exec"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// TestGC labels containers and volumes with live, dead, foreign and
// malformed owners, runs GC, and checks that exactly the dead and the
// malformed ones are gone; then RemoveOwn, and checks that only this
// process's are gone too. (Not parallel: the other tests' sandboxes are
// this process's as well.)
func TestGC(t *testing.T) {
	d, img := newTestDocker(t), testImage(t)
	ctx := context.Background()
	host := hostname()

	// Another live "grader": a child process.
	child := exec.Command("sleep", "120")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	childStart, err := processStart(child.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	// A dead one: a child that exited.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	self, err := ParseOwner(d.owner)
	if err != nil {
		t.Fatal(err)
	}

	owners := []struct {
		name  string
		owner string
		keep  bool
	}{
		{"self", d.owner, true},
		{"live child", Owner{Host: host, PID: child.Process.Pid, Start: childStart}.String(), true},
		{"other host", Owner{Host: "other-host.invalid", PID: 1, Start: 1}.String(), true},
		{"exited", Owner{Host: host, PID: gone.Process.Pid, Start: 1}.String(), false},
		{"pid reused", Owner{Host: host, PID: self.PID, Start: self.Start + 1}.String(), false},
		{"malformed", "not-an-owner", false},
		{"missing", "", false},
	}
	testID := testHex(t)
	type object struct{ kind, id, what string }
	var objects []object
	for _, o := range owners {
		labels := map[string]string{LabelManaged: "true", "dev.cmcgrader.test": testID}
		if o.owner != "" {
			labels[LabelOwner] = o.owner
		}
		name, err := randomName()
		if err != nil {
			t.Fatal(err)
		}
		c, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Name:       name,
			Config:     &container.Config{Image: img, Cmd: []string{"true"}, Labels: labels},
			HostConfig: &container.HostConfig{NetworkMode: "none"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: labels}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			d.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
			d.cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true})
		})
		objects = append(objects, object{"container", c.ID, o.name}, object{"volume", name, o.name})
	}

	removed, err := d.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Graders of other packages may run GC at the same time and remove
	// some of the stale objects first; what is left is what counts.
	t.Logf("GC removed %d objects", removed)
	for i, o := range objects {
		keep := owners[i/2].keep
		if o.kind == "container" {
			_, err = d.cli.ContainerInspect(ctx, o.id, client.ContainerInspectOptions{})
		} else {
			_, err = d.cli.VolumeInspect(ctx, o.id, client.VolumeInspectOptions{})
		}
		if exists := err == nil; exists != keep {
			t.Errorf("%s of owner %q: exists %v after GC, want %v", o.kind, o.what, exists, keep)
		}
	}

	// RemoveOwn removes this process's objects, and no other's.
	if _, err := d.RemoveOwn(ctx); err != nil {
		t.Fatal(err)
	}
	for i, o := range objects {
		keep := owners[i/2].keep && owners[i/2].name != "self"
		if o.kind == "container" {
			_, err = d.cli.ContainerInspect(ctx, o.id, client.ContainerInspectOptions{})
		} else {
			_, err = d.cli.VolumeInspect(ctx, o.id, client.VolumeInspectOptions{})
		}
		if exists := err == nil; exists != keep {
			t.Errorf("%s of owner %q: exists %v after RemoveOwn, want %v", o.kind, o.what, exists, keep)
		}
	}
}
