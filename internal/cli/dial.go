//go:build linux

package cli

import (
	"time"

	"synfin/lab/client"
)

func init() {
	register(&command{name: "dial", summary: "the experiment's client: connect, then send, half-close, close or abort", run: runDial})
}

const dialUsage = `Usage: synfin dial [ADDR] [options]

Connects to ADDR (default 127.0.0.1:9988), like the test client of the
handshake/teardown experiment, and prints what it does. Without options it
connects and closes at once, as the client does by exiting. The options
run in this order: send, shutdown, read, wait, then close (or abort, or
hold).

Options:
  -6                 connect to [::1]:9988 when ADDR is not given
  --lport N          local port to connect from (SO_REUSEADDR is set, so a
                     port whose last connection is in TIME-WAIT can be tried)
  --send N           send N bytes
  --shutdown         half-close: shut down the sending side (FIN), then read
                     until the server closes
  --read             read until the server closes (its FIN)
  --wait DURATION    pause before closing, e.g. 100ms
  --abort            close with SO_LINGER 0: RST instead of FIN
  --hold             keep the connection open until Ctrl-C
  --steps LIST       run these steps instead, e.g.
                     "send 100, wait 50ms, shutdown, read 10, close"
                     (send N, read [N], wait D, shutdown, close, abort, hold)
  -c N, --repeat N   make N connections, one after another
  --syn-retries N    SYN retransmissions before connect gives up (TCP_SYNCNT)
  --timeout DURATION connect timeout (default 10s)

Examples:
  synfin dial                                the seed's client
  synfin dial --send 100 --shutdown          half-close, then read the answer
  synfin dial --lport 40000 -c 2 --wait 10ms two connections from one port
`

func runDial(env *Env, args []string) error {
	var (
		v6, shutdown, read, abort, hold bool
		lport, send, repeat, synRetries int
		wait, stepList, timeout         string
	)
	fs := newFlags("dial", dialUsage, env.Stdout)
	fs.Bool('6', "", &v6)
	fs.Int(0, "lport", &lport)
	fs.Int(0, "send", &send)
	fs.Bool(0, "shutdown", &shutdown)
	fs.Bool(0, "read", &read)
	fs.String(0, "wait", &wait)
	fs.Bool(0, "abort", &abort)
	fs.Bool(0, "hold", &hold)
	fs.String(0, "steps", &stepList)
	fs.Int('c', "repeat", &repeat)
	fs.Int(0, "syn-retries", &synRetries)
	fs.String(0, "timeout", &timeout)
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := client.Options{IPv6: v6, LocalPort: lport, Repeat: repeat, SynRetries: synRetries}
	switch a := fs.Args(); len(a) {
	case 0:
	case 1:
		opts.Addr = a[0]
	default:
		return usagef("one address at most, got %q", a)
	}
	if lport < 0 || lport > 65535 {
		return usagef("--lport must be a port number")
	}
	if send < 0 || repeat < 0 || synRetries < 0 || synRetries > 127 {
		return usagef("--send, -c and --syn-retries take small non-negative numbers")
	}
	if abort && hold {
		return usagef("--abort and --hold exclude each other")
	}
	if timeout != "" {
		d, err := time.ParseDuration(timeout)
		if err != nil || d <= 0 {
			return usagef("--timeout takes a duration such as 3s, not %q", timeout)
		}
		opts.Timeout = d
	}
	if stepList != "" {
		if send > 0 || shutdown || read || wait != "" || abort || hold {
			return usagef("--steps replaces --send, --shutdown, --read, --wait, --abort and --hold")
		}
		st, err := client.ParseSteps(stepList)
		if err != nil {
			return usagef("%v", err)
		}
		opts.Steps = st
	} else {
		if fs.Seen("send") {
			opts.Steps = append(opts.Steps, client.Step{Kind: client.Send, Bytes: send})
		}
		if shutdown {
			opts.Steps = append(opts.Steps, client.Step{Kind: client.Shutdown}, client.Step{Kind: client.Read})
		} else if read {
			opts.Steps = append(opts.Steps, client.Step{Kind: client.Read})
		}
		if wait != "" {
			d, err := time.ParseDuration(wait)
			if err != nil || d < 0 {
				return usagef("--wait takes a duration such as 100ms, not %q", wait)
			}
			opts.Steps = append(opts.Steps, client.Step{Kind: client.Wait, Wait: d})
		}
		switch {
		case abort:
			opts.Steps = append(opts.Steps, client.Step{Kind: client.Abort})
		case hold:
			opts.Steps = append(opts.Steps, client.Step{Kind: client.Hold})
		}
	}
	opts.Log = eventPrinter(env.Stdout, func(e client.Event) (time.Time, string) { return e.Time, e.String() })
	err := client.Run(env.Ctx, opts)
	if err != nil && env.Ctx.Err() != nil {
		return nil // interrupted: not a failure
	}
	return err
}
