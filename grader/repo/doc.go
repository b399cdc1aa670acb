// Package repo is the repository side of grading, and the only package
// that imports go-git. It fetches one commit of a fork over smart HTTP (or
// file://) into a Snapshot, whose objects are read from the received pack,
// kept in a private temporary file and never checked out; reads which
// commit a branch points to without fetching it (ResolveBranch, as git
// ls-remote does, for a cohort's deadline freeze); keeps mirrors of
// upstream repositories (FetchCache) so a fork's fetch carries only what it
// added; builds a task's workspace as a tar stream straight from git
// objects (Snapshot.WriteTar, with an Overlay of hidden and protected
// files); applies the bank's patches (ApplyPatch); and lets analysis read
// trees and blobs by path or hash (Entries, TreeAt, Lookup, ReadBlob)
// without reaching for go-git itself.
//
// Every read is bounded: the pack's size, each object's size, a
// workspace's entries and bytes. A hostile tree (paths out of the root,
// bad names, duplicate entries, symlinks out) is refused or has the
// offending entries left out, each named in WorkspaceStats.
//
//	s, err := repo.Fetch(ctx, log, repo.FetchOptions{URL: url, Branch: "cmc"})
//	if err != nil {
//		return err // errors.Is(err, repo.ErrUnknownBranch), ...
//	}
//	defer s.Close()
//	_, err = s.WriteTar(w, repo.Overlay{Hidden: hidden}, repo.TarLimits{})
package repo
