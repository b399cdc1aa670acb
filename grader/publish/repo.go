package publish

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// ErrBadRepo is matched by errors.Is for a repository URL that does not
// name a repository of the configured GitHub.
var ErrBadRepo = errors.New("not a repository of this GitHub")

// GitHub's rules for owner and repository names: an owner is letters,
// digits and single hyphens (39 at most); a repository name is letters,
// digits, '.', '-' and '_' (100 at most), and not "." or "..".
var (
	ownerName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repoName  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

// Repo is a repository on GitHub.
type Repo struct {
	Owner, Name string
}

func (r Repo) String() string { return r.Owner + "/" + r.Name }

// ParseRepo reads owner and name from a repository URL as a roster holds
// it: https://HOST/OWNER/NAME, with or without .git or a final slash.
// host is the web host of the GitHub the repository must be on:
// github.com, or an Enterprise server's host (and port, if any).
// http:// is accepted for an Enterprise host only.
func ParseRepo(raw, host string) (Repo, error) {
	bad := func(format string, args ...any) (Repo, error) {
		return Repo{}, fmt.Errorf("%w: %q: %s", ErrBadRepo, raw, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return bad("not a URL; want https://%s/OWNER/NAME", host)
	}
	switch {
	case u.Scheme != "https" && !(u.Scheme == "http" && host != "github.com"):
		return bad("want https://%s/OWNER/NAME", host)
	case !strings.EqualFold(u.Host, host):
		return bad("the repository is on %q, but results are published to %s (set --github-url for a GitHub Enterprise server)", u.Host, host)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return bad("a repository URL carries no user, query or fragment")
	}
	path := strings.TrimSuffix(strings.TrimPrefix(u.Path, "/"), "/")
	path = strings.TrimSuffix(path, ".git")
	parts := strings.Split(path, "/")
	if len(parts) != 2 {
		return bad("want https://%s/OWNER/NAME", host)
	}
	r := Repo{Owner: parts[0], Name: parts[1]}
	if !ownerName.MatchString(r.Owner) {
		return bad("%q is not a GitHub owner name", r.Owner)
	}
	if !repoName.MatchString(r.Name) || r.Name == "." || r.Name == ".." {
		return bad("%q is not a GitHub repository name", r.Name)
	}
	return r, nil
}

// InstallLink returns the link that installs a GitHub App, from the App's
// public page (https://github.com/apps/SLUG, or an Enterprise server's).
func InstallLink(appURL string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(appURL, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: want the App's page, https://github.com/apps/SLUG", appURL)
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(parts) != 2 || parts[0] != "apps" || !repoName.MatchString(parts[1]) {
		return "", fmt.Errorf("%q: want the App's page, https://%s/apps/SLUG", appURL, u.Host)
	}
	return u.String() + "/installations/new", nil
}
