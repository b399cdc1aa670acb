package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/store"
)

// exitStatusMain is the scripts' exitstatus program. It runs a program
// with the script's stdout and stderr and then prints its exit status on
// stdout, "exit status N", so that a script can check it (exec only
// tells zero from non-zero); it exits 0 itself unless it could not do
// that. It can also signal the program once a sandbox of a task is
// running, or once a results store holds N candidates done:
//
//	exitstatus [-after-sandbox TASK | -after-done N -store DB] -signals INT[,TERM|KILL] PROG [ARGS...]
//
// Several signals are sent while the program is stopped (SIGSTOP, then
// SIGCONT), so that it gets them together, the lowest-numbered first: a
// second signal that arrives only once the first was handled could find
// the program already gone.
func exitStatusMain() int {
	fs := flag.NewFlagSet("exitstatus", flag.ContinueOnError)
	task := fs.String("after-sandbox", "", "send the signals once a sandbox of this task started")
	doneN := fs.Int("after-done", 0, "send the signals once the results store -store holds this many candidates done")
	db := fs.String("store", "", "the results store of -after-done")
	sigList := fs.String("signals", "", "signals to send: INT, TERM, KILL, comma-separated")
	err := fs.Parse(os.Args[1:])
	args := fs.Args()
	if err != nil || len(args) == 0 || (*task == "" && *doneN == 0) != (*sigList == "") || (*task != "" && *doneN != 0) || (*doneN != 0) != (*db != "") {
		fmt.Fprintln(os.Stderr, "usage: exitstatus [-after-sandbox TASK | -after-done N -store DB] -signals INT[,TERM|KILL] PROG [ARGS...]")
		return 2
	}
	var sigs []os.Signal
	if *sigList != "" {
		for _, s := range strings.Split(*sigList, ",") {
			switch s {
			case "INT":
				sigs = append(sigs, syscall.SIGINT)
			case "TERM":
				sigs = append(sigs, syscall.SIGTERM)
			case "KILL":
				sigs = append(sigs, syscall.SIGKILL)
			default:
				fmt.Fprintf(os.Stderr, "exitstatus: unknown signal %q\n", s)
				return 2
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var started <-chan error
	if *task != "" {
		// Subscribed before the program starts: no start is missed.
		started = sandboxStarted(ctx, *task, time.Now())
	}
	if *db != "" {
		started = candidatesDone(ctx, *db, *doneN)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "exitstatus: %v\n", err)
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if started != nil {
		select {
		case err := <-started:
			if err != nil {
				cmd.Process.Kill()
				<-exited
				fmt.Fprintf(os.Stderr, "exitstatus: waiting to signal: %v\n", err)
				return 1
			}
		case <-exited:
			fmt.Fprintf(os.Stderr, "exitstatus: %s ended before it was to be signalled\n", args[0])
			return 1
		}
		if err := signalTogether(cmd.Process, sigs); err != nil {
			fmt.Fprintf(os.Stderr, "exitstatus: %v\n", err)
		}
	}
	<-exited
	if st := cmd.ProcessState; st.Exited() {
		fmt.Printf("exit status %d\n", st.ExitCode())
	} else {
		fmt.Printf("ended: %s\n", st)
	}
	return 0
}

// signalTogether sends sigs to p; several are sent while p is stopped.
func signalTogether(p *os.Process, sigs []os.Signal) error {
	if len(sigs) > 1 {
		if err := p.Signal(syscall.SIGSTOP); err != nil {
			return err
		}
		defer p.Signal(syscall.SIGCONT)
	}
	for _, s := range sigs {
		if err := p.Signal(s); err != nil {
			return err
		}
	}
	return nil
}

// sandboxStarted reports on the channel when a container of the grader
// labelled with task started after since, or why it could not tell.
func sandboxStarted(ctx context.Context, task string, since time.Time) <-chan error {
	out := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, "docker", "events",
		"--since", fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		"--filter", "type=container", "--filter", "event=start",
		"--filter", "label=dev.cmcgrader.task="+task, "--format", "{{.ID}}")
	stdout, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		cancel()
		out <- fmt.Errorf("docker events: %w", err)
		return out
	}
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			once.Do(func() { out <- nil })
		}
		cancel()
		io.Copy(io.Discard, stdout)
		err := cmd.Wait()
		once.Do(func() { out <- fmt.Errorf("docker events ended: %v", err) })
	}()
	return out
}

// candidatesDone reports on the channel when the results store db holds
// at least n candidates done, or why it could not tell.
func candidatesDone(ctx context.Context, db string, n int) <-chan error {
	out := make(chan error, 1)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				out <- ctx.Err()
				return
			case <-tick.C:
			}
			if _, err := os.Stat(db); err != nil {
				continue // not created yet
			}
			st, err := store.Open(ctx, db)
			if err != nil {
				continue // being created
			}
			c, err := st.Counts(ctx)
			st.Close()
			if err == nil && c.Done >= n {
				out <- nil
				return
			}
		}
	}()
	return out
}
