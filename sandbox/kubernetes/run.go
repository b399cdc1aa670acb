package kubernetes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/cmcgrader/cmcgrader/internal/capture"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/sandbox/internal/protocol"
)

const (
	// cleanupTimeout bounds the removal of a run's Job and Pod.
	cleanupTimeout = 30 * time.Second
	// exitTimeout bounds the wait for the supervisor's terminated state
	// after its streams ended; streamFailWait after they failed.
	exitTimeout    = 30 * time.Second
	streamFailWait = 5 * time.Second
	// exitPoll is how often the Pod's status is read until it shows the
	// supervisor's end.
	exitPoll = 100 * time.Millisecond
)

var metaGet = metav1.GetOptions{}

// Run runs spec as a Job of one Pod, and removes both before it returns,
// on every path. A failing command, a timeout or an OOM kill is data in
// the sandbox.Result; an error means the sandbox could not do its job
// (API server down, image missing, Pod unschedulable, setup failed, ctx
// cancelled). When the API server stopped answering the error wraps
// ErrAPI, which matches sandbox.ErrBackendDown. Run reads spec.Workspace
// until it is sent or the run ends; it does not close it.
func (b *Backend) Run(ctx context.Context, spec sandbox.Spec) (sandbox.Result, error) {
	lim := spec.Limits.WithDefaults()
	if err := spec.Check(); err != nil {
		return sandbox.Result{}, err
	}
	env, err := protocol.Env(spec.Env)
	if err != nil {
		return sandbox.Result{}, err
	}
	name, err := randomHex(8)
	if err != nil {
		return sandbox.Result{}, err
	}
	name = "cmcgrader-" + name
	nonce, err := randomHex(16)
	if err != nil {
		return sandbox.Result{}, err
	}
	log := b.log.WithField("sandbox", name)
	annotations := maps.Clone(spec.Labels)
	if annotations == nil {
		annotations = map[string]string{}
	}
	maps.Copy(annotations, b.Annotations())
	job := buildJob(jobSpec{name: name, spec: spec, lim: lim, env: env, annotations: annotations, pull: b.pull, ttl: b.ttl})

	// Removal is deferred before creation and goes by name, so that a
	// Job created by a request the caller cancelled is removed too.
	defer b.remove(ctx, name, log)
	if _, err := b.cs.BatchV1().Jobs(b.ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return sandbox.Result{}, b.apiErr("create job", err)
	}
	pod, err := b.waitRunning(ctx, name, spec.Image)
	if err != nil {
		return sandbox.Result{}, err
	}
	return b.execute(ctx, name, pod, spec, nonce, lim, log)
}

// waitRunning waits until the run's Pod runs the supervisor, or has
// already ended, and returns its name.
func (b *Backend) waitRunning(ctx context.Context, job, image string) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, b.sched)
	defer cancel()
	var pod string
	var last podView
	err := b.watchPods(wctx, job, func(p *corev1.Pod, deleted bool) (bool, error) {
		if deleted {
			return true, fmt.Errorf("pod %s was deleted before its sandbox started", p.Name)
		}
		last = classify(p, image)
		switch last.stage {
		case stageRunning, stageExited:
			pod = p.Name
			return true, nil
		case stageFailed:
			return true, fmt.Errorf("pod %s: %w", p.Name, last.err)
		}
		return false, nil
	})
	switch {
	case err == nil:
		return pod, nil
	case ctx.Err() != nil:
		return "", fmt.Errorf("run: %w", ctx.Err())
	case wctx.Err() != nil && last.stage == stageUnschedulable:
		return "", fmt.Errorf("job %s: not scheduled within %v: %w (free or add nodes, or lower --memory/--cpus)", job, b.sched, last.err)
	case wctx.Err() != nil:
		return "", fmt.Errorf("job %s: its Pod did not start within %v", job, b.sched)
	}
	return "", err
}

// watchPods calls seen with every version of the run's Pods until it
// returns true or an error. A watch that ends early is started again
// from a fresh list.
func (b *Backend) watchPods(ctx context.Context, job string, seen func(p *corev1.Pod, deleted bool) (bool, error)) error {
	opts := metav1.ListOptions{LabelSelector: LabelRun + "=" + job}
	for {
		list, err := b.cs.CoreV1().Pods(b.ns).List(ctx, opts)
		if err != nil {
			return b.apiErr("list pods of job "+job, err)
		}
		for i := range list.Items {
			if done, err := seen(&list.Items[i], false); done || err != nil {
				return err
			}
		}
		wo := opts
		wo.ResourceVersion = list.ResourceVersion
		w, err := b.cs.CoreV1().Pods(b.ns).Watch(ctx, wo)
		if err != nil {
			return b.apiErr("watch pods of job "+job, err)
		}
		done, err := consume(ctx, w, seen)
		w.Stop()
		if done || err != nil {
			return err
		}
	}
}

// consume passes w's Pod events to seen; false, nil means the watch
// ended early.
func consume(ctx context.Context, w watch.Interface, seen func(p *corev1.Pod, deleted bool) (bool, error)) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type == watch.Error {
				return false, nil
			}
			p, isPod := ev.Object.(*corev1.Pod)
			if !isPod {
				continue
			}
			if done, err := seen(p, ev.Type == watch.Deleted); done || err != nil {
				return true, err
			}
		}
	}
}

// execute attaches to the running Pod, streams the private files and
// the workspace in, enforces the timeout and collects the result.
func (b *Backend) execute(ctx context.Context, job, pod string, spec sandbox.Spec, nonce string, lim sandbox.Limits, log *logrus.Entry) (sandbox.Result, error) {
	stdout, stderr := capture.New(int(lim.OutputBytes)), capture.New(int(lim.OutputBytes))
	rec := protocol.NewRecordCutter(stderr, nonce)
	pre := protocol.NewPreamble(protocol.ReadyMarker, rec, protocol.PreambleMax)

	// The stdin copy goroutine must be done with spec.Workspace before
	// Run returns; closing the pipe makes its writes fail.
	inR, inW := io.Pipe()
	inDone := make(chan error, 1)
	go func() { inDone <- sendWorkspace(inW, protocol.PrivateFiles(spec.Private, nonce), spec.Workspace) }()
	defer func() { _ = inR.Close(); <-inDone }()

	sctx, stopStream := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStream()
	streamDone := make(chan error, 1)
	go func() { streamDone <- b.attach(sctx, b.ns, pod, inR, stdout, pre) }()

	started := time.Now()
	timer := time.NewTimer(lim.Timeout)
	defer timer.Stop()
	var res sandbox.Result
	var streamErr error
	sending := inDone // nil once the workspace is sent
wait:
	for {
		select {
		case streamErr = <-streamDone:
			res.Duration = time.Since(started)
			break wait
		case err := <-sending:
			inDone <- err // for the deferred receive
			sending = nil
			var rerr *protocol.WorkspaceReadError
			if errors.As(err, &rerr) {
				b.kill(ctx, job, pod, log)
				return sandbox.Result{}, fmt.Errorf("send workspace: %w", rerr.Err)
			}
		case <-timer.C:
			if res.TimedOut {
				return sandbox.Result{}, fmt.Errorf("pod %s did not stop %v after it was deleted", pod, cleanupTimeout)
			}
			res.TimedOut = true
			b.kill(ctx, job, pod, log)
			timer.Reset(cleanupTimeout)
		case <-ctx.Done():
			b.kill(ctx, job, pod, log)
			return sandbox.Result{}, fmt.Errorf("run: %w", ctx.Err())
		}
	}
	if streamErr != nil && !res.TimedOut {
		log.WithError(streamErr).Debug("attach stream ended with an error")
	}
	// A stream that failed (attach refused, connection cut) leaves a
	// supervisor that may still wait for its stdin: look briefly.
	wait := exitTimeout
	if streamErr != nil && !res.TimedOut {
		wait = streamFailWait
	}
	v, err := b.waitExit(ctx, pod, spec.Image, res.TimedOut, wait)
	if err != nil {
		if streamErr != nil {
			return sandbox.Result{}, b.streamErr(ctx, "attach pod "+pod, streamErr)
		}
		return sandbox.Result{}, err
	}
	applyExit(&res, v)

	_ = rec.Flush() // a capture never fails
	res.Exits = rec.Exits()
	res.Stdout, res.StdoutTruncated = stdout.Bytes(), stdout.Truncated()
	res.Stderr, res.StderrTruncated = stderr.Bytes(), stderr.Truncated()
	if found, _ := pre.Found(); !found {
		before := pre.Before()
		if len(before) == 0 && !res.TimedOut {
			// The wrapper may have failed before the attach: its
			// message is in the container's log.
			before = b.logs(ctx, pod)
		}
		res.Stderr = before
		return res, fmt.Errorf("%w: exit %d, timed out %t, oom %t: %s",
			sandbox.ErrSetup, res.ExitCode, res.TimedOut, res.OOMKilled, summary(before, streamErr))
	}
	return res, nil
}

// waitExit waits until the supervisor's container ended and returns how.
// After a timeout the grader deleted the Pod: it may be gone.
func (b *Backend) waitExit(ctx context.Context, pod, image string, timedOut bool, wait time.Duration) (podView, error) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	defer cancel()
	for {
		p, err := b.cs.CoreV1().Pods(b.ns).Get(wctx, pod, metaGet)
		switch {
		case apierrors.IsNotFound(err) && timedOut:
			return podView{stage: stageExited}, nil
		case apierrors.IsNotFound(err):
			return podView{}, fmt.Errorf("pod %s was deleted during the run", pod)
		case err != nil && wctx.Err() == nil:
			return podView{}, b.apiErr("get pod "+pod, err)
		case err == nil:
			if v := classify(p, image); v.stage == stageExited {
				return v, nil
			}
			if p.DeletionTimestamp != nil && timedOut {
				return podView{stage: stageExited}, nil
			}
		}
		select {
		case <-wctx.Done():
			if timedOut {
				return podView{stage: stageExited}, nil
			}
			return podView{}, fmt.Errorf("pod %s: its sandbox did not end %v after its streams did", pod, wait)
		case <-time.After(exitPoll):
		}
	}
}

// logs returns the end of the supervisor container's log, for a setup
// failure that happened before the attach.
func (b *Backend) logs(ctx context.Context, pod string) []byte {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
	defer cancel()
	limit := int64(protocol.PreambleMax)
	out, err := b.cs.CoreV1().Pods(b.ns).GetLogs(pod, &corev1.PodLogOptions{Container: containerName, LimitBytes: &limit}).DoRaw(lctx)
	if err != nil {
		return nil
	}
	return out
}

// kill deletes the run's Job (foreground) and its Pod at once: the Pod
// holds no state worth a grace period. The deferred removal waits until
// they are gone.
func (b *Backend) kill(ctx context.Context, job, pod string, log *logrus.Entry) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := b.deleteJob(cctx, job); err != nil && !apierrors.IsNotFound(err) {
		log.WithError(err).Warn("delete job")
	}
	err := b.cs.CoreV1().Pods(b.ns).Delete(cctx, pod, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
	if err != nil && !apierrors.IsNotFound(err) {
		log.WithError(err).Warn("delete pod")
	}
}

// remove deletes the Job name and its Pod (foreground: the Pod goes
// first) on a context that survives the caller's cancellation, and waits
// until the Job is gone.
func (b *Backend) remove(ctx context.Context, name string, log *logrus.Entry) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	err := b.deleteJob(cctx, name)
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		log.WithError(err).Error("delete job (GC will collect it once this process exits, or the cluster after its TTL)")
		return
	}
	for {
		_, err := b.cs.BatchV1().Jobs(b.ns).Get(cctx, name, metaGet)
		if apierrors.IsNotFound(err) {
			return
		}
		select {
		case <-cctx.Done():
			log.Warn("job still there after its deletion; the cluster removes it")
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// deleteJob deletes the Job name and, in the foreground, its Pod.
func (b *Backend) deleteJob(ctx context.Context, name string) error {
	fg := metav1.DeletePropagationForeground
	return b.cs.BatchV1().Jobs(b.ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg, GracePeriodSeconds: ptr(int64(0))})
}

// sendWorkspace writes protocol.Stdin (the private section, then the
// workspace tar) to w and closes it, which closes the Pod's stdin.
func sendWorkspace(w *io.PipeWriter, private []byte, ws io.Reader) error {
	_, err := io.Copy(w, protocol.Stdin(private, ws))
	var rerr *protocol.WorkspaceReadError
	if errors.As(err, &rerr) {
		_ = w.CloseWithError(err)
		return err
	}
	_ = w.Close()
	return err
}

// randomHex returns n random bytes in hex.
func randomHex(n int) (string, error) {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return hex.EncodeToString(buf), nil
}

// summary joins the non-empty lines of b into one line for an error
// message, capped at 1 KiB, with the stream's error when there is one.
func summary(b []byte, streamErr error) string {
	var lines []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if s := strings.TrimSpace(line); s != "" {
			lines = append(lines, s)
		}
	}
	if len(lines) == 0 && streamErr != nil {
		return "no output; attach: " + streamErr.Error()
	}
	if len(lines) == 0 {
		return "no output"
	}
	s := strings.Join(lines, "; ")
	if len(s) > 1<<10 {
		s = s[:1<<10] + "..."
	}
	return s
}
