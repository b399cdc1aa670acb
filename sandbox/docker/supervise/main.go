// Command supervise runs inside every sandbox, baked into the grading image
// at /opt/cmcgrader/supervise and built there from this file with the
// image's own Go toolchain (standard library only).
//
// It runs as the supervisor: root in the container, holding no capability
// but CAP_SETUID, CAP_SETGID and CAP_SETPCAP, and no access to the host. Candidate code
// never runs as the supervisor: every process that could run it is started
// as the sandbox user (1000:1000), which cannot read the supervisor's files
// (PrivateDir), open its file descriptors through /proc, signal it or trace
// it. So what the supervisor reports about how those processes ended cannot
// be written by them.
//
//	supervise sandbox [--driver] [--stdin NAME] -- CMD ARGS...
//
// is the sandbox's entry point. It reads one tar stream on stdin: first the
// grader's private files, up to an end marker (see privatePrefix), written
// into PrivateDir; then the workspace, unpacked into the work folder by tar
// running as the sandbox user. It prepares HOME and the Go build cache,
// prints the ready marker on stderr, runs CMD (as the sandbox user, or with
// --driver as itself), and after CMD ended prints one record on stderr: how
// CMD and every process started through "supervise exec" ended, behind the
// run's nonce (a private file), so that nothing else can print a record
// the grader would believe.
//
//	supervise exec BINARY ARGS...
//
// is the go command's -exec program in a driver run: it runs a test binary
// as a user of its own (binaryID and up, one per binary of the run), with
// a HOME and TMPDIR of its own and the standard streams it was given, and
// notes how the binary ended in PrivateDir for the record. Test binaries
// of one run, which the go command may run at once, can thus neither
// signal nor trace one another, open one another's streams through /proc,
// nor change one another's files.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Conventions shared with the grader (package sandbox). Keep in step.
const (
	// privateDir holds the grader's private files, readable by root only.
	privateDir = "/tmp/cmcgrader-private"
	// privatePrefix starts the names of private entries at the head of
	// the stdin tar; privateEnd ends them.
	privatePrefix = ".cmcgrader-private/"
	privateEnd    = privatePrefix + ".end"
	// nonceFile is the private file holding the run's record nonce.
	nonceFile = "nonce"
	// exitsFile collects, one JSON line each, how processes started
	// through "supervise exec" ended.
	exitsFile = ".exits"
	// workDir is where the workspace is unpacked.
	workDir = "/work"
	// readyMarker tells the grader setup is over and CMD starts.
	readyMarker = "\x1e[cmcgrader-sandbox: ready]\x1e"
	// recordPrefix starts the record line; the nonce follows.
	recordPrefix = "\x1e[cmcgrader-supervisor "
	// warmCacheView: see sandbox.WarmCacheView.
	warmCacheView = "/opt/cmcgrader/gocache.view.tar"
	// setupExit is the exit code when the sandbox cannot be prepared.
	setupExit = 125
	// uid and gid of the sandbox user, which runs candidate code.
	userID, groupID = 1000, 1000
	// ownerID owns the workspace (uid and gid): the sandbox user can read
	// it but not change it, so a test process cannot rewrite hidden tests
	// or sources that the go command has yet to compile.
	ownerID = 1001
	// binaryID is the uid (and gid) of a driver run's first test binary;
	// the next ones take the following ids, up to maxBinaries of them.
	binaryID, maxBinaries = 2000, 1000
	// binaryHomes holds, in a driver run, one folder per test binary, with
	// its HOME and TMPDIR. It is the supervisor's, writable by all but
	// not listable, and each binary's folder has a random name, so that
	// none can be made ahead of its binary by another.
	binaryHomes = "/tmp/cmcgrader-binaries"
)

// exit is how one process run as the sandbox user ended.
type exit struct {
	// Dir is its working folder relative to workDir ("." for workDir).
	Dir string `json:"dir"`
	// Code is its exit status; -1 when a signal ended it.
	Code int `json:"code"`
	// Signal names the signal that ended it, if one did.
	Signal string `json:"signal,omitempty"`
}

// record is what the supervisor reports after CMD ended.
type record struct {
	// Code is CMD's exit status.
	Code int `json:"code"`
	// Exits are how CMD (without --driver) or each process started
	// through "supervise exec" (with --driver) ended, in the order they
	// ended.
	Exits []exit `json:"exits"`
}

func main() {
	if len(os.Args) < 2 {
		fatal("usage: supervise sandbox|exec ...")
	}
	switch os.Args[1] {
	case "sandbox":
		os.Exit(sandbox(os.Args[2:]))
	case "exec":
		os.Exit(execBinary(os.Args[2:]))
	case "as-user":
		asUser(os.Args[2:])
	default:
		fatal("unknown command " + os.Args[1])
	}
}

// fatal reports a setup failure the way the grader expects it.
func fatal(msg string) {
	fmt.Fprintf(os.Stderr, "cmcgrader-sandbox: %s\n", msg)
	os.Exit(setupExit)
}

func sandbox(args []string) int {
	driver, stdin := false, ""
	for len(args) > 0 && args[0] != "--" {
		switch {
		case args[0] == "--driver":
			driver = true
			args = args[1:]
		case args[0] == "--stdin" && len(args) > 1:
			stdin, args = args[1], args[2:]
		default:
			fatal("usage: supervise sandbox [--driver] [--stdin NAME] -- CMD...")
		}
	}
	if len(args) < 2 {
		fatal("usage: supervise sandbox [--driver] [--stdin NAME] -- CMD...")
	}
	cmdArgs := args[1:]
	syscall.Umask(0o022)
	if os.Geteuid() != 0 {
		fatal("the supervisor must start as root in the container (it runs candidate code as another user)")
	}
	if err := os.Mkdir(privateDir, 0o700); err != nil {
		fatal("create " + privateDir + ": " + err.Error())
	}
	if err := unpack(os.Stdin); err != nil {
		fatal(err.Error())
	}
	nonce, err := os.ReadFile(filepath.Join(privateDir, nonceFile))
	if err != nil || len(nonce) == 0 {
		fatal("the grader sent no record nonce")
	}
	if err := warmCache(driver); err != nil {
		fatal("prepare warm build cache in $GOCACHE: " + err.Error())
	}
	if driver {
		// Mkdir then Chmod: the umask would clear the write bits.
		if err := os.Mkdir(binaryHomes, 0o700); err != nil {
			fatal("create " + binaryHomes + ": " + err.Error())
		}
		if err := os.Chmod(binaryHomes, 0o1733); err != nil {
			fatal("create " + binaryHomes + ": " + err.Error())
		}
	}

	cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
	if !driver {
		cmd = userCommand(cmdArgs[0], cmdArgs[1:]...)
	}
	cmd.Dir = workDir
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if stdin != "" {
		// Through a pipe, not the open file: a process can read a file
		// it was given again from its start (pread on fd 0), a drained
		// pipe never.
		data, err := os.ReadFile(filepath.Join(privateDir, filepath.Base(stdin)))
		if err != nil {
			fatal("read stdin " + stdin + ": " + err.Error())
		}
		cmd.Stdin = bytes.NewReader(data)
	}
	fmt.Fprint(os.Stderr, readyMarker)
	// Signals reach the container's processes through its init; the
	// supervisor outlives CMD to report on it.
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	code, sig, err := run(cmd)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cmcgrader-sandbox: run %s: %v\n", cmdArgs[0], err)
		return setupExit
	}
	rec := record{Code: code}
	if driver {
		rec.Exits = readExits()
	} else {
		rec.Exits = []exit{{Dir: ".", Code: code, Signal: sig}}
	}
	line, _ := json.Marshal(rec)
	fmt.Fprintf(os.Stderr, "\n%s%s] %s\n", recordPrefix, strings.TrimSpace(string(nonce)), line)
	return status(cmd)
}

// status is the exit status a shell would give for cmd: its own, or 128
// plus the signal that ended it.
func status(cmd *exec.Cmd) int {
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// userCommand returns a command that runs name as the sandbox user.
func userCommand(name string, args ...string) *exec.Cmd {
	return uidCommand(userID, name, args...)
}

// uidCommand returns a command that runs name as uid (and gid) id: the
// supervisor starts itself as "as-user", which drops every capability
// from the bounding set, becomes that user and executes name.
func uidCommand(id int, name string, args ...string) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		self = "/opt/cmcgrader/supervise"
	}
	cmd := exec.Command(self, append([]string{"as-user", strconv.Itoa(id), "--", name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// asUser drops every capability from the bounding set (so that nothing
// the process executes later can hold one), sets no supplementary group,
// the sandbox user's gid and uid (which clears the capabilities it held),
// and executes args. It does not return.
func asUser(args []string) {
	if len(args) < 3 || args[1] != "--" {
		fatal("usage: supervise as-user UID -- CMD...")
	}
	id, err := strconv.Atoi(args[0])
	if err != nil || (id != userID && id != ownerID && (id < binaryID || id >= binaryID+maxBinaries)) {
		fatal("as-user: not a sandbox uid: " + args[0])
	}
	args = args[1:]
	runtime.LockOSThread() // the bounding set is per thread; exec runs on this one
	for c := 0; c <= 63; c++ {
		if err := prctl(prCapbsetDrop, uintptr(c)); err != nil && err != syscall.EINVAL {
			fatal(fmt.Sprintf("drop capability %d from the bounding set: %v", c, err))
		}
	}
	if err := syscall.Setgroups([]int{}); err != nil {
		fatal("setgroups: " + err.Error())
	}
	if err := syscall.Setgid(id); err != nil {
		fatal("setgid: " + err.Error())
	}
	if err := syscall.Setuid(id); err != nil {
		fatal("setuid: " + err.Error())
	}
	path, err := exec.LookPath(args[1])
	if err != nil {
		fatal(err.Error())
	}
	err = syscall.Exec(path, args[1:], os.Environ())
	fatal("exec " + args[1] + ": " + err.Error())
}

// prCapbsetDrop is PR_CAPBSET_DROP of prctl(2).
const prCapbsetDrop = 24

func prctl(option, arg uintptr) error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, option, arg, 0); e != 0 {
		return e
	}
	return nil
}

// run starts cmd, waits for it and returns its exit status, or -1 and the
// signal's name when a signal ended it. An error means it did not start.
func run(cmd *exec.Cmd) (code int, sig string, err error) {
	if err := cmd.Start(); err != nil {
		return 0, "", err
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, "", err
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return -1, ws.Signal().String(), nil
	}
	return ws.ExitStatus(), "", nil
}

// unpack reads the stdin tar: private files up to privateEnd, then the
// workspace, which tar running as the workspace's owner unpacks into
// workDir (readable by all, writable by none but that owner). It creates
// HOME as the sandbox user. The private section comes first and must end
// with its marker, so no entry of the workspace can land in privateDir.
func unpack(r io.Reader) error {
	// archive/tar reads whole blocks and never past the entry it
	// returns, so once the marker's header is read, br holds the
	// workspace tar from its first byte.
	br := bufio.NewReaderSize(r, 256<<10)
	tr := tar.NewReader(br)
	for {
		h, err := tr.Next()
		if err != nil {
			return fmt.Errorf("read private files: %v (the grader must send them first, ending with %s)", err, privateEnd)
		}
		if h.Name == privateEnd {
			break
		}
		name, ok := strings.CutPrefix(h.Name, privatePrefix)
		if !ok || name == "" || strings.Contains(name, "/") || h.Typeflag != tar.TypeReg {
			return fmt.Errorf("private file %q: want a plain file directly under %s", h.Name, privatePrefix)
		}
		f, err := os.OpenFile(filepath.Join(privateDir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("write private file: %v", err)
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write private file %s: %v", name, err)
		}
	}

	home := userCommand("/bin/sh", "-c", `mkdir -p "$HOME"`)
	if out, err := home.CombinedOutput(); err != nil {
		return fmt.Errorf("create HOME: %v: %s", err, strings.TrimSpace(string(out)))
	}
	// The rest of the stream is the workspace, passed as it is to tar,
	// which drops leading "/", refuses ".." and keeps no owner or mode.
	// It runs as the workspace's owner, not the sandbox user.
	cmd := uidCommand(ownerID, "/bin/sh", "-c", `exec tar -x -f - -C `+workDir+` --no-same-owner --no-same-permissions`)
	var msg strings.Builder
	cmd.Stderr = &limited{w: &msg, n: 4 << 10}
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("unpack workspace into %s: %v", workDir, err)
	}
	_, copyErr := io.Copy(in, br)
	in.Close()
	waitErr := cmd.Wait()
	if waitErr != nil {
		return fmt.Errorf("unpack workspace into %s: %v: %s", workDir, waitErr, strings.TrimSpace(msg.String()))
	}
	if copyErr != nil {
		return fmt.Errorf("unpack workspace into %s: %v", workDir, copyErr)
	}
	return nil
}

// warmCache gives the run a private copy-on-write view of the image's warm
// Go build cache in $GOCACHE (the view the image carries, see
// sandbox.WarmCacheView), owned by whoever
// runs the go command: the supervisor in a driver run, else the sandbox
// user. A fresh trim.txt keeps Go from trimming by the image's old mtimes.
func warmCache(driver bool) error {
	cache := os.Getenv("GOCACHE")
	if cache == "" {
		return nil
	}
	if !exists(warmCacheView) {
		if driver {
			return os.MkdirAll(cache, 0o700)
		}
		return nil
	}
	script := `mkdir -p "$GOCACHE" && tar -x -m -f ` + warmCacheView + ` -C "$GOCACHE"`
	script += ` && date +%s >"$GOCACHE/trim.txt"`
	if driver {
		// The go command, run as the supervisor, compiles the private
		// canary into this cache: the sandbox user must not read it.
		script += ` && chmod 0700 "$GOCACHE"`
	}
	cmd := exec.Command("/bin/sh", "-c", script)
	if !driver {
		cmd = userCommand("/bin/sh", "-c", script)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// execBinary runs a test binary as a user of its own, as the go command's
// -exec program. The binary is copied first into a folder of its own that
// that user may execute but not read or change (the go command's build
// folder is the supervisor's, closed to that user). It keeps the standard
// streams the go command gave it, sets HOME and TMPDIR to folders of the
// binary's own, and notes how the binary ended.
func execBinary(args []string) int {
	if len(args) < 1 {
		fatal("usage: supervise exec BINARY ARGS...")
	}
	if _, err := os.Stat(privateDir); err != nil || os.Geteuid() != 0 {
		fatal("supervise exec runs only under the supervisor of a driver run")
	}
	dir, err := os.MkdirTemp("", "cmcgrader-exec-")
	if err != nil {
		fatal(err.Error())
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o711); err != nil {
		fatal(err.Error())
	}
	bin := filepath.Join(dir, filepath.Base(args[0]))
	if err := copyFile(bin, args[0], 0o711); err != nil {
		fatal("copy test binary: " + err.Error())
	}
	wd, err := os.Getwd()
	if err != nil {
		fatal(err.Error())
	}
	rel, err := filepath.Rel(workDir, wd)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = wd
	}

	id, env, err := binaryUser()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cmcgrader-sandbox: prepare the test binary's user: %v\n", err)
		return setupExit
	}
	cmd := uidCommand(id, bin, args[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	code, sig, err := run(cmd)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cmcgrader-sandbox: run test binary: %v\n", err)
		return setupExit
	}
	line, _ := json.Marshal(exit{Dir: rel, Code: code, Signal: sig})
	f, err := os.OpenFile(filepath.Join(privateDir, exitsFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err == nil {
		_, err = f.Write(append(line, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		// No note: the run will not be attested, which costs the
		// candidate, never the grader's trust.
		fmt.Fprintf(os.Stderr, "cmcgrader-sandbox: note exit: %v\n", err)
	}
	return status(cmd)
}

// binaryUser takes the next free test binary uid of the run (a private
// file per uid taken, made exclusively, so that binaries started at once
// get different ones), makes its HOME and TMPDIR as that user under
// binaryHomes, and returns the uid and the environment to run the binary
// with.
func binaryUser() (int, []string, error) {
	id := -1
	for n := range maxBinaries {
		f, err := os.OpenFile(filepath.Join(privateDir, fmt.Sprintf("uid-%d", binaryID+n)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			f.Close()
			id = binaryID + n
			break
		}
		if !errors.Is(err, os.ErrExist) {
			return 0, nil, err
		}
	}
	if id < 0 {
		return 0, nil, fmt.Errorf("more than %d test binaries in one run", maxBinaries)
	}
	name := make([]byte, 12)
	if _, err := rand.Read(name); err != nil {
		return 0, nil, err
	}
	dir := filepath.Join(binaryHomes, hex.EncodeToString(name))
	home, tmp := filepath.Join(dir, "home"), filepath.Join(dir, "tmp")
	mk := uidCommand(id, "/bin/mkdir", "-m", "0700", dir, home, tmp)
	if out, err := mk.CombinedOutput(); err != nil {
		return 0, nil, fmt.Errorf("create HOME: %v: %s", err, strings.TrimSpace(string(out)))
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	return id, append(env, "HOME="+home, "TMPDIR="+tmp), nil
}

func copyFile(dst, src string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// readExits returns the exits noted by "supervise exec"; a line that does
// not parse is skipped (only the supervisor writes there).
func readExits() []exit {
	exits := []exit{}
	data, err := os.ReadFile(filepath.Join(privateDir, exitsFile))
	if err != nil {
		return exits
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e exit
		if json.Unmarshal([]byte(line), &e) == nil {
			exits = append(exits, e)
		}
	}
	return exits
}

// limited keeps the first n bytes written to it.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
