package kubernetes

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cmcgrader/cmcgrader/sandbox/internal/owner"
)

// GC removes the Jobs and Pods (labelled LabelManaged) that were left
// behind by grader processes that are gone: their owner annotation names
// this host and a process that no longer exists or started at another
// time (PID reused). Objects with a missing or malformed owner are
// removed too. Objects of live processes, and of other hosts, are kept
// (the cluster removes finished Jobs after their TTL), so several graders
// may share a namespace and each call GC when it starts. It returns how
// many objects it removed; errors of single removals are joined and do
// not stop the others.
func (b *Backend) GC(ctx context.Context) (removed int, err error) {
	return b.gc(ctx, owner.Hostname(), owner.ProcessStart)
}

// gc is GC with the host name and the process probe given, for tests.
func (b *Backend) gc(ctx context.Context, host string, started func(int) (uint64, error)) (int, error) {
	return b.removeWhere(ctx, func(annotations map[string]string) bool {
		switch owner.Liveness(annotations[AnnotationOwner], host, started) {
		case owner.Dead, owner.Invalid:
			return true
		}
		return false
	})
}

// RemoveOwn removes the Jobs and Pods of this process that are still
// there. Runs remove their own when they end; RemoveOwn is for a process
// about to exit before they could (a second interrupt).
func (b *Backend) RemoveOwn(ctx context.Context) (removed int, err error) {
	return b.removeWhere(ctx, func(annotations map[string]string) bool {
		return annotations[AnnotationOwner] == b.owner
	})
}

// removeWhere deletes the grader's Jobs, then its Pods, whose annotations
// match stale. A Pod whose Job was just deleted may be gone already.
func (b *Backend) removeWhere(ctx context.Context, stale func(annotations map[string]string) bool) (int, error) {
	managed := metav1.ListOptions{LabelSelector: LabelManaged + "=true"}
	var removed int
	var errs []error
	jobs, err := b.cs.BatchV1().Jobs(b.ns).List(ctx, managed)
	if err != nil {
		return 0, b.apiErr("gc: list jobs", err)
	}
	for _, j := range jobs.Items {
		if !stale(j.Annotations) {
			continue
		}
		switch err := b.deleteJob(ctx, j.Name); {
		case err == nil:
			removed++
			b.log.WithField("job", j.Name).WithField("owner", j.Annotations[AnnotationOwner]).Info("gc: removed job")
		case apierrors.IsNotFound(err):
		default:
			errs = append(errs, b.apiErr("gc: delete job "+j.Name, err))
		}
	}
	pods, err := b.cs.CoreV1().Pods(b.ns).List(ctx, managed)
	if err != nil {
		return removed, errors.Join(append(errs, b.apiErr("gc: list pods", err))...)
	}
	for _, p := range pods.Items {
		if !stale(p.Annotations) || p.DeletionTimestamp != nil {
			continue
		}
		err := b.cs.CoreV1().Pods(b.ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
		switch {
		case err == nil:
			removed++
			b.log.WithField("pod", p.Name).WithField("owner", p.Annotations[AnnotationOwner]).Info("gc: removed pod")
		case apierrors.IsNotFound(err):
		default:
			errs = append(errs, b.apiErr("gc: delete pod "+p.Name, err))
		}
	}
	return removed, errors.Join(errs...)
}
