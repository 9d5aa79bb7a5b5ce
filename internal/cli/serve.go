//go:build linux

package cli

import (
	"fmt"
	"sync"
	"time"

	"synfin/lab/server"
)

func runServe(env *Env, args []string) error {
	var (
		addr, mode            string
		v6                    bool
		backlog, bytes, limit int
		wait                  time.Duration
	)
	fs := newFlags("serve", env.Stdout)
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
