package publish

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v66/github"
)

// ErrNotInstalled is matched by errors.Is when the App is not installed
// on a repository (GitHub answers 404 to GET /repos/{owner}/{repo}/installation).
var ErrNotInstalled = errors.New("the GitHub App is not installed on the repository")

// JWT timing: GitHub refuses an App JWT that expires more than 10 minutes
// after it was issued, and one issued in its future; iat is backdated to
// allow for clock drift between this host and GitHub.
const (
	jwtBackdate = 60 * time.Second
	jwtLifetime = 9 * time.Minute
	// tokenMargin: an installation token is replaced this long before it
	// expires, so no call starts with a token about to die.
	tokenMargin = 5 * time.Minute
)

// appAuth authenticates as a GitHub App: a JWT for the App's own
// endpoints, and an installation token for a repository's.
type appAuth struct {
	id             int64
	key            *rsa.PrivateKey
	installationID int64 // 0: found for each repository

	mu      sync.Mutex
	byRepo  map[Repo]int64
	byInst  map[int64]cachedToken
	fetchMu sync.Mutex // one token fetch at a time
}

type cachedToken struct {
	token   string
	expires time.Time
}

// jwt returns a JWT for the App, signed RS256, issued at now.
func (a *appAuth) jwt(now time.Time) (string, error) {
	claims := jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(a.id, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-jwtBackdate)),
		ExpiresAt: jwt.NewNumericDate(now.Add(jwtLifetime)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(a.key)
	if err != nil {
		return "", fmt.Errorf("%w: sign the App's JWT: %w", errAuth, err)
	}
	return s, nil
}

// installation returns the id of the App's installation that covers repo.
func (g *GitHub) installation(ctx context.Context, repo Repo) (int64, error) {
	if g.app.installationID != 0 {
		return g.app.installationID, nil
	}
	return g.findInstallation(ctx, repo)
}

// findInstallation asks GitHub which installation of the App covers repo.
func (g *GitHub) findInstallation(ctx context.Context, repo Repo) (int64, error) {
	a := g.app
	a.mu.Lock()
	id, ok := a.byRepo[repo]
	a.mu.Unlock()
	if ok {
		return id, nil
	}
	var inst *github.Installation
	err := g.retry(ctx, "find the App's installation on "+repo.String(), func(ctx context.Context) (*github.Response, error) {
		c, err := g.appClient()
		if err != nil {
			return nil, err
		}
		var resp *github.Response
		inst, resp, err = c.Apps.FindRepositoryInstallation(ctx, repo.Owner, repo.Name)
		return resp, err
	})
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
		return 0, fmt.Errorf("%s: %w: install it on the repository, or keep the repository in an organisation where it is installed", repo, ErrNotInstalled)
	}
	if err != nil {
		return 0, err
	}
	if inst.GetID() == 0 {
		return 0, fmt.Errorf("find the App's installation on %s: GitHub answered no installation id", repo)
	}
	a.mu.Lock()
	a.byRepo[repo] = inst.GetID()
	a.mu.Unlock()
	return inst.GetID(), nil
}

// installationToken returns a token of installation id, from the cache
// unless it expires within tokenMargin.
func (g *GitHub) installationToken(ctx context.Context, id int64) (string, error) {
	a := g.app
	a.fetchMu.Lock()
	defer a.fetchMu.Unlock()
	a.mu.Lock()
	t, ok := a.byInst[id]
	a.mu.Unlock()
	if ok && g.now().Add(tokenMargin).Before(t.expires) {
		return t.token, nil
	}
	var tok *github.InstallationToken
	err := g.retry(ctx, fmt.Sprintf("get a token of installation %d", id), func(ctx context.Context) (*github.Response, error) {
		c, err := g.appClient()
		if err != nil {
			return nil, err
		}
		var resp *github.Response
		tok, resp, err = c.Apps.CreateInstallationToken(ctx, id, nil)
		return resp, err
	})
	if err != nil {
		return "", err
	}
	if tok.GetToken() == "" {
		return "", fmt.Errorf("get a token of installation %d: GitHub answered no token", id)
	}
	t = cachedToken{token: tok.GetToken(), expires: tok.GetExpiresAt().Time}
	if t.expires.IsZero() {
		t.expires = g.now().Add(tokenMargin + time.Minute) // GitHub's are good for an hour; assume little
	}
	a.mu.Lock()
	a.byInst[id] = t
	a.mu.Unlock()
	return t.token, nil
}

// dropTokens forgets the installation tokens cached.
func (a *appAuth) dropTokens() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.byInst)
}

// appClient is a client that authenticates as the App itself.
func (g *GitHub) appClient() (*github.Client, error) {
	j, err := g.app.jwt(g.now())
	if err != nil {
		return nil, err
	}
	return g.client(j), nil
}

// token returns the token to call repo's endpoints with.
func (g *GitHub) token(ctx context.Context, repo Repo) (string, error) {
	if g.app == nil {
		return g.plainToken, nil
	}
	id, err := g.installation(ctx, repo)
	if err != nil {
		return "", err
	}
	return g.installationToken(ctx, id)
}

// Installed reports whether the App can see repo (is installed on it, or
// on its owner). It needs App authentication.
func (g *GitHub) Installed(ctx context.Context, repo Repo) (bool, error) {
	if g.app == nil {
		return false, errors.New("checking installations needs GitHub App authentication (an App id and its private key)")
	}
	_, err := g.findInstallation(ctx, repo)
	if errors.Is(err, ErrNotInstalled) {
		return false, nil
	}
	return err == nil, err
}
