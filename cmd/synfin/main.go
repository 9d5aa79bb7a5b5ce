// Command synfin makes TCP connection lifecycles visible: it reads or
// captures segments, follows every connection through its handshake, data
// and teardown, and explains and draws what it sees.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"synfin/internal/cli"
)

func main() {
	// The first SIGINT or SIGTERM ends the command: it flushes what is
	// complete, says it was interrupted and exits 128 + the signal's
	// number, as a shell reports a process the signal killed. A second
	// one kills it outright.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		signal.Stop(sigs)
		cancel(&cli.Interrupted{Signal: s})
	}()
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	cancel(nil)
	os.Exit(code)
}
