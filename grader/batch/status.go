package batch

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/internal/escape"
)

// WriteStatus lists the candidates of a store for a proctor: state,
// attempts, latest verdict and score, and why the last attempt did not
// finish; then the counts.
func WriteStatus(w io.Writer, cs []store.CandidateState, now time.Time) error {
	ew := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CANDIDATE\tSTATE\tATTEMPTS\tRUNS\tVERDICT\tOVERALL\tCOMMIT\tNOTE")
	counts := map[store.State]int{}
	for _, c := range cs {
		counts[c.State]++
		state := string(c.State)
		if c.Interrupted(now) {
			state += " (interrupted)"
		}
		verdict, overall, commit, runs := "-", "-", "-", 0
		if c.Latest != nil {
			verdict, overall, commit, runs = string(c.Latest.Verdict), fmt.Sprintf("%.1f%%", c.Latest.Overall), escape.Short(c.Latest.Commit), c.Latest.Run
		}
		note := c.LastError
		if c.Lease != nil && now.Before(c.Lease.Expires) {
			note = "graded by " + c.Lease.Holder
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", escape.Line(c.ID), state, c.Attempts, runs, verdict, overall, commit, escape.OneLine(note, 100))
	}
	tw.Flush()
	fmt.Fprintf(ew, "%d candidates: %d done, %d failed, %d not gradable, %d running, %d pending\n",
		len(cs), counts[store.Done], counts[store.Failed], counts[store.NotGradable], counts[store.Running], counts[store.Pending])
	return ew.Flush()
}

// WriteFailedPushes lists the pushes that could never be graded, with
// why, for a proctor; nothing when there is none. The reasons are the
// grader's: for proctors only.
func WriteFailedPushes(w io.Writer, ps []store.Push) error {
	ew := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	n := 0
	for _, p := range ps {
		if p.State != store.PushFailed {
			continue
		}
		if n == 0 {
			fmt.Fprintln(ew, "\nPushes that could not be graded (their commits show it):")
			fmt.Fprintln(tw, "PUSH\tCANDIDATE\tCOMMIT\tATTEMPTS\tREASON")
		}
		n++
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", p.ID, escape.Line(p.Candidate), escape.Short(p.Commit), p.Attempts, escape.OneLine(p.LastError, 200))
	}
	tw.Flush()
	return ew.Flush()
}

// Entries returns every candidate of the store with its latest report
// (nil before the first), in roster order, for exports.
func Entries(ctx context.Context, st *store.Store) ([]cohort.Entry, error) {
	cs, err := st.Candidates(ctx)
	if err != nil {
		return nil, err
	}
	latest := map[string]*store.Stored{}
	for s, err := range st.Reports(ctx) {
		if err != nil {
			return nil, err
		}
		latest[s.Candidate] = s
	}
	out := make([]cohort.Entry, 0, len(cs))
	for _, c := range cs {
		e := cohort.Entry{Candidate: c.Candidate}
		if s := latest[c.ID]; s != nil {
			e.Report = s.Report
		}
		out = append(out, e)
	}
	return out, nil
}
