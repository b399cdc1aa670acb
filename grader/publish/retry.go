package publish

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/google/go-github/v66/github"
)

// Retry bounds, for a zero Config.
const (
	defaultAttempts = 6
	// defaultMaxWait bounds one wait: for a rate limit to reset, or a
	// Retry-After. A longer one fails the call rather than hold a worker.
	defaultMaxWait = 15 * time.Minute
	backoffBase    = time.Second
	backoffCap     = time.Minute
)

// retry runs call until it succeeds, fails in a way a retry cannot help,
// or has run g.attempts times. It waits between attempts as GitHub asks:
// until a primary rate limit resets, for a secondary limit's or a 429's
// Retry-After; otherwise (5xx, network errors) an exponential backoff
// with jitter.
func (g *GitHub) retry(ctx context.Context, what string, call func(context.Context) (*github.Response, error)) error {
	for attempt := 1; ; attempt++ {
		resp, err := call(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		wait, ok := g.waitBefore(attempt, resp, err)
		if !ok || attempt >= g.attempts {
			return fmt.Errorf("%s (attempt %d of %d): %w", what, attempt, g.attempts, err)
		}
		if wait > g.maxWait {
			return fmt.Errorf("%s: GitHub asks to wait %s, longer than %s: %w", what, wait.Round(time.Second), g.maxWait, err)
		}
		g.log.WithField("attempt", attempt).WithField("wait", wait.String()).Debugf("%s: %v; retrying", what, err)
		if wait > 0 {
			if err := g.sleep(ctx, wait); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
	}
}

// waitBefore says how long to wait before attempt+1 after err, and
// whether a retry can help at all.
func (g *GitHub) waitBefore(attempt int, resp *github.Response, err error) (time.Duration, bool) {
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	var er *github.ErrorResponse
	var fe finalError
	switch {
	case errors.As(err, &fe):
		return 0, false
	case errors.As(err, &rl):
		return max(rl.Rate.Reset.Time.Sub(g.now()), 0) + time.Second, true
	case errors.As(err, &ab):
		if ab.RetryAfter != nil && *ab.RetryAfter > 0 {
			return *ab.RetryAfter, true
		}
		return g.backoff(attempt), true
	case errors.As(err, &er):
		code := 0
		if er.Response != nil {
			code = er.Response.StatusCode
		}
		switch {
		case code == http.StatusTooManyRequests, code == http.StatusForbidden && retryAfter(resp) > 0:
			if d := retryAfter(resp); d > 0 {
				return d, true
			}
			return g.backoff(attempt), true
		case code >= 500:
			return g.backoff(attempt), true
		case code == http.StatusUnauthorized && attempt == 1 && g.app != nil:
			// An installation token revoked or expired early: fetch a
			// new one, once.
			g.app.dropTokens()
			return 0, true
		}
		return 0, false
	case errors.Is(err, errAuth):
		return 0, false
	}
	// No answer from GitHub: a network error.
	return g.backoff(attempt), true
}

// retryAfter is the response's Retry-After, in seconds; 0 if none.
func retryAfter(resp *github.Response) time.Duration {
	if resp == nil || resp.Response == nil {
		return 0
	}
	s, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || s <= 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// backoff is the wait after the attempt-th failure: backoffBase doubled
// at each attempt up to backoffCap, then a random point of its upper half.
func (g *GitHub) backoff(attempt int) time.Duration {
	d := backoffBase << min(attempt-1, 10)
	d = min(d, backoffCap)
	return d/2 + rand.N(d/2+1)
}

// finalError is a failure that was retried already (getting a token, in
// a call that needs one): the call that needed it is not retried again.
type finalError struct{ error }

func (e finalError) Unwrap() error { return e.error }

// errAuth marks a failure to authenticate that no retry can fix (a bad
// private key).
var errAuth = errors.New("authenticate")

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
