package cli

import (
	"bufio"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"synfin/capture"
	"synfin/input"
	"synfin/internal/names"
	"synfin/pipeline"
	"synfin/render/annotate"
	"synfin/render/tcpdump"
	"synfin/tcpstate/track"
	"synfin/wire"
)

func init() {
	register(&command{name: "read", summary: "print TCP segments exactly as tcpdump 4.99.3 does", run: runRead})
}

const readUsage = `Usage: synfin read -r FILE... [-w OUT] [--conn ID]... [options] [EXPR]

Print every TCP segment of a capture (pcap, pcapng or tcpdump text; "-"
for standard input) byte for byte as tcpdump 4.99.3 prints it with the
same flags. Other packets are skipped and counted on standard error.

Options:
  -r FILE     capture to read ("-" for standard input); repeat it, or name
              a directory (its pcap and pcapng files) or a quoted glob, to
              read many as one, merged by time stamp as mergecap merges
              them; packets in two of them (same time, same bytes) are
              kept, as mergecap keeps them, and counted on standard error
  -w OUT      write the packets selected to OUT instead of printing them:
              pcapng if OUT ends in .pcapng, else pcap ("-": standard
              output), with their link types, time stamps and lengths
  --conn ID   only the packets of connection ID as conns numbers it (with
              the same EXPR); repeat it for more
  -n          print addresses and ports as numbers, not names
  -S          absolute TCP sequence numbers
  -t          no time stamp; -tt seconds since 1970; -ttt delta since the
              previous packet; -tttt date and time; -ttttt delta since the
              first packet (local time zone: set TZ, e.g. TZ=GMT0)
  --nano      nanosecond time stamps
  -v, -vv     IP header details, TCP checksums
  -e          link-level header
  -q          quiet: "tcp N" instead of the TCP details
  -#          packet numbers (counting every packet of the input)
  -c N        stop after N packets (counted as tcpdump counts them: every
              packet the filter passes, TCP or not)
  -x, -xx     hex dump without / with the link header
  -X, -XX     hex and ASCII dump without / with the link header
  -A, -AA     ASCII dump without / with the link header
  -T TYPE, -b accepted for tcpdump compatibility (they only change what
              tcpdump prints after "length N", which synfin does not decode)
  --jobs N    print on N goroutines side by side (default: the number of
              processors Go may use, GOMAXPROCS) when each line depends
              on its packet alone: with -S, no -ttt or -ttttt, no -c and
              no --annotate; the output is the same for every N
  --annotate  after each line, the step of the handshake or teardown the
              segment is, the states it moved each end to and anomalies:
              "[handshake 1/3: client SYN; client SYN-SENT, server
              SYN-RECEIVED]" (the events explain uses)
  --max-conns N
              with --annotate: follow at most N open connections at once,
              8N with closed ones held for 2MSL (default 32768; 0: no
              bound); when full, the least recently active one is let
              go (a later segment of it is annotated as a new
              connection's), and how many were is said on standard error
  EXPR        a pcap-filter expression selecting packets

Without -n, addresses are named from /etc/hosts, then DNS (at most 0.5 s
a question; none once three have timed out), as tcpdump names them.
Application data after "length N" (HTTP, SSH, DNS ...) is not decoded.

Examples:
  synfin read -r trace.pcap -n -S
  synfin read -r trace.pcap -# -n -tttt -v
  synfin read -r trace.pcap -nn -X -c 10
  synfin read -r capture.txt -S --annotate
  synfin read -r trace.pcap -n -S --jobs 1
  synfin read -r 'rotated/trace*.pcap' -n -w whole.pcapng
  synfin read -r a.pcap -r b.pcap --conn 2 --conn 5 -w two.pcap
  synfin read -r trace.pcap -w - port 9988 | tcpdump -n -r -
  tcpdump -w - -i lo port 9988 | synfin read -r - -n
`

type readOpts struct {
	files, conns     []string
	write            string
	n, S, e, q, hash bool
	t, v, x, X, A    int
	nano, annotate   bool
	count, maxConns  int
	jobs             int
	ptype            string
	asdot            bool
}

func runRead(env *Env, args []string) (err error) {
	o := readOpts{jobs: runtime.GOMAXPROCS(0)}
	fs := newFlags("read", readUsage, env.Stdout)
	fs.Strings('r', "", &o.files)
	fs.String('w', "", &o.write)
	fs.Strings(0, "conn", &o.conns)
	fs.Bool('n', "", &o.n)
	fs.Bool('S', "", &o.S)
	fs.Count('t', "", &o.t)
	fs.Bool(0, "nano", &o.nano)
	fs.Count('v', "", &o.v)
	fs.Bool('e', "", &o.e)
	fs.Bool('q', "", &o.q)
	fs.Bool('#', "", &o.hash)
	fs.Int('c', "", &o.count)
	fs.Count('x', "", &o.x)
	fs.Count('X', "", &o.X)
	fs.Count('A', "", &o.A)
	fs.String('T', "", &o.ptype)
	fs.Bool('b', "", &o.asdot)
	fs.Bool(0, "annotate", &o.annotate)
	fs.Int(0, "jobs", &o.jobs)
	maxConnsFlag(fs, &o.maxConns, track.DefaultMaxConns)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ids []uint64
	for _, s := range o.conns {
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil || id == 0 {
			return usagef("--conn takes a connection id from 1, not %q", s)
		}
		ids = append(ids, id)
	}
	pick := track.NewPicker(ids)
	if fs.Seen("c") && o.count <= 0 {
		return usagef("-c takes a positive count")
	}
	if o.jobs < 1 {
		return usagef("--jobs must be at least 1")
	}
	popt := tcpdump.Options{
		Numeric:  o.n,
		Hosts:    names.System(),
		Absolute: o.S,
		Time:     min(o.t, tcpdump.TimeDeltaFirst), // -tttttt is -ttttt
		Nano:     o.nano,
		Verbose:  o.v,
		Link:     o.e,
		Quiet:    o.q,
		Number:   o.hash,
	}
	switch {
	case o.X > 0:
		popt.Dump, popt.DumpLink = tcpdump.DumpHexA, o.X > 1
	case o.x > 0:
		popt.Dump, popt.DumpLink = tcpdump.DumpHex, o.x > 1
	case o.A > 0:
		popt.Dump, popt.DumpLink = tcpdump.DumpASCII, o.A > 1
	}

	flt := input.NewFilter(strings.Join(fs.Args(), " "))
	src, err := openInput(env, o.files, true)
	if err != nil {
		return err
	}
	defer src.Close()
	var w *capture.Writer
	if o.write != "" {
		if w, err = capture.CreateLike(o.write, env.Stdout, src); err != nil {
			return unprefix(err, "capture: ")
		}
		defer func() {
			if cerr := w.Close(); err == nil {
				err = unprefix(cerr, "capture: ")
			}
		}()
	}
	out := bufio.NewWriterSize(env.Stdout, 1<<16)
	var (
		werr    error
		skipped int
	)
	// Several printers side by side when each line depends on its packet
	// alone: absolute sequence numbers, no time deltas, nothing counting
	// printed lines (-c) or following connections (--annotate). From a
	// live pipe (tcpdump -l | synfin read -r - --annotate) each line is
	// shown as it comes, in order, by one.
	live := input.Live(o.files, env.Stdin)
	parallel := popt.Stateless() && o.count == 0 && !o.annotate && o.jobs > 1 && !live && w == nil && pick == nil
	if parallel {
		skipped, err = pipeline.Print(env.Ctx, src, flt, o.jobs, func() pipeline.PrintFunc {
			return annotate.New(tcpdump.New(popt), annotate.Options{}).Append
		}, &errWriter{w: out, err: &werr})
	} else {
		pr := tcpdump.New(popt)
		fp := annotate.New(pr, annotate.Options{Steps: o.annotate, MaxConns: o.maxConns})
		defer func() {
			sayEvicted(env, "read", fp.Evicted(), o.maxConns, "a later segment of one is annotated as a new connection's")
		}()
		var (
			buf  = make([]byte, 0, 4096)
			seen int // frames past the filter: what tcpdump's -c counts
			told bool
		)
		err = input.Each(env.Ctx, src, flt, func(f *wire.Frame) error {
			if pick != nil && !pick.Pick(f) {
				return nil
			}
			seen++
			var skip bool
			if w != nil {
				werr = unprefix(w.Write(f), "capture: ")
			} else if buf, skip = fp.Append(buf[:0], f); skip {
				skipped++
			} else if _, werr = out.Write(buf); werr == nil && live {
				werr = out.Flush()
			}
			if !told && pr.Forgotten() > 0 {
				told = true
				fmt.Fprintf(env.Stderr, "synfin read: more than %d conversations at once: the oldest are forgotten, and print absolute sequence numbers if seen again (tcpdump prints relative ones)\n", tcpdump.SeqTableSize)
			}
			if werr != nil {
				return werr
			}
			if o.count > 0 && seen >= o.count {
				return input.ErrStop
			}
			return nil
		}, nil)
	}
	// A filter that does not compile for a link type met on the way
	// stops the read at once: the printers have printed what came
	// before it, one printer has not.
	var fe *input.FilterError
	filterErr := errors.As(err, &fe)
	if filterErr && !parallel {
		return err
	}
	if werr == nil {
		werr = out.Flush()
	}
	if werr != nil {
		return fmt.Errorf("read: %w", werr)
	}
	if filterErr {
		return err
	}
	if skipped > 0 {
		fmt.Fprintf(env.Stderr, "synfin read: skipped %s\n", plural(skipped, "non-TCP packet"))
	}
	if id := pick.Missing(); err == nil && id != 0 {
		err = fmt.Errorf("no connection %d in %s", id, inputsName(o.files))
	}
	return err
}
