package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"synfin/input"
	"synfin/internal/version"
)

// Env is what a subcommand runs with.
type Env struct {
	Ctx    context.Context
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// progressDelay is how long a read runs before its progress bar
	// shows (0: the package default; negative: at once).
	progressDelay time.Duration
}

// command is one subcommand.
type command struct {
	summary string
	run     func(env *Env, args []string) error
}

// commands are synfin's commands by name. Those that work the network
// itself are Linux's; elsewhere they say so (linuxonly_other.go).
var commands = map[string]*command{
	"capture": {"capture live traffic (AF_PACKET) with tcpdump's filter language", runCapture},
	"compare": {"compare two captures of the same traffic: what was lost or changed between them", runCompare},
	"conns":   {"one line per TCP connection: roles, states, teardown, bytes (Zeek conn.log fields with --json)", runConns},
	"diagram": {"draw each connection as a ladder diagram (text, SVG, Mermaid, an HTML report) or its time-sequence graph", runDiagram},
	"dial":    {"the experiment's client: connect, then send, half-close, close or abort", runDial},
	"explain": {"explain each connection: both ends' states, handshake, teardown, anomalies", runExplain},
	"gen":     {"write a synthetic capture of a busy server (the benchmark workload)", runGen},
	"lab":     {"run the handshake/teardown experiment and compare with the kernel's view", runLab},
	"read":    {"print TCP segments exactly as tcpdump 4.99.3 does", runRead},
	"serve":   {"the experiment's server: listen, accept in a loop, print each peer", runServe},
	"summary": {"what a capture's connections add up to: counts, percentiles, top hosts, findings", runSummary},
	"watch":   {"the live view of a host's TCP sockets: states, ages, queues, findings", runWatch},
}

// errUsage marks an error in how the command was called (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// errHelp is returned by a flag parser that printed help.
var errHelp = errors.New("help")

// exitError carries a chosen exit status with a message already printed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs synfin with args (without the program name) and returns the
// exit status.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(&Env{Ctx: ctx, Stdin: stdin, Stdout: stdout, Stderr: stderr}, args)
}

// runEnv is Main with its environment made.
func runEnv(env *Env, args []string) int {
	stdout, stderr := env.Stdout, env.Stderr
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage())
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return finish(env, args[1], c.run(env, []string{"--help"}))
			}
		}
		fmt.Fprint(stdout, topUsage())
		return 0
	case "--version", "version":
		fmt.Fprintln(stdout, version.Read())
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "synfin: unknown command %q (run 'synfin --help' for the list)\n", name)
		return 2
	}
	return finish(env, name, c.run(env, args[1:]))
}

// Interrupted is the cause of the context a command runs with when a
// signal (SIGINT, SIGTERM) ends it: the command flushes what is complete
// and exits as a shell reports a process killed by the signal.
type Interrupted struct{ Signal os.Signal }

func (e *Interrupted) Error() string { return "interrupted" }

// Code is the exit status: 128 + the signal's number (130 for SIGINT,
// 143 for SIGTERM).
func (e *Interrupted) Code() int {
	if s, ok := e.Signal.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}

// interrupted returns the signal that ended env's context, if one did.
func interrupted(env *Env) *Interrupted {
	if env.Ctx == nil {
		return nil
	}
	var ie *Interrupted
	if errors.As(context.Cause(env.Ctx), &ie) {
		return ie
	}
	return nil
}

// signalEndsNormally names the commands for which a signal is the way to
// stop that they expect (tcpdump exits 0 when interrupted).
var signalEndsNormally = map[string]bool{"capture": true, "watch": true}

func finish(env *Env, name string, err error) int {
	if ie := interrupted(env); ie != nil && !errors.Is(err, errHelp) && (err != nil || !signalEndsNormally[name]) {
		var ee *exitError
		if !errors.As(err, &ee) { // else the command said so itself
			fmt.Fprintf(env.Stderr, "synfin %s: interrupted\n", name)
		}
		return ie.Code()
	}
	var ue *usageError
	var ee *exitError
	var fe *input.FilterError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "synfin %s: %s (see 'synfin %s --help')\n", name, ue.msg, name)
		return 2
	case errors.As(err, &fe):
		// The expression does not compile for a link type of the input.
		fmt.Fprintf(env.Stderr, "synfin %s: %s (see 'synfin %s --help')\n", name, fe.Err, name)
		return 2
	default:
		fmt.Fprintf(env.Stderr, "synfin %s: %s\n", name, oneLine(err.Error()))
		return 1
	}
}

// warnTo prints warnings that do not stop a command, one line each.
func warnTo(env *Env) func(string) {
	return func(msg string) { fmt.Fprintf(env.Stderr, "synfin: %s\n", oneLine(msg)) }
}

// oneLine keeps an error to one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// commandNames are the commands' names in order.
func commandNames() []string { return slices.Sorted(maps.Keys(commands)) }

func topUsage() string {
	var b strings.Builder
	b.WriteString(usage("top-head"))
	for _, n := range commandNames() {
		fmt.Fprintf(&b, "  %-11s %s\n", n, commands[n].summary)
	}
	b.WriteString(usage("top-tail"))
	return b.String()
}

// unprefix drops the prefix a package starts its errors with ("capture: "),
// which would otherwise follow the command's own ("synfin capture: ").
func unprefix(err error, prefix string) error {
	if err == nil {
		return nil
	}
	return unprefixed{err, prefix}
}

type unprefixed struct {
	error
	prefix string
}

func (e unprefixed) Error() string { return strings.TrimPrefix(e.error.Error(), e.prefix) }
func (e unprefixed) Unwrap() error { return e.error }
