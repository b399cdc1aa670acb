package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/cmcgrader/cmcgrader/grader/batch"
	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/publish"
	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// The push workers publish through GitHub.
var _ batch.Publisher = (*publish.GitHub)(nil)

// pushFlags are serve's flags for grading the push queue.
type pushFlags struct {
	roster, bank string
	tasks        []string
	workers      int
	workersSet   bool
	grace, ttl   time.Duration
	recheck      bool
	runFlags
}

// defaultGrace is how long serve lets gradings under way finish when it
// stops.
const defaultGrace = 2 * time.Minute

func (f *pushFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.roster, "roster", "", "roster file, CSV or YAML: load it into the store (as cohort grade does) before serving")
	fl.StringVar(&f.bank, "bank", "", "task bank folder: grade the queued pushes with it (without it, pushes are queued, not graded)")
	fl.StringSliceVar(&f.tasks, "task", nil, "grade only these task ids")
	fl.IntVar(&f.workers, "workers", 1, "pushes graded at once; 0 grades none (intake only)")
	fl.DurationVar(&f.grace, "grace", defaultGrace, "at a stop, how long gradings under way may take to finish before they are cancelled and their pushes queued again")
	fl.DurationVar(&f.ttl, "lease", batch.DefaultTTL, "how long a push stays leased to a grader that stopped answering")
	fl.BoolVar(&f.recheck, "recheck", true, "run a failed task a second time")
	f.runFlags.register(fl)
}

// check checks the flags; grading is on when it returns true.
func (f *pushFlags) check() (bool, error) {
	switch {
	case f.workers < 0:
		return false, usageError{fmt.Errorf("--workers must be 0 or more, got %d", f.workers)}
	case f.grace < 0:
		return false, usageError{fmt.Errorf("--grace must not be negative, got %s", f.grace)}
	case f.bank == "" && f.workersSet && f.workers > 0:
		return false, usageError{errors.New("--workers grades the queued pushes: give --bank, the task bank, too")}
	case f.bank == "" || f.workers == 0:
		return false, nil
	case f.ttl < 3*time.Second:
		return false, usageError{fmt.Errorf("--lease must be at least 3s, got %s", f.ttl)}
	}
	f.progress = "never"
	return true, f.runFlags.check()
}

// loadRoster loads --roster into the store, if given.
func (f *pushFlags) loadRoster(ctx context.Context, st *store.Store) error {
	if f.roster == "" {
		return nil
	}
	roster, err := cohort.LoadRoster(f.roster)
	if err != nil {
		return err
	}
	return st.SetRoster(ctx, roster)
}

// pushRunner returns the runner of the push workers and its cleanup.
func (a *app) pushRunner(ctx context.Context, f *pushFlags, st *store.Store, signKey ed25519.PrivateKey) (*batch.Runner, func(), error) {
	bank, err := tasks.Load(f.bank)
	if err != nil {
		return nil, nil, fmt.Errorf("load bank: %w", err)
	}
	if len(f.tasks) > 0 {
		if _, err := bank.Subset(f.tasks); err != nil {
			return nil, nil, usageError{fmt.Errorf("--task: %w", err)}
		}
	}
	roster, err := st.Roster(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errors.New("the store holds no roster, so no push can be graded: give --roster")
	}
	if err != nil {
		return nil, nil, err
	}
	g, cleanup, err := a.newGrader(ctx, &f.runFlags, 0)
	if err != nil {
		return nil, nil, err
	}
	g.Progress = nil
	g.Recheck = f.recheck
	host, _ := os.Hostname()
	return &batch.Runner{
		Grader: g, Store: st, Bank: bank, Tasks: f.tasks,
		RosterDir: filepath.Dir(roster.Path),
		Holder:    fmt.Sprintf("%s:%d", host, os.Getpid()),
		TTL:       f.ttl, Parallel: f.workers, SignKey: signKey,
		Log: a.log,
	}, cleanup, nil
}
