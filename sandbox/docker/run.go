package docker

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/internal/capture"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/sandbox/internal/protocol"
)

const (
	// cleanupTimeout bounds kill and removal after the run.
	cleanupTimeout = 30 * time.Second
	// drainTimeout bounds the wait for the output stream to end after the
	// container exited.
	drainTimeout = 10 * time.Second
)

// Run runs spec in a fresh container and volume, and removes both before
// it returns, on every path. A failing command, a timeout or an OOM kill is
// data in the sandbox.Result; an error means the sandbox could not do its job
// (engine down, image missing, setup failed, ctx cancelled). When the
// engine stopped answering, before or during the run, the error wraps
// ErrEngine, which matches sandbox.ErrBackendDown. Run reads
// spec.Workspace until it is sent or the run ends; it does not close it.
func (d *Engine) Run(ctx context.Context, spec sandbox.Spec) (sandbox.Result, error) {
	lim := spec.Limits.WithDefaults()
	if err := spec.Check(); err != nil {
		return sandbox.Result{}, err
	}
	env, err := protocol.Env(spec.Env)
	if err != nil {
		return sandbox.Result{}, err
	}
	name, err := randomName()
	if err != nil {
		return sandbox.Result{}, err
	}
	nonce, err := randomHex(16)
	if err != nil {
		return sandbox.Result{}, err
	}
	log := d.log.WithField("sandbox", name)
	labels := d.mergeLabels(spec.Labels)

	// The run's phases, logged at debug level once all is removed.
	ph := phases{begin: time.Now()}
	defer func() {
		if f := ph.fields(); f != nil {
			log.WithFields(f).Debug("sandbox timings")
		}
	}()

	// Removal is deferred before creation and goes by name, so that an
	// object created by a request the caller cancelled is removed too.
	// Defers run last-in first-out: the container goes before its volume.
	defer d.removeVolume(ctx, name, log)
	_, err = d.cli.VolumeCreate(ctx, client.VolumeCreateOptions{
		Name:   name,
		Driver: "local",
		DriverOpts: map[string]string{
			"type":   "tmpfs",
			"device": "tmpfs",
			"o":      fmt.Sprintf("size=%d,uid=%d,gid=%d,mode=0755,nosuid,nodev", lim.WorkspaceBytes, protocol.WorkspaceOwner, protocol.WorkspaceOwner),
		},
		Labels: labels,
	})
	if err != nil {
		return sandbox.Result{}, d.engineErr("create workspace volume", err)
	}

	defer d.removeContainer(ctx, name, log)
	made, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:       name,
		Config:     containerConfig(spec, env, labels),
		HostConfig: hostConfig(spec, lim, name),
	})
	if cerrdefs.IsNotFound(err) {
		return sandbox.Result{}, fmt.Errorf("create container: image %s: %w (build it first, e.g. make image)", spec.Image, sandbox.ErrImageNotFound)
	}
	if err != nil {
		return sandbox.Result{}, d.engineErr("create container", err)
	}
	for _, w := range made.Warnings {
		log.WithField("warning", w).Warn("engine warning on container create")
	}
	ph.created = time.Now()
	res, err := d.execute(ctx, made.ID, spec, nonce, lim, log, &ph)
	ph.executed = time.Now()
	return res, err
}

// execute attaches to the created container, starts it, streams the
// workspace in, enforces the timeout and collects the result.
func (d *Engine) execute(ctx context.Context, id string, spec sandbox.Spec, nonce string, lim sandbox.Limits, log *logrus.Entry, ph *phases) (sandbox.Result, error) {
	att, err := d.cli.ContainerAttach(ctx, id, client.ContainerAttachOptions{
		Stream: true, Stdin: true, Stdout: true, Stderr: true,
	})
	if err != nil {
		return sandbox.Result{}, d.engineErr("attach container", err)
	}
	defer att.Close()

	stdout, stderr := capture.New(int(lim.OutputBytes)), capture.New(int(lim.OutputBytes))
	rec := protocol.NewRecordCutter(stderr, nonce)
	pre := protocol.NewPreamble(protocol.ReadyMarker, rec, protocol.PreambleMax)
	outDone := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(stdout, pre, att.Reader)
		outDone <- err
	}()

	wait := d.cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := d.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return sandbox.Result{}, d.engineErr("start container", err)
	}
	started := time.Now()
	ph.started = started
	timer := time.NewTimer(lim.Timeout)
	defer timer.Stop()

	inDone := make(chan error, 1)
	go func() { inDone <- sendWorkspace(att, protocol.PrivateFiles(spec.Private, nonce), spec.Workspace) }()
	// The stdin goroutine must be done with spec.Workspace before Run
	// returns; closing the connection makes its writes fail.
	defer func() { att.Close(); <-inDone }()

	var res sandbox.Result
	var exit container.WaitResponse
	sending := inDone // set to nil once the workspace is sent
wait:
	for {
		select {
		case exit = <-wait.Result:
			ph.exited = time.Now()
			res.Duration = ph.exited.Sub(started)
			break wait
		case err := <-wait.Error:
			d.kill(ctx, id, log)
			if ctx.Err() != nil {
				return sandbox.Result{}, fmt.Errorf("run: %w", ctx.Err())
			}
			return sandbox.Result{}, d.streamErr(ctx, "wait container", err)
		case err := <-sending:
			inDone <- err // for the deferred receive
			var rerr *protocol.WorkspaceReadError
			if errors.As(err, &rerr) {
				d.kill(ctx, id, log)
				return sandbox.Result{}, fmt.Errorf("send workspace: %w", rerr.Err)
			}
			if err != nil {
				log.WithError(err).Debug("workspace not fully sent")
			}
			ph.sent = time.Now()
			sending = nil
		case <-timer.C:
			if res.TimedOut {
				return sandbox.Result{}, fmt.Errorf("container did not stop %v after it was killed", cleanupTimeout)
			}
			res.TimedOut = true
			d.kill(ctx, id, log)
			timer.Reset(cleanupTimeout)
		case <-ctx.Done():
			d.kill(ctx, id, log)
			return sandbox.Result{}, fmt.Errorf("run: %w", ctx.Err())
		}
	}
	if exit.Error != nil && exit.Error.Message != "" {
		return sandbox.Result{}, fmt.Errorf("wait container: %s", exit.Error.Message)
	}
	res.ExitCode = int(exit.StatusCode)

	if err := drain(outDone, att); err != nil {
		return sandbox.Result{}, d.streamErr(ctx, "read output", err)
	}
	_ = rec.Flush() // a capture never fails
	res.Exits = rec.Exits()
	found, ready := pre.Found()
	ph.ready = ready
	res.Stdout, res.StdoutTruncated = stdout.Bytes(), stdout.Truncated()
	res.Stderr, res.StderrTruncated = stderr.Bytes(), stderr.Truncated()

	insp, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return sandbox.Result{}, d.engineErr("inspect container", err)
	}
	if st := insp.Container.State; st != nil {
		res.OOMKilled = st.OOMKilled
	}

	if !found {
		msg := summary(pre.Before())
		res.Stderr = pre.Before()
		return res, fmt.Errorf("%w: exit %d, timed out %t, oom %t: %s",
			sandbox.ErrSetup, res.ExitCode, res.TimedOut, res.OOMKilled, msg)
	}
	if b := pre.Before(); len(b) > 0 {
		log.WithField("stderr", string(b)).Debug("sandbox wrapper said something")
	}
	return res, nil
}

// phases are the moments of a run that its debug timings are made of.
type phases struct {
	begin    time.Time // Run was called
	created  time.Time // the volume and container were created
	started  time.Time // the container started
	sent     time.Time // the workspace was sent (zero: not before exit)
	ready    time.Time // the wrapper was done with setup (zero: never)
	exited   time.Time // the container exited
	executed time.Time // the run's result was collected
}

// fields gives the timings of a run that got as far as executing, and
// nil for one that did not: "create", "execute" and "remove" one after
// the other; within execute, measured from the start, "send" (the
// workspace sent), "setup" (workspace unpacked and build cache ready)
// and "command" (the command itself), for those that happened.
func (ph phases) fields() logrus.Fields {
	if ph.created.IsZero() || ph.executed.IsZero() {
		return nil
	}
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	f := logrus.Fields{
		"create":  ms(ph.created.Sub(ph.begin)),
		"execute": ms(ph.executed.Sub(ph.created)),
		"remove":  ms(time.Since(ph.executed)),
	}
	if ph.started.IsZero() || ph.exited.IsZero() {
		return f
	}
	if !ph.sent.IsZero() {
		f["send"] = ms(ph.sent.Sub(ph.started))
	}
	if !ph.ready.IsZero() {
		f["setup"] = ms(ph.ready.Sub(ph.started))
		f["command"] = ms(ph.exited.Sub(ph.ready))
	}
	return f
}

// drain waits for the output copier to finish after the container exited.
// The engine ends the stream when the container stops; if it does not
// within drainTimeout, the connection is closed.
func drain(outDone <-chan error, att client.ContainerAttachResult) error {
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case err := <-outDone:
		return err
	case <-t.C:
		att.Close()
		<-outDone
		return errors.New("output stream did not end after the container exited")
	}
}

// sendWorkspace writes protocol.Stdin (the private section, then the
// workspace tar) to the container's stdin and closes it.
func sendWorkspace(att client.ContainerAttachResult, private []byte, ws io.Reader) error {
	// A tar written straight through a pipe arrives in many small pieces
	// (a header, then a file's content); each would be a write to the
	// engine's connection. Batching them makes a 30,000-file workspace
	// arrive several times faster. (The anonymous struct hides bufio's
	// ReadFrom, which would hand the copy back to the connection.)
	bw := bufio.NewWriterSize(att.Conn, sendBufferBytes)
	_, err := io.Copy(struct{ io.Writer }{bw}, protocol.Stdin(private, ws))
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := att.CloseWrite(); err == nil {
		err = cerr
	}
	return err
}

// sendBufferBytes is the size of the batches the workspace is sent in.
const sendBufferBytes = 256 << 10

// kill sends SIGKILL, ignoring a container that already stopped.
func (d *Engine) kill(ctx context.Context, id string, log *logrus.Entry) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := d.cli.ContainerKill(cctx, id, client.ContainerKillOptions{Signal: "KILL"})
	if err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
		log.WithError(err).Warn("kill container")
	}
}

// removeContainer force-removes the container name, on a context that
// survives the caller's cancellation.
func (d *Engine) removeContainer(ctx context.Context, name string, log *logrus.Entry) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := d.cli.ContainerRemove(cctx, name, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	switch {
	case err == nil, cerrdefs.IsNotFound(err):
	case cerrdefs.IsConflict(err):
		// Already being removed (RemoveOwn, at a second interrupt):
		// the volume is free once it is gone.
		d.waitRemoved(cctx, name)
	default:
		log.WithError(err).Error("remove container (GC will collect it once this process exits)")
	}
}

// removeVolume force-removes the volume name like removeContainer.
func (d *Engine) removeVolume(ctx context.Context, name string, log *logrus.Entry) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := d.cli.VolumeRemove(cctx, name, client.VolumeRemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		log.WithError(err).Error("remove volume (GC will collect it once this process exits)")
	}
}

// containerConfig is the container's configuration: the wrapper as
// entrypoint, spec.Cmd as its arguments, stdin open for the workspace.
func containerConfig(spec sandbox.Spec, env []string, labels map[string]string) *container.Config {
	return &container.Config{
		Image:        spec.Image,
		User:         protocol.SupervisorUser,
		Env:          env,
		Entrypoint:   protocol.Entrypoint(),
		Cmd:          protocol.Args(spec),
		WorkingDir:   sandbox.Workdir,
		Labels:       labels,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		OpenStdin:    true,
		StdinOnce:    true,
	}
}

// hostConfig holds the hardening and the limits of a run.
func hostConfig(spec sandbox.Spec, lim sandbox.Limits, volume string) *container.HostConfig {
	init := true
	pids := lim.Pids
	return &container.HostConfig{
		NetworkMode:    "none",
		CapDrop:        []string{"ALL"},
		CapAdd:         []string{"SETUID", "SETGID", "SETPCAP"},
		SecurityOpt:    []string{"no-new-privileges"},
		ReadonlyRootfs: true,
		Init:           &init,
		Runtime:        spec.Runtime,
		IpcMode:        container.IPCModePrivate,
		// The engine must not keep candidate output on disk; Run reads the
		// attached streams itself.
		LogConfig: container.LogConfig{Type: "none"},
		Tmpfs: map[string]string{
			"/tmp": fmt.Sprintf("rw,exec,nosuid,nodev,mode=1777,size=%d", lim.TmpBytes),
		},
		Mounts: []mount.Mount{{
			Type:   mount.TypeVolume,
			Source: volume,
			Target: sandbox.Workdir,
			// Copying image content into the volume would happen before the
			// tmpfs is mounted, and be lost.
			VolumeOptions: &mount.VolumeOptions{NoCopy: true},
		}},
		Resources: container.Resources{
			Memory:     lim.Memory,
			MemorySwap: lim.Memory,
			NanoCPUs:   int64(lim.CPUs * 1e9),
			PidsLimit:  &pids,
		},
	}
}

// randomName returns a fresh name for a run's container and volume.
func randomName() (string, error) {
	h, err := randomHex(8)
	return "cmcgrader-" + h, err
}

// randomHex returns n random bytes in hex.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// summary joins the non-empty lines of b into one line for an error
// message, capped at 1 KiB.
func summary(b []byte) string {
	var lines []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if s := strings.TrimSpace(line); s != "" {
			lines = append(lines, s)
		}
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

// makeView is the shell command that makes, in the existing folder
// $view, the view of sandbox.WarmCacheDir a run uses as $GOCACHE: copies of its
// index files, symlinks to its outputs.
const makeView = `{ tar -c -f - -C ` + sandbox.WarmCacheDir + ` --exclude='*-d' . | tar -x -m -f - -C "$view"; }` +
	` && cp -R -s -n ` + sandbox.WarmCacheDir + `/. "$view"/`

// warmViewScript is the shell command, run as root at image build, that
// writes sandbox.WarmCacheView: the view the wrapper would otherwise make at
// every run, as one tar.
const warmViewScript = `view=/tmp/cmcgrader-view && rm -rf "$view" && mkdir "$view" && ` + makeView +
	` && tar -c -f ` + sandbox.WarmCacheView + ` -C "$view" . && chmod a+r ` + sandbox.WarmCacheView + ` && rm -rf "$view"`
