package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cmcgrader/cmcgrader/grader/store"
	"github.com/cmcgrader/cmcgrader/internal/escape"
)

func (a *app) proctorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "proctor",
		Short: "Add, remove and list the proctors who may use the dashboard",
		Long: `A proctor reaches the dashboard (cmcgrader serve) with a token. The store keeps
only the token's SHA-256: add prints the token once, and a lost token is
replaced by removing the proctor and adding them again. Removing a proctor
ends their sessions at once; the audit log keeps what they did.`,
		Args: noArgs,
	}
	cmd.AddCommand(a.proctorAddCmd(), a.proctorRemoveCmd(), a.proctorListCmd())
	return cmd
}

// proctorCommand is a proctor subcommand: its store flag, and what it does
// with the store.
func (a *app) proctorCommand(use, short string, args cobra.PositionalArgs, create bool, run func(*cobra.Command, *store.Store, []string) error) *cobra.Command {
	var db string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) error {
			if db == "" {
				return usageError{errors.New("--db is required: the results store")}
			}
			if !create {
				if err := storeExists(db); err != nil {
					return err
				}
			}
			st, err := store.Open(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			return run(cmd, st, args)
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "results store (required)")
	return cmd
}

// oneName takes the proctor's name as the only argument.
func oneName(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s takes one proctor name", cmd.CommandPath())}
	}
	return nil
}

func (a *app) proctorAddCmd() *cobra.Command {
	cmd := a.proctorCommand("add NAME --db FILE", "Add a proctor and print their token, once", oneName, true,
		func(cmd *cobra.Command, st *store.Store, args []string) error {
			token, err := st.AddProctor(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "proctor %s added; their token follows, shown this once: give it to them privately\n", escape.Line(args[0]))
			fmt.Fprintln(a.stdout, token)
			return nil
		})
	cmd.Long = `Add adds a proctor and prints their token on standard output, the only time
it is shown; the store keeps its SHA-256 alone. A store that does not exist
yet is created.`
	return cmd
}

func (a *app) proctorRemoveCmd() *cobra.Command {
	return a.proctorCommand("remove NAME --db FILE", "Remove a proctor: their token stops working at once", oneName, false,
		func(cmd *cobra.Command, st *store.Store, args []string) error {
			if err := st.RemoveProctor(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "proctor %s removed\n", escape.Line(args[0]))
			return nil
		})
}

func (a *app) proctorListCmd() *cobra.Command {
	return a.proctorCommand("list --db FILE", "List the proctors", noArgs, false,
		func(cmd *cobra.Command, st *store.Store, _ []string) error {
			ps, err := st.Proctors(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PROCTOR\tADDED")
			for _, p := range ps {
				fmt.Fprintf(tw, "%s\t%s\n", escape.Line(p.Name), p.Added.UTC().Format("2006-01-02 15:04:05Z"))
			}
			return tw.Flush()
		})
}
