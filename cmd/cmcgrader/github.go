package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cmcgrader/cmcgrader/grader/cohort"
	"github.com/cmcgrader/cmcgrader/grader/publish"
	"github.com/cmcgrader/cmcgrader/grader/store"
)

// The environment variables that may hold the GitHub secrets, instead of
// files.
const (
	githubAppKeyEnv = "CMCGRADER_GITHUB_APP_KEY"
	githubTokenEnv  = "CMCGRADER_GITHUB_TOKEN"
)

// githubFlags configure publishing to GitHub. Secrets come from files or
// the environment, never from flag values.
type githubFlags struct {
	url            string
	appID          int64
	installationID int64
	appKeyFile     string
	tokenFile      string
	dashboardURL   string
	attempts       int
}

// on says whether f asks to publish: an App id, a token file or key
// file, or a token in the environment.
func (f *githubFlags) on() bool {
	return f.appID != 0 || f.tokenFile != "" || f.appKeyFile != "" || os.Getenv(githubTokenEnv) != ""
}

func (f *githubFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.url, "github-url", "", "GitHub Enterprise API base URL (https://HOST/api/v3/); default github.com")
	fl.Int64Var(&f.appID, "github-app-id", 0, "publish as this GitHub App (check runs); its key from --github-app-key-file or $"+githubAppKeyEnv)
	fl.Int64Var(&f.installationID, "github-installation-id", 0, "the App's installation to use for every repository (default: each repository's own)")
	fl.StringVar(&f.appKeyFile, "github-app-key-file", "", "the GitHub App's private key file (PEM)")
	fl.StringVar(&f.tokenFile, "github-token-file", "", "without an App: a file holding a token that may set commit statuses (or $"+githubTokenEnv+")")
	fl.StringVar(&f.dashboardURL, "dashboard-url", "", "link shown with the result on the commit (the dashboard's URL)")
	fl.IntVar(&f.attempts, "github-attempts", 6, "calls made for one request to GitHub before giving up (retries back off, and honour rate limits)")
}

// publisher returns a GitHub publisher for f, keeping results it cannot
// publish in pending (nil: none).
func (a *app) publisher(f githubFlags, pending publish.Pending) (*publish.GitHub, error) {
	cfg := publish.Config{
		BaseURL: f.url, AppID: f.appID, InstallationID: f.installationID, DashboardURL: f.dashboardURL,
		Pending: pending, Log: a.log, Attempts: f.attempts,
	}
	var err error
	if f.appID != 0 {
		if f.tokenFile != "" {
			return nil, usageError{errors.New("give --github-app-id (with its key) or --github-token-file, not both")}
		}
		if cfg.AppKey, err = readSecret("--github-app-key-file", f.appKeyFile, githubAppKeyEnv, maxKeyFile); err != nil {
			return nil, err
		}
		if cfg.AppKey == nil {
			return nil, usageError{fmt.Errorf("--github-app-id needs the App's private key: give --github-app-key-file, or set $%s", githubAppKeyEnv)}
		}
	} else {
		if f.appKeyFile != "" {
			return nil, usageError{errors.New("--github-app-key-file needs --github-app-id")}
		}
		tok, err := readSecret("--github-token-file", f.tokenFile, githubTokenEnv, maxTokenFile)
		if err != nil {
			return nil, err
		}
		if tok == nil {
			return nil, usageError{fmt.Errorf("no GitHub credentials: give --github-app-id with --github-app-key-file (or $%s), or --github-token-file (or $%s)", githubAppKeyEnv, githubTokenEnv)}
		}
		cfg.Token = string(tok)
	}
	if f.attempts < 1 {
		return nil, usageError{errors.New("--github-attempts: at least 1")}
	}
	gh, err := publish.New(cfg)
	if err != nil {
		return nil, usageError{err}
	}
	return gh, nil
}

func (a *app) publishCmd() *cobra.Command {
	var gf githubFlags
	var db string
	var pending bool
	cmd := &cobra.Command{
		Use:   "publish --pending --db FILE",
		Short: "Publish the results GitHub refused earlier",
		Long: `Publish --pending publishes again each result that could not be published
to its candidate's commit (GitHub down, or rate limits that outlasted the
retries): they wait in the results store. It prints what was published, and
lists those that still fail; they stay pending, and the exit status is 1.

The GitHub flags are those of grade --publish github.`,
		Example: `  cmcgrader publish --pending --db cohort.db --github-app-id 12345 --github-app-key-file app.pem`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case !pending:
				return usageError{errors.New("give --pending: publish the results that wait in the store")}
			case db == "":
				return usageError{errors.New("--db is required: the results store")}
			}
			if err := storeExists(db); err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := store.Open(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			gh, err := a.publisher(gf, nil)
			if err != nil {
				return err
			}
			n, failed, err := gh.Retry(ctx, st)
			fmt.Fprintf(a.stdout, "published %d pending result(s)\n", n)
			if err != nil {
				return err
			}
			for _, p := range failed {
				cand := p.Candidate
				if cand == "" {
					cand = "-"
				}
				fmt.Fprintf(a.stdout, "still pending: %d %s %s@%.12s: %s\n", p.ID, cand, p.Repo, p.Commit, p.LastError)
			}
			if len(failed) > 0 {
				return fmt.Errorf("%d result(s) still pending; run publish --pending again later", len(failed))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&pending, "pending", false, "publish the results waiting in the store")
	fl.StringVar(&db, "db", "", "results store (required)")
	gf.register(fl)
	return cmd
}

func (a *app) githubCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "github",
		Short: "Check the GitHub App's reach",
		Args:  noArgs,
	}
	var gf githubFlags
	var rosterFile, appURL string
	check := &cobra.Command{
		Use:   "check --roster FILE --github-app-id ID",
		Short: "List the roster's candidates whose repositories the GitHub App cannot see",
		Long: `Check asks GitHub, for each candidate of the roster, whether the GitHub App
is installed on the candidate's repository (or on its owner). A GitHub App
only hears pushes from, and may only publish to, repositories it is
installed on, and a fork is not covered by its upstream's installation.

It lists the candidates it cannot see, with the App's install link when
--github-app-url is given, and exits with status 3 if there are any; 0 when
the App sees every repository.`,
		Example: `  cmcgrader github check --roster roster.csv --github-app-id 12345 --github-app-key-file app.pem \
      --github-app-url https://github.com/apps/cmc-grader`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rosterFile == "" {
				return usageError{errors.New("--roster is required: the cohort's roster")}
			}
			if gf.appID == 0 {
				return usageError{errors.New("--github-app-id is required: only an App's installations can be checked")}
			}
			link := ""
			if appURL != "" {
				var err error
				if link, err = publish.InstallLink(appURL); err != nil {
					return usageError{fmt.Errorf("--github-app-url: %w", err)}
				}
			}
			roster, err := cohort.LoadRoster(rosterFile)
			if err != nil {
				return err
			}
			gh, err := a.publisher(gf, nil)
			if err != nil {
				return err
			}
			missing, err := unseen(cmd.Context(), gh, roster)
			if err != nil {
				return err
			}
			for _, m := range missing {
				fmt.Fprintln(a.stdout, m)
			}
			if len(missing) > 0 {
				if link != "" {
					fmt.Fprintf(a.stdout, "install the App: %s\n", link)
				}
				return outcomeError{fmt.Errorf("the GitHub App cannot see %d of %d candidates' repositories", len(missing), len(roster.Candidates)), exitUnfit}
			}
			fmt.Fprintf(a.stdout, "the GitHub App sees all %d candidates' repositories\n", len(roster.Candidates))
			return nil
		},
	}
	fl := check.Flags()
	fl.StringVar(&rosterFile, "roster", "", "the cohort's roster, CSV or YAML (required)")
	fl.StringVar(&appURL, "github-app-url", "", "the App's public page (https://github.com/apps/SLUG): print its install link")
	gf.register(fl)
	cmd.AddCommand(check)
	return cmd
}

// unseen lists the roster's candidates whose repositories the App of gh
// cannot see, one line each: the candidate's id, a tab, and why. err is
// a failure to ask GitHub.
func unseen(ctx context.Context, gh *publish.GitHub, roster *cohort.Roster) ([]string, error) {
	var missing []string
	for _, c := range roster.Candidates {
		repo, err := publish.ParseRepo(c.Repo, gh.WebHost())
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s\t%s", c.ID, err))
			continue
		}
		ok, err := gh.Installed(ctx, repo)
		if err != nil {
			return missing, err
		}
		if !ok {
			missing = append(missing, fmt.Sprintf("%s\t%s: the App is not installed", c.ID, repo))
		}
	}
	return missing, nil
}

// formInstallSection is what form.md says about the App, when the
// proctor gives its page.
func formInstallSection(appURL string) (string, error) {
	link, err := publish.InstallLink(appURL)
	if err != nil {
		return "", err
	}
	return strings.Join([]string{
		"## Results on your commits",
		"",
		"Each push to your exam branch is graded, and the result shows on the pushed commit.",
		"For that, install the grading GitHub App on your fork (only that repository is enough):",
		"<" + link + ">",
		"",
	}, "\n"), nil
}
