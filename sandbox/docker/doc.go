// Package docker is the Docker backend of package sandbox: it runs
// untrusted commands in hardened, throw-away Docker containers, builds and
// selects the grading images, and is the only package that talks to the
// Docker engine.
//
// Every run gets a fresh container and a fresh size-capped tmpfs volume for
// its workspace. The container runs as uid:gid 1000:1000 with no network,
// all capabilities dropped, no-new-privileges, a read-only root file
// system, an init process, memory (without swap), CPU and process limits,
// a size-capped /tmp, and no engine-side logs. Both objects carry the
// grader's labels and are removed when Run returns, on every path; GC
// collects what a crashed grader left behind.
//
// The private files and the workspace (a tar stream) go to the
// container's stdin. The container's entrypoint, a small shell wrapper,
// execs the image's supervisor (sandbox.SupervisorPath), which unpacks
// them into sandbox.PrivateDir and sandbox.Workdir, gives the run a
// private copy-on-write view of the image's warm Go build cache
// (sandbox.WarmCacheDir) in $GOCACHE if there is one, and runs Spec.Cmd.
// It writes nothing to stdout itself. When it fails it exits with
// sandbox.SetupExitCode and one "cmcgrader-sandbox: " line on stderr; Run
// then returns an error wrapping sandbox.ErrSetup. Right before the
// command starts it writes a marker to stderr that Run strips: the
// command cannot fake a setup failure, since anything it prints comes
// after that marker. After the command it writes a record of how the
// processes run as the sandbox user ended (Result.Exits), behind the
// run's nonce, which Run takes out of stderr.
//
// Stdout and stderr are kept up to Limits.OutputBytes each: the first and
// the last halves, with a marker line in place of the dropped middle
// (package internal/capture).
//
// Images must provide /bin/sh, GNU tar and cp, and run as any user: the
// sandbox always runs as sandbox.User. Images are never pulled: BuildBase,
// BuildModules and BuildWarm build them, and Images picks the one a bank
// grades in.
// For a cluster, Engine.Push sends an image to a registry and returns it
// by digest, and Engine.Export saves it to a file that nodes without a
// registry load.
//
// Example:
//
//	d, err := docker.New(ctx, log)
//	if err != nil {
//		return err // wraps ErrEngine when the engine is down
//	}
//	defer d.Close()
//	if _, err := d.GC(ctx); err != nil {
//		log.WithError(err).Warn("gc")
//	}
//	res, err := d.Run(ctx, sandbox.Spec{
//		Image:     "cmcgrader-sandbox:go1.26.8",
//		Cmd:       []string{"go", "test", "-json", "./..."},
//		Workspace: tarStream,
//		Limits:    sandbox.Limits{Timeout: 10 * time.Minute},
//	})
//	if err != nil {
//		return err // the grader failed: not gradable, retry
//	}
//	// res.ExitCode, res.Stdout, res.TimedOut, res.OOMKilled: the candidate's outcome
package docker
