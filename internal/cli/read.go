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
	fs := newFlags("read", env.Stdout)
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
