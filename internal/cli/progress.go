package cli

import (
	"os"

	"synfin/internal/progress"
)

// progressTo says how to draw a progress bar for a file read on env's
// standard error, or returns nil when none should be drawn: standard
// error is not a terminal (piped or redirected), the environment says
// no (NO_PROGRESS, TERM=dumb), or, when the command streams its results
// while it reads, standard output is a terminal too, where the bar
// would tear through the results.
func progressTo(env *Env, streams bool) *progress.Config {
	if !progress.Allowed(os.Getenv) || !progress.IsTerminal(env.Stderr) {
		return nil
	}
	if streams && progress.IsTerminal(env.Stdout) {
		return nil
	}
	return &progress.Config{W: env.Stderr, Delay: env.progressDelay}
}
