// Package sandbox is the contract between the grader and the backends
// that run untrusted commands: what a run is (Spec, Limits), what came of
// it (Result, Exit), the image a bank grades in (ImageRequest, Image),
// and the interfaces a backend implements (Runner, Images). It imports no
// backend: package sandbox/docker implements it with Docker, and another
// backend (Kubernetes Jobs) can implement it without Docker types.
//
// Every backend honours the same conventions inside the sandbox: the
// image's supervisor (SupervisorPath) runs the command, candidate code
// runs as User, the workspace is unpacked into Workdir, Spec.Private goes
// to PrivateDir, a driver command starts candidate code through
// ExecHelper, and a run that could not be prepared exits with
// SetupExitCode and is reported as an error wrapping ErrSetup.
//
// A candidate's failing command, a timeout or an OOM kill is data in the
// Result; an error from Run means the backend could not do its job. An
// error wrapping ErrBackendDown means the backend itself stopped
// answering: every later run would fail the same way.
//
// Example:
//
//	func grade(ctx context.Context, r sandbox.Runner, img sandbox.Image, ws io.Reader) error {
//		res, err := r.Run(ctx, sandbox.Spec{
//			Image:     img.ID,
//			Cmd:       []string{"go", "test", "-json", "./..."},
//			Workspace: ws,
//			Limits:    sandbox.Limits{Timeout: 10 * time.Minute},
//		})
//		if err != nil {
//			return err // the grader failed: not gradable, retry
//		}
//		// res.ExitCode, res.Stdout, res.TimedOut, res.OOMKilled: the candidate's outcome
//		return nil
//	}
package sandbox
