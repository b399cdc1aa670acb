// Package interrupt gives a command two ways to be stopped: the first
// interrupt cancels a context, so that the work in progress stops
// politely and what it finished can be kept (a partial report); the
// second quits at once.
//
//	ctx, stop := interrupt.Context(context.Background(), func(sig os.Signal) {
//		cleanupBriefly()
//		os.Exit(interrupt.ExitStatus(sig))
//	}, os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	rep, err := work(ctx) // on the first signal, context.Cause(ctx) is an *interrupt.Signal
package interrupt
