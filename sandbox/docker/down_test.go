package docker

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// engineAt returns an Engine whose client talks to host, without the
// ping New makes.
func engineAt(t *testing.T, host string) *Engine {
	t.Helper()
	cli, err := client.New(client.FromEnv, client.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	owner, err := selfOwner()
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(testWriter{t})
	return &Engine{cli: cli, log: logrus.NewEntry(log), owner: owner}
}

func TestRunEngineUnreachable(t *testing.T) {
	t.Parallel()
	sock := "unix://" + filepath.Join(t.TempDir(), "no-engine.sock")
	d := engineAt(t, sock)
	_, err := d.Run(context.Background(), sandbox.Spec{Image: "cmcgrader-sandbox:any", Cmd: sh("true")})
	if !errors.Is(err, sandbox.ErrBackendDown) || !errors.Is(err, ErrEngine) {
		t.Fatalf("Run against a socket nobody serves: error %v, want ErrEngine and sandbox.ErrBackendDown", err)
	}
	if !strings.Contains(err.Error(), sock) {
		t.Errorf("error %q does not name the engine's address", err)
	}
}

// TestRunEngineLost cuts the engine away while a sandbox runs: the
// engine is reached through a proxy socket that is closed mid-run, as
// when the daemon stops. Run must say the backend is down, not that the
// command failed.
func TestRunEngineLost(t *testing.T) {
	t.Parallel()
	direct, img := newTestDocker(t), testImage(t)
	target, ok := strings.CutPrefix(direct.cli.DaemonHost(), "unix://")
	if !ok {
		t.Skipf("the engine at %s is not on a unix socket", direct.cli.DaemonHost())
	}
	p := newEngineProxy(t, target)
	d := engineAt(t, "unix://"+p.path)
	if _, err := d.cli.Ping(context.Background(), client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		t.Fatalf("ping through the proxy: %v", err)
	}

	id := testHex(t)
	label := "dev.cmcgrader.test=" + id
	t.Cleanup(func() { removeLabelled(t, direct, label) })
	done := make(chan error, 1)
	go func() {
		_, err := d.Run(context.Background(), sandbox.Spec{Image: img, Cmd: sh("sleep 60"), Labels: map[string]string{"dev.cmcgrader.test": id}})
		done <- err
	}()
	running := make(client.Filters).Add("label", label).Add("status", "running")
	for deadline := time.Now().Add(time.Minute); ; {
		cs, err := direct.cli.ContainerList(context.Background(), client.ContainerListOptions{Filters: running})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs.Items) > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Run ended before the engine was cut: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the sandbox did not start within a minute")
		}
	}
	p.cut()
	select {
	case err := <-done:
		t.Logf("Run: %v", err)
		if !errors.Is(err, sandbox.ErrBackendDown) {
			t.Fatalf("Run after the engine went away: error %v, want sandbox.ErrBackendDown", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute of the engine going away")
	}
}

// engineProxy serves a unix socket of its own and forwards each
// connection to the engine's, until cut.
type engineProxy struct {
	path  string
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newEngineProxy(t *testing.T, target string) *engineProxy {
	t.Helper()
	p := &engineProxy{path: filepath.Join(t.TempDir(), "engine.sock")}
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	p.ln = ln
	t.Cleanup(p.cut)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

// cut stops serving: the socket goes away and every connection through
// it is closed.
func (p *engineProxy) cut() {
	p.ln.Close() // removes the socket file
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// removeLabelled removes, through d, the containers and volumes that
// match the label filter.
func removeLabelled(t *testing.T, d *Engine, label string) {
	ctx := context.Background()
	f := make(client.Filters).Add("label", label)
	cs, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Error(err)
		return
	}
	for _, c := range cs.Items {
		if _, err := d.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Error(err)
		}
	}
	vs, err := d.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		t.Error(err)
		return
	}
	for _, v := range vs.Items {
		if _, err := d.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil {
			t.Error(err)
		}
	}
}
