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
	log, cacheDir, err := opts.resolve()
	if err != nil {
		return err
	}
	_, err = ensureBinaries(ctx, cacheDir, log)
	return err
}

// resolve returns the progress writer and the cache folder of o, their
// defaults for the zero values.
func (o Options) resolve() (log io.Writer, cacheDir string, err error) {
	log, cacheDir = o.Log, o.CacheDir
	if log == nil {
		log = io.Discard
	}
	if cacheDir == "" {
		if cacheDir, err = defaultCacheDir(); err != nil {
			return nil, "", err
		}
	}
	return log, cacheDir, nil
}
