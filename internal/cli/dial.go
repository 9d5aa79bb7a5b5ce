//go:build linux

package cli

import (
	"time"

	"synfin/lab/client"
)

func runDial(env *Env, args []string) error {
	var (
		v6, shutdown, read, abort, hold bool
		lport, send, repeat, synRetries int
		stepList                        string
		wait, timeout                   time.Duration
	)
	fs := newFlags("dial", env.Stdout)
	fs.Bool('6', "", &v6)
	fs.Int(0, "lport", &lport)
	fs.Int(0, "send", &send)
	fs.Bool(0, "shutdown", &shutdown)
	fs.Bool(0, "read", &read)
	fs.Duration(0, "wait", &wait, false)
	fs.Bool(0, "abort", &abort)
	fs.Bool(0, "hold", &hold)
	fs.String(0, "steps", &stepList)
	fs.Int('c', "repeat", &repeat)
	fs.Int(0, "syn-retries", &synRetries)
	fs.Duration(0, "timeout", &timeout, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := client.Options{IPv6: v6, LocalPort: lport, Repeat: repeat, SynRetries: synRetries, Timeout: timeout}
	switch a := fs.Args(); len(a) {
	case 0:
	case 1:
		opts.Addr = a[0]
	default:
		return usagef("one address at most, got %q", a)
	}
	if lport < 0 || lport > 65535 || send < 0 || repeat < 0 || synRetries < 0 || synRetries > 127 {
		return usagef("--lport takes a port number; --send, -c and --syn-retries small numbers, not negative")
	}
	if abort && hold {
		return usagef("--abort and --hold exclude each other")
	}
	opts.Steps = client.Plan{Send: send, Sends: fs.Seen("send"), Shutdown: shutdown, Read: read, Wait: wait, Abort: abort, Hold: hold}.Steps()
	if stepList != "" {
		if len(opts.Steps) > 0 {
			return usagef("--steps replaces --send, --shutdown, --read, --wait, --abort and --hold")
		}
		st, err := client.ParseSteps(stepList)
		if err != nil {
			return usagef("%v", err)
		}
		opts.Steps = st
	}
	opts.Log = eventPrinter(env, func(e client.Event) (time.Time, string, error) { return e.Time, e.String(), e.Err })
	err := client.Run(env.Ctx, opts)
	if err != nil && env.Ctx.Err() != nil {
		return nil // interrupted: not a failure
	}
	return err
}
