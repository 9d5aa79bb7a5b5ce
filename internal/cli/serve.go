//go:build linux

package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"synfin/lab/server"
)

func init() {
	register(&command{name: "serve", summary: "the experiment's server: listen, accept in a loop, print each peer", run: runServe})
}

const serveUsage = `Usage: synfin serve [--addr ADDR] [--backlog N] [--mode MODE] [options]

Listens, accepts connections in a loop and prints each one, like the test
server of the handshake/teardown experiment, then ends each connection the
way --mode says. Stops on Ctrl-C (closing what is still open) or after -c
connections.

Options:
  --addr ADDR        address to listen on (default 127.0.0.1:9988)
  -6                 listen on [::1]:9988
  --backlog N        listen backlog (default 10)
  --mode MODE        what to do with each connection:
                       hold            keep it open, read nothing (default)
                       close           close at once: the server's FIN first
                       echo            write back what arrives, close after
                                       the client's FIN
                       sink            read and discard, close after the
                                       client's FIN
                       send            write --bytes bytes, then close
                       shutdown-write  write --bytes bytes, half-close
                                       (FIN), read until the client's FIN
                       rst             abort: SO_LINGER 0, the kernel sends RST
                       close-unread    wait for data, close without reading
                                       it: the kernel sends RST
  --bytes N          bytes written by send and shutdown-write (default 0)
  --wait DURATION    pause before closing (after accept, or after the
                     client's FIN for echo and sink), e.g. 300ms: longer
                     than the client's delayed ACK, so each FIN gets an
                     ACK of its own
  --close-previous   close the previous connection when the next one is
                     accepted, as the Python server in the seed does
  -c N               stop after N connections have ended

Examples:
  synfin serve                               the seed's server
  synfin serve --mode sink --wait 300ms      a four-segment close per client
  synfin serve --mode rst --addr 127.0.0.1:7000
`

func runServe(env *Env, args []string) error {
	var (
		addr, mode, wait string
		v6, closePrev    bool
		backlog, bytes   int
		limit            int
	)
	fs := newFlags("serve", serveUsage, env.Stdout)
	fs.String(0, "addr", &addr)
	fs.Bool('6', "", &v6)
	fs.Int(0, "backlog", &backlog)
	fs.String(0, "mode", &mode)
	fs.Int(0, "bytes", &bytes)
	fs.String(0, "wait", &wait)
	fs.Bool(0, "close-previous", &closePrev)
	fs.Int('c', "", &limit)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(fs.Args()) > 0 {
		return usagef("unexpected argument %q", fs.Args()[0])
	}
	opts := server.Options{Addr: addr, Backlog: backlog, Bytes: bytes, ClosePrevious: closePrev, Limit: limit}
	if addr == "" && v6 {
		opts.Addr = "[::1]:9988"
	}
	if fs.Seen("backlog") && backlog <= 0 {
		return usagef("--backlog must be positive")
	}
	if bytes < 0 || limit < 0 {
		return usagef("--bytes and -c must not be negative")
	}
	if mode != "" {
		m, err := server.ParseMode(mode)
		if err != nil {
			return usagef("unknown mode %q (hold, close, echo, sink, send, shutdown-write, rst, close-unread)", mode)
		}
		opts.Mode = m
	}
	if wait != "" {
		d, err := time.ParseDuration(wait)
		if err != nil || d < 0 {
			return usagef("--wait takes a duration such as 300ms, not %q", wait)
		}
		opts.Wait = d
	}
	opts.Log = eventPrinter(env.Stdout, func(e server.Event) (time.Time, string) { return e.Time, e.String() })
	srv, err := server.Listen(env.Ctx, opts)
	if err != nil {
		return err
	}
	return srv.Serve(env.Ctx)
}

// eventPrinter prints events one per line with a tcpdump-style time, so
// they can be laid beside a capture. Events come from several goroutines.
func eventPrinter[E any](w io.Writer, f func(E) (time.Time, string)) func(E) {
	var mu sync.Mutex
	return func(e E) {
		t, s := f(e)
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s %s\n", t.Format("15:04:05.000000"), s)
	}
}
