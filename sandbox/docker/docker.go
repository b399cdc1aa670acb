package docker

import (
	"context"
	"fmt"
	"io"
	"maps"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// ErrEngine means the Docker engine could not be reached. It is wrapped
// with context by the functions that return it, and matches
// sandbox.ErrBackendDown.
var ErrEngine error = engineDown{}

type engineDown struct{}

func (engineDown) Error() string { return "docker engine unreachable" }
func (engineDown) Unwrap() error { return sandbox.ErrBackendDown }

// pingTimeout bounds the ping that tells a cut stream from an engine
// that went away.
const pingTimeout = 5 * time.Second

// Engine runs sandboxes in a Docker engine. Safe for concurrent use.
type Engine struct {
	cli   *client.Client
	log   *logrus.Entry
	owner string // value of LabelOwner for this process
}

var _ sandbox.Runner = (*Engine)(nil)

// New connects to the engine named by the standard Docker client variables
// (DOCKER_HOST, DOCKER_API_VERSION, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY),
// negotiates the API version and pings it. A nil log discards messages.
func New(ctx context.Context, log *logrus.Entry) (*Engine, error) {
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = logrus.NewEntry(l)
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		host := cli.DaemonHost()
		_ = cli.Close()
		return nil, fmt.Errorf("%w at %s: %w (is the daemon running? set DOCKER_HOST)", ErrEngine, host, err)
	}
	owner, err := selfOwner()
	if err != nil {
		_ = cli.Close()
		return nil, err
	}
	return &Engine{cli: cli, log: log, owner: owner}, nil
}

// Client returns the engine client, for the image builder of this package.
func (d *Engine) Client() *client.Client { return d.cli }

// Ping checks that the engine answers now (a readiness probe).
func (d *Engine) Ping(ctx context.Context) error {
	if _, err := d.cli.Ping(ctx, client.PingOptions{}); err != nil {
		return d.engineErr("ping", err)
	}
	return nil
}

// Labels returns the labels every container, volume and image the grader
// creates carries. The map is a fresh copy.
func (d *Engine) Labels() map[string]string {
	return map[string]string{LabelManaged: "true", LabelOwner: d.owner}
}

// Close releases the client's connections. It removes nothing.
func (d *Engine) Close() error { return d.cli.Close() }

// ImageID returns the ID of the image ref, or an error wrapping
// sandbox.ErrImageNotFound when the engine does not have it.
func (d *Engine) ImageID(ctx context.Context, ref string) (string, error) {
	res, err := d.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspect image %s: %w (build it first, e.g. make image)", ref, sandbox.ErrImageNotFound)
	}
	if err != nil {
		return "", d.engineErr("inspect image "+ref, err)
	}
	return res.ID, nil
}

// HasRuntime says whether the engine has the OCI runtime name registered
// (e.g. runsc for gVisor).
func (d *Engine) HasRuntime(ctx context.Context, name string) (bool, error) {
	res, err := d.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return false, d.engineErr("engine info", err)
	}
	_, ok := res.Info.Runtimes[name]
	return ok, nil
}

// engineErr wraps err from the engine with op, adding ErrEngine when the
// engine could not be reached.
func (d *Engine) engineErr(op string, err error) error {
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("%s: %w at %s: %w", op, ErrEngine, d.cli.DaemonHost(), err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// streamErr wraps err, the failure of a stream the engine was serving
// (a container's wait or its output), with op. A daemon that goes away
// cuts its streams short with no sign of why, so unless ctx was
// cancelled the engine is pinged: ErrEngine is added when it no longer
// answers.
func (d *Engine) streamErr(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil || client.IsErrConnectionFailed(err) {
		return d.engineErr(op, err)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
	defer cancel()
	if _, perr := d.cli.Ping(pctx, client.PingOptions{}); client.IsErrConnectionFailed(perr) {
		return fmt.Errorf("%s: %w at %s: %w", op, ErrEngine, d.cli.DaemonHost(), err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// mergeLabels returns the grader's labels plus extra; the grader's own
// labels win over extra.
func (d *Engine) mergeLabels(extra map[string]string) map[string]string {
	out := make(map[string]string, len(extra)+2)
	maps.Copy(out, extra)
	maps.Copy(out, d.Labels())
	return out
}
