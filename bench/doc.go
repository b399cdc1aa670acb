// Package bench measures the grader: per-candidate grading time with a
// cold image, with a warm image (cmcgrader prepare) and at the limit (the
// same hidden tests run on the host with a warm build cache); the
// sandbox's own overhead per run; the time to fetch a fork with the
// upstream cache against the git CLI's shallow clone; and the grader's
// peak RSS. Every figure of a table comes from one run on one machine,
// and the table gives ratios.
//
// It runs on two inputs: the sample bank, and a generated repository with
// Meshery's size and shape (Generate): tens of thousands of files, a
// history of thousands of commits, and Go packages that import
// k8s.io/client-go, so that cold compiles cost what they cost for Meshery.
//
// The cmcgrader-bench command (make bench) drives it:
//
//	inputs := []bench.Input{sampleInput, generatedInput}
//	res, err := bench.Run(ctx, log, bench.Config{Binary: "bin/cmcgrader", Work: dir}, inputs)
//	if err != nil {
//		return err
//	}
//	res.WriteTable(os.Stdout)
package bench
