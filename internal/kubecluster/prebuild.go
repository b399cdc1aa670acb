package kubecluster

import (
	"context"
	"io"
)

// Build puts the Kubernetes binaries and the pause program in the cache
// when they are not there yet, and does nothing else: a later Start then
// only starts. `make test` runs it while the sandbox image builds, so that
// the long one-time compile overlaps the image's downloads rather than
// the tests.
func Build(ctx context.Context, opts Options) error {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	cacheDir := opts.CacheDir
	if cacheDir == "" {
		dir, err := defaultCacheDir()
		if err != nil {
			return err
		}
		cacheDir = dir
	}
	_, err := ensureBinaries(ctx, cacheDir, log)
	return err
}
