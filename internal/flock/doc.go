// Package flock serializes work among the processes of one host with an
// exclusive flock(2) on a file, waiting for the lock no longer than a
// context allows.
//
// Example:
//
//	unlock, err := flock.Lock(ctx, filepath.Join(dir, "build.lock"))
//	if err != nil {
//		return err // ctx.Err() when ctx ended first
//	}
//	defer unlock()
package flock
