//go:build linux

package cli

import (
	"fmt"
	"sync"
	"time"

	"synfin/lab/server"
)

func init() {
	register(&command{name: "serve", summary: "the experiment's server: listen, accept in a loop, print each peer", run: runServe})
}

const serveUsage = `Usage: synfin serve [--addr ADDR] [--backlog N] [--mode MODE] [options]

Listens, accepts connections in a loop and prints each one, as the test
server of the handshake/teardown experiment does, and ends each
connection the way --mode says. Stops on Ctrl-C (closing what is still
open) or after -c connections. Errors go to standard error; when accept
fails for want of file descriptors or memory, it says so and tries again
after a pause (5 ms, doubling up to 1 s).

Options:
  --addr ADDR        address to listen on (default 127.0.0.1:9988)
  -6                 listen on [::1]:9988
  --backlog N        listen backlog (default 10)
  --mode MODE        what to do with each connection:
                       seed            (default) as the seed's server: read
                                       nothing, close it at the next accept
                       hold            read nothing, close it at the end
                       close           close at once: the server's FIN first
                       echo            echo until the client's FIN, close
                       sink            read until the client's FIN, close
                       send            write --bytes bytes, close
                       shutdown-write  write --bytes bytes, FIN, read until
                                       the client's FIN, close
                       rst             abort: SO_LINGER 0, the kernel's RST
                       close-unread    wait for data, close without reading
                                       it: the kernel answers with RST
  --bytes N          bytes written by send and shutdown-write (default 0)
  --wait DURATION    pause before closing (after accept, or after the
                     client's FIN for echo and sink), e.g. 300ms: longer
                     than the client's delayed ACK, so each FIN gets an
                     ACK of its own
  -c N               stop after N connections have ended

Examples:
  synfin serve                               the seed's server
  synfin serve --mode sink --wait 300ms      a four-segment close per client
  synfin serve --mode rst --addr 127.0.0.1:7000
`

func runServe(env *Env, args []string) error {
	var (
		addr, mode            string
		v6                    bool
		backlog, bytes, limit int
		wait                  time.Duration
	)
	fs := newFlags("serve", serveUsage, env.Stdout)
	fs.String(0, "addr", &addr)
	fs.Bool('6', "", &v6)
	fs.Int(0, "backlog", &backlog)
	fs.String(0, "mode", &mode)
	fs.Int(0, "bytes", &bytes)
	fs.Duration(0, "wait", &wait, false)
	fs.Int('c', "", &limit)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(fs.Args()) > 0 {
		return usagef("unexpected argument %q", fs.Args()[0])
	}
	opts := server.Options{Addr: addr, Backlog: backlog, Bytes: bytes, Mode: server.Mode(mode), Wait: wait, Limit: limit}
	if addr == "" && v6 {
		opts.Addr = "[::1]:9988"
	}
	if fs.Seen("backlog") && backlog <= 0 || bytes < 0 || limit < 0 {
		return usagef("--backlog must be positive, --bytes and -c not negative")
	}
	if _, err := server.ParseMode(mode); mode != "" && err != nil {
		return usagef("%v", unprefix(err, "server: "))
	}
	opts.Log = eventPrinter(env, func(e server.Event) (time.Time, string, error) { return e.Time, e.String(), e.Err })
	srv, err := server.Listen(env.Ctx, opts)
	if err != nil {
		return err
	}
	return srv.Serve(env.Ctx)
}

// eventPrinter prints events one per line with a tcpdump-style time, so
// they can be laid beside a capture; those with an error on standard
// error. Events come from several goroutines.
func eventPrinter[E any](env *Env, f func(E) (time.Time, string, error)) func(E) {
	var mu sync.Mutex
	return func(e E) {
		t, s, err := f(e)
		w := env.Stdout
		if err != nil {
			w = env.Stderr
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s %s\n", t.Format("15:04:05.000000"), s)
	}
}
