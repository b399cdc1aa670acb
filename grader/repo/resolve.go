package repo

import (
	"context"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/sirupsen/logrus"
)

// ResolveBranch reads which commit a branch of a repository points to
// now, as git ls-remote does: it asks the server for its refs and fetches
// no object. It takes the URL, Branch, Credentials and Timeout of opts,
// checked as Fetch checks them (the size limits and Upstream do not
// apply, and Commit must be empty). The time limit bounds the whole
// exchange; the refs the server lists are held in memory while it lasts.
//
// It returns the full lower-case SHA. Its errors wrap ErrBadURL,
// ErrBadRef, ErrUnreachable, ErrUnknownBranch, ErrFetchTimeout or the
// context's error, with the repository named, as Fetch's do.
func ResolveBranch(ctx context.Context, log *logrus.Entry, opts FetchOptions) (string, error) {
	log, err := checkFetch(log, opts)
	if err != nil {
		return "", err
	}
	switch {
	case opts.Commit != "":
		return "", fmt.Errorf("%w: give a branch to resolve, not a commit", ErrBadRef)
	case opts.Branch == "":
		return "", fmt.Errorf("%w: give a branch to resolve", ErrBadRef)
	}
	if _, err := fetchRefSpec(opts.Branch, ""); err != nil {
		return "", err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	log = log.WithFields(logrus.Fields{"repo": opts.URL, "branch": opts.Branch})

	fctx, cancel := context.WithTimeoutCause(ctx, timeout, errFetchDeadline)
	defer cancel()
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "anonymous", URLs: []string{opts.URL}})
	lo := &git.ListOptions{PeelingOption: git.IgnorePeeled}
	if c := opts.Credentials; c != nil {
		lo.Auth = &githttp.BasicAuth{Username: c.Username, Password: c.Password}
	}
	start := time.Now()
	refs, err := remote.ListContext(fctx, lo)
	if err != nil {
		return "", fetchError(ctx, fctx, opts, timeout, 0, 0, err)
	}
	want := plumbing.NewBranchReferenceName(opts.Branch)
	for _, ref := range refs {
		if ref.Name() == want && ref.Type() == plumbing.HashReference {
			sha := ref.Hash().String()
			log.WithFields(logrus.Fields{
				"sha":      sha,
				"duration": time.Since(start).Round(time.Millisecond),
			}).Info("branch resolved")
			return sha, nil
		}
	}
	return "", fmt.Errorf("%w: branch %q not found in %s; the candidate must push to it", ErrUnknownBranch, opts.Branch, opts.URL)
}
