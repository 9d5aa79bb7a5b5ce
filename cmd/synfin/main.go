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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
