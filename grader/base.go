package grader

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"golang.org/x/mod/modfile"

	"github.com/cmcgrader/cmcgrader/grader/repo"
	"github.com/cmcgrader/cmcgrader/internal/gitref"
	"github.com/cmcgrader/cmcgrader/sandbox"
	"github.com/cmcgrader/cmcgrader/tasks"
)

// baseOf returns the repository and ref a submission's protected files
// come from: the submission's own, else the bank's; the repository
// defaults to the candidate's. Grading, bank verification and prepare
// all resolve the base here.
func baseOf(bank *tasks.Bank, sub Submission) (repoURL, ref string, err error) {
	repoURL, ref = cmp.Or(sub.BaseRepo, bank.Base.Repo, sub.Repo), cmp.Or(sub.BaseRef, bank.Base.Ref)
	if repoURL == "" {
		return "", "", fmt.Errorf("%w: no base repository: the bank names none; give one (--repo)", ErrSubmission)
	}
	if ref == "" {
		return "", "", fmt.Errorf("%w: no base branch or commit: the bank names none; give one (--base-ref)", ErrSubmission)
	}
	return repoURL, ref, nil
}

// upstream returns the mirror of the submission's base repository, brought
// up to date, or nil when there is no cache or the base repository is the
// candidate's own (whose objects must never reach the disk).
func (g *Grader) upstream(ctx context.Context, bank *tasks.Bank, sub Submission) (*repo.Mirror, error) {
	if g.Cache == nil {
		return nil, nil
	}
	baseRepo, _, err := baseOf(bank, sub)
	if err != nil {
		return nil, err
	}
	if baseRepo == sub.Repo {
		g.Log.Info("fetch cache not used: the base repository is the candidate's")
		return nil, nil
	}
	g.phase("updating the upstream mirror")
	opts := g.Fetch
	opts.URL = baseRepo
	m, err := g.Cache.Update(ctx, g.Log, opts)
	if err != nil {
		return nil, submissionFetchError("update the mirror of the base repository", err)
	}
	return m, nil
}

// fetchBase reads the submission's base commit: from mirror when it holds
// the base repository, else by fetching it.
func (g *Grader) fetchBase(ctx context.Context, bank *tasks.Bank, sub Submission, mirror *repo.Mirror) (*repo.Snapshot, error) {
	baseRepo, baseRef, err := baseOf(bank, sub)
	if err != nil {
		return nil, err
	}
	opts := g.Fetch
	opts.URL = baseRepo
	if gitref.IsCommit(baseRef) {
		opts.Commit = baseRef
	} else {
		opts.Branch = baseRef
	}
	g.phase("fetching the base " + baseRef)
	g.Log.WithFields(logrus.Fields{"repo": baseRepo, "ref": baseRef}).Info("fetching base")
	base, err := repo.FetchBase(ctx, g.Log, opts, mirror)
	if err != nil {
		return nil, submissionFetchError("fetch base "+baseRef+" of the bank", err)
	}
	return base, nil
}

// imageRequest reads what the image for base must hold. A base without a
// go.mod needs no modules; a go.mod that cannot be read is an error,
// never an image that would fail every candidate's build. See
// localModules for the modules go.mod replaces by folders.
func imageRequest(bank *tasks.Bank, base *repo.Snapshot) (sandbox.ImageRequest, error) {
	req := sandbox.ImageRequest{GoVersion: bank.Go, BankDigest: bank.Digest, BaseCommit: base.Commit}
	for _, f := range []struct {
		name string
		data *[]byte
	}{{"go.mod", &req.GoMod}, {"go.sum", &req.GoSum}} {
		data, err := base.ReadFile(f.name)
		switch {
		case errors.Is(err, repo.ErrNotExist):
		case err != nil:
			return sandbox.ImageRequest{}, fmt.Errorf("read %s of the base %s: %w", f.name, base.Commit, err)
		default:
			*f.data = data
		}
	}
	if bank.JSDeps.Source == tasks.JSDepsNPM {
		// The base's packages, installed into the modules image.
		req.JS.Lockfile = bank.JSDeps.Lockfile
		for name, data := range map[string]*[]byte{req.JS.Lockfile: &req.JS.Lock, path.Join(path.Dir(req.JS.Lockfile), "package.json"): &req.JS.Package} {
			var err error
			if *data, err = base.ReadFile(name); err != nil {
				return sandbox.ImageRequest{}, fmt.Errorf("js_deps: read %s of the base %s: %w", name, base.Commit, err)
			}
		}
	}
	if req.GoMod == nil {
		return req, nil
	}
	local, err := localModules(req.GoMod, base)
	if err != nil {
		return sandbox.ImageRequest{}, fmt.Errorf("go.mod of the base %s: %w", base.Commit, err)
	}
	req.LocalModules = local
	return req, nil
}

// ErrBaseGoMod means the base's go.mod cannot be graded with: it
// replaces a module by a folder no workspace holds.
var ErrBaseGoMod = errors.New("the base's go.mod cannot be built offline")

// localModules returns the go.mod files of the folders of base that gomod
// replaces modules by, as the go command reads them: a replacement of the
// main module itself is ignored (the go command ignores it), a folder
// inside the tree is part of every workspace and its go.mod is read from
// base, and a folder outside the tree is refused, naming the line and the
// fix.
func localModules(gomod []byte, base *repo.Snapshot) (map[string][]byte, error) {
	f, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBaseGoMod, err)
	}
	var local map[string][]byte
	for _, r := range f.Replace {
		if r.New.Version != "" || (f.Module != nil && r.Old.Path == f.Module.Mod.Path) {
			continue
		}
		line := 0
		if r.Syntax != nil {
			line = r.Syntax.Start.Line
		}
		dir := filepath.ToSlash(r.New.Path)
		clean := path.Clean(dir)
		if path.IsAbs(dir) || clean == ".." || strings.HasPrefix(clean, "../") || clean == "." {
			return nil, fmt.Errorf("%w: go.mod:%d: replace %s => %s: a folder outside the repository, which no workspace holds; replace it by a module version (replace %s => MODULE VERSION) or move the module into the tree",
				ErrBaseGoMod, line, r.Old.Path, r.New.Path, r.Old.Path)
		}
		data, err := base.ReadFile(clean + "/go.mod")
		if err != nil {
			return nil, fmt.Errorf("%w: go.mod:%d: replace %s => %s: the folder has no go.mod in the base: %w", ErrBaseGoMod, line, r.Old.Path, r.New.Path, err)
		}
		if local == nil {
			local = map[string][]byte{}
		}
		local[clean] = data
	}
	return local, nil
}

// CheckBase fetches the base of bank (or the one sub names) and checks
// that its go.mod can be built offline in a sandbox, as grading will
// need: run it before an exam rather than find out at the deadline.
func (g *Grader) CheckBase(ctx context.Context, bank *tasks.Bank, sub Submission) (commit string, err error) {
	mirror, err := g.upstream(ctx, bank, sub)
	if err != nil {
		return "", err
	}
	if mirror != nil {
		defer mirror.Close()
	}
	base, err := g.fetchBase(ctx, bank, sub, mirror)
	if err != nil {
		return "", err
	}
	defer base.Close()
	if _, err := imageRequest(bank, base); err != nil {
		return base.Commit, err
	}
	return base.Commit, nil
}

// ErrNoWarm means the sandbox backend cannot build warm images.
var ErrNoWarm = errors.New("the sandbox backend builds no warm images")

// Prepare builds the warm image of bank and the submission's base commit
// (see sandbox.Warmer): the Go modules the base needs and a build cache
// warmed by compiling the tests of the packages the bank's Go tasks use.
// Only the base fields of sub are used. force rebuilds an existing one.
func (g *Grader) Prepare(ctx context.Context, bank *tasks.Bank, sub Submission, force bool) (sandbox.Image, error) {
	w, ok := g.Images.(sandbox.Warmer)
	if !ok {
		return sandbox.Image{}, ErrNoWarm
	}
	mirror, err := g.upstream(ctx, bank, sub)
	if err != nil {
		return sandbox.Image{}, err
	}
	if mirror != nil {
		defer mirror.Close()
	}
	base, err := g.fetchBase(ctx, bank, sub, mirror)
	if err != nil {
		return sandbox.Image{}, err
	}
	defer base.Close()
	req, err := imageRequest(bank, base)
	if err != nil {
		return sandbox.Image{}, err
	}
	if len(req.GoMod) == 0 {
		return sandbox.Image{}, fmt.Errorf("%w: the base %s has no go.mod: nothing to warm; grade without prepare", ErrSubmission, base.Commit)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := base.WriteTar(pw, repo.Overlay{}, repo.TarLimits{})
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	g.phase("building the warm image")
	return w.Warm(ctx, sandbox.WarmRequest{
		ImageRequest: req,
		Workspace:    pr,
		Packages:     bank.GoPackages(),
		TestFiles:    bank.GoHiddenFiles(),
		Force:        force,
	})
}
