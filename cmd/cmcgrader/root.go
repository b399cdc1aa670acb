package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/internal/escape"
	"github.com/cmcgrader/cmcgrader/internal/interrupt"
)

// version is set at link time (-ldflags "-X main.version=..."); when unset
// the module version from the build info is used.
var version = ""

func graderVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// app holds what every subcommand shares; it is built once per run.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	logFormat      string
	verbose        bool
	log            *logrus.Entry

	mu     sync.Mutex
	onQuit func(context.Context) // cleanup at a second interrupt, if any
	// exiting is held by whoever ends the process: run, as it returns
	// its status, or quit. Neither exits under the other.
	exiting sync.Mutex
}

// usageError marks errors in how the command was called (exit status 2).
type usageError struct{ error }

// exitUnfit is the exit status of bank verify when the verification ran
// and found the bank unfit for an exam.
const exitUnfit = 3

// outcomeError is what a command found, as opposed to a failure to do
// its job: it exits with its own status.
type outcomeError struct {
	error
	status int
}

// quitTimeout bounds the cleanup at a second interrupt.
const quitTimeout = 10 * time.Second

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)

	// The first interrupt cancels the command's context: grading stops
	// its sandboxes and writes what it finished. The second quits.
	ctx, stop := interrupt.Context(context.Background(), a.quit, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Once quit started, it ends the process; the command's own end
	// waits for it.
	defer a.exiting.Lock()
	context.AfterFunc(ctx, func() {
		var sig *interrupt.Signal
		if errors.As(context.Cause(ctx), &sig) {
			fmt.Fprintf(stderr, "cmcgrader: %s: stopping; interrupt again to quit at once\n", sig)
		}
	})
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	// Errors quote file names from the candidate's tree and what the
	// candidate's git server said: escaped, they cannot rewrite the screen.
	fmt.Fprintf(stderr, "cmcgrader: %s\n", escape.Block(err.Error()))
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	var oe outcomeError
	if errors.As(err, &oe) {
		return oe.status
	}
	return 1
}

// atQuit sets the cleanup a second interrupt runs before the process
// exits; nil for none.
func (a *app) atQuit(f func(context.Context)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onQuit = f
}

// quit ends the process at a second interrupt sig: it runs the cleanup
// set with atQuit, for at most quitTimeout, and exits with the signal's
// status.
func (a *app) quit(sig os.Signal) {
	a.exiting.Lock()
	fmt.Fprintf(a.stderr, "cmcgrader: %s again: quitting now\n", sig)
	a.mu.Lock()
	f := a.onQuit
	a.mu.Unlock()
	if f != nil {
		ctx, cancel := context.WithTimeout(context.Background(), quitTimeout)
		f(ctx)
		cancel()
	}
	os.Exit(interrupt.ExitStatus(sig))
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "cmcgrader",
		Short: "Grade Certified Meshery Contributor performance exams",
		Long: `cmcgrader grades Certified Meshery Contributor (CMC) performance exams.

A candidate forks Meshery, solves tasks in five exams (server, cli, ui,
models, extensibility) and pushes to a branch. cmcgrader fetches that
branch, runs each task's hidden tests in Docker sandboxes and reports
points per task, a score per exam (pass at 70% unless the bank says
otherwise) and the certification verdict (all five exams must pass).`,
		Version:       graderVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(a.stderr, a.logFormat, a.verbose)
			if err != nil {
				return usageError{err}
			}
			a.log = log
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "log debug detail")
	root.AddCommand(a.gradeCmd(), a.imageCmd(), a.bankCmd(), a.prepareCmd(), a.receiptCmd(), a.regradeCmd(), a.formCmd(), a.reviewCmd(), a.rosterCmd(), a.freezeCmd(), a.cohortCmd(), a.serveCmd(), a.proctorCmd(), a.publishCmd(), a.githubCmd())
	return root
}

// newLogger returns the logger every command logs to. Log messages and
// fields may hold what the candidate controls (a server's error, a task's
// output), so neither format lets a control or bidi character through raw:
// the text format quotes every message and value with Go escapes (keep
// its colours off and its quoting on: the coloured form writes messages
// raw), and the JSON format is passed through escape.JSON.
func newLogger(w io.Writer, format string, verbose bool) (*logrus.Entry, error) {
	l := logrus.New()
	l.SetOutput(w)
	switch format {
	case "text":
		l.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	case "json":
		l.SetFormatter(escapedJSON{&logrus.JSONFormatter{}})
	default:
		return nil, fmt.Errorf("--log-format: want text or json, got %q", format)
	}
	l.SetLevel(logrus.WarnLevel)
	if verbose {
		l.SetLevel(logrus.DebugLevel)
	}
	return logrus.NewEntry(l), nil
}

// escapedJSON writes logrus's JSON with the characters encoding/json
// leaves raw and a terminal acts on (C1 controls, DEL, bidi overrides) as
// \u escapes; the values decode unchanged.
type escapedJSON struct{ *logrus.JSONFormatter }

// Format implements logrus.Formatter.
func (f escapedJSON) Format(e *logrus.Entry) ([]byte, error) {
	b, err := f.JSONFormatter.Format(e)
	if err != nil {
		return nil, err
	}
	return escape.JSON(b), nil
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}
