package docker

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/cmcgrader/cmcgrader/sandbox"
)

// The supervisor's guarantees, through the real engine: what the sandbox
// user (candidate code) cannot read, reach or forge.
func TestSupervisor(t *testing.T) {
	t.Parallel()
	d, img := newTestDocker(t), testImage(t)
	tests := []struct {
		name  string
		spec  sandbox.Spec
		check func(t *testing.T, res sandbox.Result)
	}{
		{
			name: "private files are closed to the command",
			spec: sandbox.Spec{Cmd: sh(`cat ` + sandbox.PrivateDir + `/secret; ls ` + sandbox.PrivateDir + `; find / -xdev -name secret 2>/dev/null; echo done`),
				Private: map[string][]byte{"secret": []byte("s3cr3t-token")}},
			check: func(t *testing.T, res sandbox.Result) {
				if bytes.Contains(res.Stdout, []byte("s3cr3t")) || !bytes.Contains(res.Stdout, []byte("done")) {
					t.Errorf("stdout %q: the command read a private file", res.Stdout)
				}
				if !bytes.Contains(res.Stderr, []byte("Permission denied")) {
					t.Errorf("stderr %q, want permission denied", res.Stderr)
				}
			},
		},
		{
			name: "stdin from a private file, through a pipe that cannot be read again",
			spec: sandbox.Spec{Cmd: sh(`cat; node -e "try { const b = Buffer.alloc(64); const n = require('fs').readSync(0, b, 0, 64, 0); console.log('reread: ' + b.subarray(0, n)) } catch (e) { console.log(e.code) }"`),
				Stdin: "in", Private: map[string][]byte{"in": []byte("entry module\n")}},
			check: func(t *testing.T, res sandbox.Result) {
				if string(res.Stdout) != "entry module\nESPIPE\n" {
					t.Errorf("stdout %q (stderr %q), want the private file once", res.Stdout, res.Stderr)
				}
			},
		},
		{
			name: "a driver's build cache is closed to the sandbox user",
			spec: sandbox.Spec{Driver: true, Cmd: sh(`stat -c %a "$GOCACHE"; ` + sandbox.ExecHelper + ` /bin/sh -c 'ls "$GOCACHE" >/dev/null 2>&1 || echo closed'`)},
			check: func(t *testing.T, res sandbox.Result) {
				if string(res.Stdout) != "700\nclosed\n" {
					t.Errorf("stdout %q (stderr %q)", res.Stdout, res.Stderr)
				}
			},
		},
		{
			name: "the exit status is the supervisor's, not a forged record",
			spec: sandbox.Spec{Cmd: sh(`printf '\n\036[cmcgrader-supervisor 0123456789abcdef0123456789abcdef] {"code":0,"exits":[{"dir":".","code":0}]}\n' >&2; exit 3`)},
			check: func(t *testing.T, res sandbox.Result) {
				if !slices.Equal(res.Exits, []sandbox.Exit{{Dir: ".", Code: 3}}) || res.ExitCode != 3 {
					t.Errorf("exits %+v, exit code %d; want the real status 3", res.Exits, res.ExitCode)
				}
				if !bytes.Contains(res.Stderr, []byte("cmcgrader-supervisor 0123")) {
					t.Errorf("the forged record must stay in stderr as the candidate's output: %q", res.Stderr)
				}
			},
		},
		{
			name: "the supervisor's streams and files are out of reach",
			spec: sandbox.Spec{Cmd: sh(`echo forged > /proc/$PPID/fd/1 || echo no-ppid-fd; cat /proc/1/environ >/dev/null 2>&1 || echo no-init-env;` +
				` kill -STOP $PPID 2>/dev/null || echo no-signal; grep -E '^Cap(Prm|Eff|Bnd|Amb):' /proc/self/status | awk '{print $2}' | sort -u`)},
			check: func(t *testing.T, res sandbox.Result) {
				want := "no-ppid-fd\nno-init-env\nno-signal\n0000000000000000\n"
				if string(res.Stdout) != want {
					t.Errorf("stdout %q, want %q (stderr %q)", res.Stdout, want, res.Stderr)
				}
			},
		},
		{
			name: "a driver runs as the supervisor and starts candidate code through the exec helper",
			spec: sandbox.Spec{Driver: true, Cmd: sh(`id -u; cd sub && ` + sandbox.ExecHelper + ` /bin/sh -c 'id -u; cat ` + sandbox.PrivateDir + `/k 2>/dev/null || echo closed; exit 4'; echo "helper exit $?"`),
				Workspace: tarOf(t, map[string]string{"sub/": ""}), Private: map[string][]byte{"k": []byte("key")}},
			check: func(t *testing.T, res sandbox.Result) {
				if string(res.Stdout) != "0\n2000\nclosed\nhelper exit 4\n" {
					t.Errorf("stdout %q (stderr %q)", res.Stdout, res.Stderr)
				}
				if !slices.Equal(res.Exits, []sandbox.Exit{{Dir: "sub", Code: 4}}) {
					t.Errorf("exits %+v, want the test process's status in its folder", res.Exits)
				}
			},
		},
		{
			// The attack: a test binary reaches a sibling the go command
			// runs at the same time, through a child of the sibling that
			// shares its stdout: it writes into that stream (a pipe of
			// the supervisor's, closed to both), stops it, reads its
			// environment, and looks for its HOME. Run as one user, the
			// two could do the last three.
			name: "test binaries of one run are out of each other's reach",
			spec: sandbox.Spec{Driver: true, Cmd: sh(`{ ` + sandbox.ExecHelper + ` /bin/sh -c 'id -u >/tmp/victim.uid; sleep 3 & echo $! >/tmp/victim.pid; wait; echo victim-done'; echo victim-exit $?; } & ` +
				sandbox.ExecHelper + ` /bin/sh -c 'until [ -s /tmp/victim.pid ] && [ -s /tmp/victim.uid ]; do sleep 0.05; done; p=$(cat /tmp/victim.pid);` +
				` { echo forged >/proc/$p/fd/1; } 2>/dev/null && echo wrote-fd || echo no-fd;` +
				` kill -STOP $p 2>/dev/null && echo stopped || echo no-signal;` +
				` cat /proc/$p/environ >/dev/null 2>&1 && echo read-environ || echo no-environ;` +
				` ls /tmp/cmcgrader-binaries >/dev/null 2>&1 && echo listed-homes || echo no-homes;` +
				` [ "$(id -u)" != "$(cat /tmp/victim.uid)" ] && [ "$(id -u)" -ge 2000 ] && echo own-uid;` +
				` case "$HOME" in /tmp/cmcgrader-binaries/*/home) [ -w "$HOME" ] && echo own-home;; esac'; wait`)},
			check: func(t *testing.T, res sandbox.Result) {
				out := string(res.Stdout)
				for _, want := range []string{"no-fd\n", "no-signal\n", "no-environ\n", "no-homes\n", "own-uid\n", "own-home\n", "victim-done\n", "victim-exit 0\n"} {
					if !strings.Contains(out, want) {
						t.Errorf("stdout %q lacks %q (stderr %q)", out, want, res.Stderr)
					}
				}
				if strings.Contains(out, "forged") {
					t.Errorf("stdout %q: a test binary wrote into its sibling's stream", out)
				}
				if len(res.Exits) != 2 || res.Exits[0].Code != 0 || res.Exits[1].Code != 0 {
					t.Errorf("exits %+v, want two binaries ending with 0", res.Exits)
				}
			},
		},
		{
			name: "the exec helper refuses to run outside a driver",
			spec: sandbox.Spec{Cmd: sh(sandbox.ExecHelper + ` /bin/true; echo $?`)},
			check: func(t *testing.T, res sandbox.Result) {
				if strings.TrimSpace(string(res.Stdout)) != "125" {
					t.Errorf("stdout %q, stderr %q; want exit 125", res.Stdout, res.Stderr)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.spec.Image = img
			res, err := runClean(t, d, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, res)
		})
	}
}
