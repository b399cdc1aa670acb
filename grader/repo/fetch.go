package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/sirupsen/logrus"

	"github.com/cmcgrader/cmcgrader/internal/bytesize"
	"github.com/cmcgrader/cmcgrader/internal/gitref"
)

// Fetch errors. Each is wrapped with the repository and the fix; test
// with errors.Is.
var (
	// ErrBadURL means the repository URL is not one Fetch accepts.
	ErrBadURL = errors.New("bad repository URL")
	// ErrBadRef means the branch or commit asked for is malformed.
	ErrBadRef = errors.New("bad branch or commit")
	// ErrUnreachable means the repository could not be reached or read:
	// no connection, no such host, no such repository, or no access.
	ErrUnreachable = errors.New("repository unreachable")
	// ErrUnknownBranch means the repository has no such branch.
	ErrUnknownBranch = errors.New("unknown branch")
	// ErrCommitNotFound means the repository does not serve the commit.
	ErrCommitNotFound = errors.New("commit not found")
	// ErrTooLarge means a size limit was passed: of a fetch, or of a
	// workspace (see TarLimits).
	ErrTooLarge = errors.New("too large")
	// ErrFetchTimeout means the fetch took longer than its time limit.
	ErrFetchTimeout = errors.New("fetch timed out")
	// ErrNotExist is what Snapshot.ReadFile returns, wrapped, for a path
	// the commit does not have. It is fs.ErrNotExist.
	ErrNotExist = fs.ErrNotExist
)

// Fetch defaults.
const (
	DefaultFetchBytes   = 512 << 20
	DefaultFetchTimeout = 5 * time.Minute
)

// FetchOptions says what to fetch and within which bounds. Exactly one of
// Branch and Commit is set; zero limits take the defaults.
type FetchOptions struct {
	// URL is the repository: http://, https://, file:// or a local path.
	// It must not hold credentials (use Credentials).
	URL string
	// Branch is a short branch name ("cmc", not "refs/heads/cmc").
	Branch string
	// Commit is a full 40-hex commit SHA. The server must allow fetching
	// reachable commits by SHA (GitHub does; git needs
	// uploadpack.allowReachableSHA1InWant or allowAnySHA1InWant).
	Commit string
	// MaxBytes bounds the pack the server sends; zero means
	// DefaultFetchBytes. The fetch stops as soon as it is passed.
	MaxBytes int64
	// MaxObjectBytes bounds the total uncompressed size of the fetched
	// objects, checked before any is unpacked; zero means 4 × MaxBytes.
	MaxObjectBytes int64
	// MaxFileBytes bounds the uncompressed size of one fetched object,
	// checked before any is unpacked; zero means DefaultTarFileBytes, the
	// workspace's limit for one file, which a larger blob could never
	// pass.
	MaxFileBytes int64
	// Timeout bounds the whole fetch; zero means DefaultFetchTimeout.
	Timeout time.Duration
	// Credentials, if set, are sent with HTTP basic auth to an https://
	// URL (or plain http:// on loopback). Nil fetches anonymously.
	Credentials *Credentials
	// Upstream, if set, is a mirror of the upstream repository (see
	// FetchCache): its commits are offered to the server as ones the
	// grader has, so the server sends only what the fork added, and its
	// objects are read from disk. What is fetched is read from the
	// fetch's own pack, as without a mirror.
	Upstream *Mirror
}

// Credentials are HTTP basic credentials. For a GitHub token, any
// non-empty user name (e.g. x-access-token) and the token as password.
// They are never logged; String hides the password.
type Credentials struct {
	Username string
	Password string
}

// String returns the user name and a mask, never the password.
func (c *Credentials) String() string {
	if c == nil {
		return "<none>"
	}
	return c.Username + ":***"
}

// Snapshot is one fetched commit. Its objects are read, one at a time,
// from the pack the fetch received, kept in a file that has no name on
// disk any more (see Fetch). It is safe for concurrent use; Close releases
// the pack.
type Snapshot struct {
	// URL is the repository fetched from.
	URL string
	// Branch is the branch fetched; empty when fetched by commit.
	Branch string
	// Commit is the full SHA of the commit.
	Commit string
	// Tree is the SHA of the commit's root tree.
	Tree string
	// PackBytes is the size of the pack the server sent.
	PackBytes int64

	objects storer.EncodedObjectStorer
	tree    plumbing.Hash
	pack    *packReader // nil when nothing was fetched (a mirror's snapshot)
}

// Close releases the fetched pack; reading the snapshot after that fails.
// Closing a snapshot again, or one read from a mirror, does nothing.
func (s *Snapshot) Close() error {
	if s == nil || s.pack == nil {
		return nil
	}
	return s.pack.close()
}

// checkFetch refuses URLs and credentials the grader never fetches with,
// and returns log, or a silent logger when log is nil.
func checkFetch(log *logrus.Entry, opts FetchOptions) (*logrus.Entry, error) {
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = logrus.NewEntry(l)
	}
	if err := CheckURL(opts.URL); err != nil {
		return nil, err
	}
	if opts.Credentials != nil && !credentialsSafe(opts.URL) {
		return nil, fmt.Errorf("%w: credentials are only sent over https:// (or http:// on loopback), not to %s", ErrBadURL, opts.URL)
	}
	return log, nil
}

// Fetch fetches one commit of a repository, shallow (depth 1, no tags,
// one ref). The pack the server sends is spooled to a private temporary
// file, never held in memory; before any object is unpacked, their sizes
// are checked from the pack's headers. The file is removed before Fetch
// returns, on every path: the snapshot reads the pack through its open
// descriptor until Close. No file of the repository is ever written out.
// The errors it returns wrap ErrBadURL, ErrBadRef, ErrUnreachable,
// ErrUnknownBranch, ErrCommitNotFound, ErrTooLarge, ErrFetchTimeout or
// the context's error, with the repository named.
func Fetch(ctx context.Context, log *logrus.Entry, opts FetchOptions) (*Snapshot, error) {
	log, err := checkFetch(log, opts)
	if err != nil {
		return nil, err
	}
	refspec, err := fetchRefSpec(opts.Branch, opts.Commit)
	if err != nil {
		return nil, err
	}
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultFetchBytes
	}
	maxObjects := opts.MaxObjectBytes
	if maxObjects <= 0 {
		maxObjects = 4 * maxBytes
	}
	maxFile := opts.MaxFileBytes
	if maxFile <= 0 {
		maxFile = DefaultTarFileBytes
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	log = log.WithField("repo", opts.URL)
	if opts.Branch != "" {
		log = log.WithField("branch", opts.Branch)
	} else {
		log = log.WithField("commit", opts.Commit)
	}

	fctx, cancel := context.WithTimeoutCause(ctx, timeout, errFetchDeadline)
	defer cancel()
	store := &limitStorage{Storer: newFetchStorage(opts.Upstream), maxPack: maxBytes, maxObjects: maxObjects, maxFile: maxFile}
	fetched := false
	defer func() { store.cleanup(fetched) }()
	repo, err := git.Init(store, nil)
	if err != nil {
		return nil, fmt.Errorf("init fetch storage: %w", err)
	}
	remote, err := repo.CreateRemoteAnonymous(&config.RemoteConfig{Name: "anonymous", URLs: []string{opts.URL}})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadURL, opts.URL, err)
	}
	fo := &git.FetchOptions{
		RefSpecs: []config.RefSpec{refspec},
		Depth:    1,
		Tags:     git.NoTags,
	}
	if opts.Upstream != nil {
		// A shallow fetch makes the server ignore the upstream commits
		// the grader has (the fork's commit loses its parent), so with a
		// mirror the fetch is full: only the fork's own commits are new.
		fo.Depth = 0
	}
	if c := opts.Credentials; c != nil {
		fo.Auth = &githttp.BasicAuth{Username: c.Username, Password: c.Password}
	}
	start := time.Now()
	err = remote.FetchContext(fctx, fo)
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, fetchError(ctx, fctx, opts, timeout, maxBytes, maxObjects, err)
	}

	ref, err := store.Reference(refspec.Dst(""))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: no ref after fetch: %w", opts.URL, err)
	}
	commit, err := object.GetCommit(store, ref.Hash())
	if err != nil {
		if opts.Commit != "" {
			return nil, fmt.Errorf("%w: %s is not a commit in %s: %w", ErrCommitNotFound, opts.Commit, opts.URL, err)
		}
		return nil, fmt.Errorf("fetch %s: read commit %s: %w", opts.URL, ref.Hash(), err)
	}
	s := &Snapshot{
		URL:       opts.URL,
		Branch:    opts.Branch,
		Commit:    commit.Hash.String(),
		Tree:      commit.TreeHash.String(),
		PackBytes: store.packBytes,
		objects:   store,
		tree:      commit.TreeHash,
		pack:      store.pack,
	}
	if _, err := object.GetTree(store, s.tree); err != nil {
		return nil, fmt.Errorf("fetch %s: root tree %s of commit %s missing: %w", opts.URL, s.Tree, s.Commit, err)
	}
	log.WithFields(logrus.Fields{
		"sha":      s.Commit,
		"bytes":    s.PackBytes,
		"duration": time.Since(start).Round(time.Millisecond),
	}).Info("fetched")
	fetched = true
	return s, nil
}

// errFetchDeadline is the cause of Fetch's own deadline, to tell it from
// the caller's.
var errFetchDeadline = errors.New("fetch deadline")

// fetchError turns an error of go-git's fetch into one of ours.
func fetchError(ctx, fctx context.Context, opts FetchOptions, timeout time.Duration, maxBytes, maxObjects int64, err error) error {
	repo := opts.URL
	var nerr net.Error
	var uerr *url.Error
	var nomatch git.NoMatchingRefSpecError
	var big *objectTooLargeError
	switch {
	case errors.As(err, &big):
		return fmt.Errorf("%w: %s: %s; ask the candidate to remove that file from the branch", ErrTooLarge, repo, big)
	case errors.Is(err, errPackTooLarge):
		return fmt.Errorf("%w: %s: repository over the %s fetch limit; raise the limit or ask the candidate to remove large files", ErrTooLarge, repo, bytesize.Format(maxBytes))
	case errors.Is(err, errObjectsTooLarge):
		return fmt.Errorf("%w: %s: unpacked objects over the %s limit; raise the limit or ask the candidate to remove large files", ErrTooLarge, repo, bytesize.Format(maxObjects))
	case context.Cause(fctx) == errFetchDeadline && ctx.Err() == nil:
		return fmt.Errorf("%w: %s: no answer within the %s limit; retry, or raise the fetch timeout", ErrFetchTimeout, repo, timeout)
	case ctx.Err() != nil:
		return fmt.Errorf("fetch %s: %w", repo, ctx.Err())
	case errors.As(err, &nomatch):
		return fmt.Errorf("%w: branch %q not found in %s; the candidate must push to it", ErrUnknownBranch, opts.Branch, repo)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		if opts.Commit != "" {
			return fmt.Errorf("%w: %s in %s: the repository is empty; the candidate must push to it", ErrCommitNotFound, opts.Commit, repo)
		}
		return fmt.Errorf("%w: branch %q not found in %s: the repository is empty; the candidate must push to it", ErrUnknownBranch, opts.Branch, repo)
	case errors.Is(err, git.ErrExactSHA1NotSupported):
		return fmt.Errorf("%w: %s in %s: the server does not allow fetching a commit by SHA; grade a branch instead", ErrCommitNotFound, opts.Commit, repo)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%w: cannot reach %s: repository not found; check the URL and that the repository is public or credentials are given", ErrUnreachable, repo)
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("%w: cannot reach %s: access denied; check the URL and that the repository is public or credentials are given", ErrUnreachable, repo)
	case errors.As(err, &nerr), errors.As(err, &uerr):
		return fmt.Errorf("%w: cannot reach %s: %w; check the URL and the network", ErrUnreachable, repo, err)
	case opts.Commit != "" && notOurRef(err):
		return fmt.Errorf("%w: %s is not in %s; check the SHA and that the candidate pushed it", ErrCommitNotFound, opts.Commit, repo)
	case opts.Commit != "" && closedEarly(err):
		return fmt.Errorf("%w: %s could not be fetched from %s: the server hung up after the request, most likely because it does not have the commit; check the SHA and that the candidate pushed it", ErrCommitNotFound, opts.Commit, repo)
	}
	return fmt.Errorf("fetch %s: %w", repo, err)
}

// notOurRef reports whether err is git upload-pack refusing a want: the
// commit is unknown to the server (or not reachable from a ref). go-git
// only passes the server's message on as text.
func notOurRef(err error) bool {
	return strings.Contains(err.Error(), "not our ref")
}

// closedEarly reports whether err says the server closed the connection
// while go-git was still sending its request. With file:// that is how a
// refused want often shows: git upload-pack exits before go-git has sent
// everything, and go-git formats the error as text.
func closedEarly(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrClosedPipe) ||
		strings.Contains(err.Error(), "broken pipe")
}

// CheckURL reports whether Fetch accepts raw as a repository: http,
// https and file URLs and local paths, nothing else (no ssh or scp-like
// user@host:path, git://, ftp or ext::), without spaces, control
// characters or credentials. The error wraps ErrBadURL.
func CheckURL(raw string) error {
	if strings.TrimSpace(raw) == "" {
		return fmt.Errorf("%w: empty; give an https:// URL, a file:// URL or a local path", ErrBadURL)
	}
	for _, r := range raw {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("%w: %q holds a space or a control character", ErrBadURL, raw)
		}
	}
	scheme, rest, hasScheme := strings.Cut(raw, "://")
	if !hasScheme {
		if strings.HasPrefix(raw, "-") {
			return fmt.Errorf("%w: %q starts with a dash; write ./%s", ErrBadURL, raw, raw)
		}
		// A colon before the first slash is ssh's scp-like syntax
		// (user@host:path) or a transport helper (ext::cmd).
		if i := strings.IndexByte(raw, ':'); i >= 0 && !strings.Contains(raw[:i], "/") {
			return fmt.Errorf("%w: %q looks like an ssh or helper address; only https://, http://, file:// and local paths are supported", ErrBadURL, raw)
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrBadURL, raw, err)
	}
	switch strings.ToLower(scheme) {
	case "http", "https":
		if u.Host == "" || u.Hostname() == "" {
			return fmt.Errorf("%w: %q has no host", ErrBadURL, raw)
		}
		if u.User != nil {
			return fmt.Errorf("%w: %s holds credentials; pass them as credentials, not in the URL", ErrBadURL, u.Redacted())
		}
	case "file":
		if h := u.Host; h != "" && h != "localhost" {
			return fmt.Errorf("%w: %q names host %q; file URLs are local (file:///path)", ErrBadURL, raw, h)
		}
		if rest == "" || u.Path == "" {
			return fmt.Errorf("%w: %q has no path", ErrBadURL, raw)
		}
	default:
		return fmt.Errorf("%w: scheme %q of %q is not supported; use https://, http://, file:// or a local path", ErrBadURL, scheme, raw)
	}
	return nil
}

// credentialsSafe reports whether credentials may be sent to raw: over
// TLS, or in clear to a loopback address.
func credentialsSafe(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return true
	case "http":
		if u.Hostname() == "localhost" {
			return true
		}
		ip := net.ParseIP(u.Hostname())
		return ip != nil && ip.IsLoopback()
	}
	return false
}

// fetchRefSpec returns the refspec that fetches the branch or the commit.
func fetchRefSpec(branch, commit string) (config.RefSpec, error) {
	switch {
	case branch == "" && commit == "":
		return "", fmt.Errorf("%w: give a branch or a commit to fetch", ErrBadRef)
	case branch != "" && commit != "":
		return "", fmt.Errorf("%w: give a branch or a commit, not both", ErrBadRef)
	case commit != "":
		c := strings.ToLower(commit)
		if !gitref.IsCommit(c) {
			return "", fmt.Errorf("%w: commit %q: give the full 40-hex SHA (git rev-parse HEAD), abbreviated SHAs cannot be fetched", ErrBadRef, commit)
		}
		return config.RefSpec(c + ":refs/heads/fetched"), nil
	}
	if !gitref.IsBranch(branch) {
		return "", fmt.Errorf("%w: branch %q is not a valid short branch name (like main or cmc-answers)", ErrBadRef, branch)
	}
	name := plumbing.NewBranchReferenceName(branch)
	return config.RefSpec("+" + string(name) + ":" + string(name)), nil
}

// ReadFile returns the content of the regular file at the slash-separated
// path name in the snapshot's tree. A missing path gives an *fs.PathError
// wrapping ErrNotExist. The result is never nil when err is nil, even for
// an empty file.
func (s *Snapshot) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) || name == "." {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	tree, err := object.GetTree(s.objects, s.tree)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	parts := strings.Split(name, "/")
	for i, part := range parts {
		e := findEntry(tree, part)
		if e == nil {
			return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
		}
		last := i == len(parts)-1
		switch {
		case e.Mode == filemode.Dir && !last:
			if tree, err = object.GetTree(s.objects, e.Hash); err != nil {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
		case !last:
			return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
		case e.Mode == filemode.Regular || e.Mode == filemode.Executable || e.Mode == filemode.Deprecated:
			return s.readBlob(e.Hash, name)
		default:
			return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("not a regular file (mode %s)", e.Mode)}
		}
	}
	return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
}

func findEntry(t *object.Tree, name string) *object.TreeEntry {
	for i := range t.Entries {
		if t.Entries[i].Name == name {
			return &t.Entries[i]
		}
	}
	return nil
}

func (s *Snapshot) readBlob(h plumbing.Hash, name string) ([]byte, error) {
	obj, err := s.objects.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("read %s: blob %s: %w", name, h, err)
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer r.Close()
	data := make([]byte, 0, obj.Size())
	buf := bytes.NewBuffer(data)
	if _, err := io.Copy(buf, io.LimitReader(r, obj.Size())); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return buf.Bytes(), nil
}
