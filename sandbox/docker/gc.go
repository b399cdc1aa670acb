package docker

import (
	"context"
	"errors"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// GC removes the containers and volumes (labelled LabelManaged) that were
// left behind by grader processes that are gone: their owner label names
// this host and a process that no longer exists or started at another time
// (PID reused). Objects with a missing or malformed owner label are removed
// too. Objects of live processes, and of other hosts, are kept, so several
// graders may share an engine and each call GC when it starts.
// It returns how many objects it removed; errors of single removals are
// joined and do not stop the others.
func (d *Engine) GC(ctx context.Context) (removed int, err error) {
	return d.gc(ctx, hostname(), processStart)
}

// gc is GC with the host name and the process probe given, for tests.
func (d *Engine) gc(ctx context.Context, host string, started func(int) (uint64, error)) (int, error) {
	return d.removeWhere(ctx, func(labels map[string]string) bool {
		switch liveness(labels[LabelOwner], host, started) {
		case ownerDead, ownerInvalid:
			return true
		}
		return false
	})
}

// RemoveOwn removes the containers and volumes of this process that are
// still there. Runs remove their own when they end; RemoveOwn is for a
// process about to exit before they could (a second interrupt). It
// returns how many objects it removed.
func (d *Engine) RemoveOwn(ctx context.Context) (removed int, err error) {
	return d.removeWhere(ctx, func(labels map[string]string) bool { return labels[LabelOwner] == d.owner })
}

// removeWhere removes the grader's containers and volumes whose labels
// match stale.
func (d *Engine) removeWhere(ctx context.Context, stale func(labels map[string]string) bool) (int, error) {
	managed := make(client.Filters).Add("label", LabelManaged+"=true")
	var removed int
	var errs []error

	// Containers first: a volume cannot go while a container uses it.
	cs, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: managed})
	if err != nil {
		return 0, d.engineErr("gc: list containers", err)
	}
	for _, c := range cs.Items {
		if !stale(c.Labels) {
			continue
		}
		_, err := d.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		switch {
		case err == nil:
			removed++
			d.log.WithField("container", c.ID).WithField("owner", c.Labels[LabelOwner]).Info("gc: removed container")
		case cerrdefs.IsNotFound(err):
		case cerrdefs.IsConflict(err):
			// Being removed by someone else (another grader's GC, a
			// run's own cleanup): wait, so that its volume is free.
			d.waitRemoved(ctx, c.ID)
		default:
			errs = append(errs, d.engineErr("gc: remove container "+c.ID, err))
		}
	}

	vs, err := d.cli.VolumeList(ctx, client.VolumeListOptions{Filters: managed})
	if err != nil {
		return removed, errors.Join(append(errs, d.engineErr("gc: list volumes", err))...)
	}
	for _, v := range vs.Items {
		if !stale(v.Labels) {
			continue
		}
		_, err := d.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
		switch {
		case err == nil:
			removed++
			d.log.WithField("volume", v.Name).WithField("owner", v.Labels[LabelOwner]).Info("gc: removed volume")
		case cerrdefs.IsNotFound(err), cerrdefs.IsConflict(err):
		default:
			errs = append(errs, d.engineErr("gc: remove volume "+v.Name, err))
		}
	}
	return removed, errors.Join(errs...)
}

// waitRemoved waits, at most cleanupTimeout, until the container id is
// removed.
func (d *Engine) waitRemoved(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	w := d.cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionRemoved})
	select {
	case <-w.Result:
	case <-w.Error:
	}
}
