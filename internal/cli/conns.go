package cli

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"

	"synfin/input"
	"synfin/pipeline"
	"synfin/render/conn"
	"synfin/render/explain"
	"synfin/summary"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
	"synfin/zeekconn"
)

func runConns(env *Env, args []string) (rerr error) {
	var (
		files    []string
		asJSON   bool
		sortBy   string
		withSum  bool
		maxConns int
		jobs     = runtime.GOMAXPROCS(0)
	)
	fs := newFlags("conns", env.Stdout)
	fs.Strings('r', "read", &files)
	fs.Bool(0, "json", &asJSON)
	fs.Bool(0, "summary", &withSum)
	maxConnsFlag(fs, &maxConns, 0)
	fs.Int(0, "jobs", &jobs)
	fs.String(0, "sort", &sortBy)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if jobs < 1 {
		return usagef("--jobs must be at least 1")
	}
	if sortBy != "" && sortBy != "start" && sortBy != "finish" {
		return usagef("--sort must be start or finish, not %q", sortBy)
	}
	expr, err := exprArg(fs)
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(env.Stdout, 1<<16)
	// The last flush's error is the command's, as every write's is.
	defer func() {
		if ferr := out.Flush(); ferr != nil && rerr == nil {
			rerr = ferr
		}
	}()
	live := input.Live(files, env.Stdin)
	var (
		werr    error
		buf     []byte
		evicted int
	)
	// The table's header waits until the input is known to be a capture.
	src, err := openInput(env, files, true)
	if err != nil {
		return err
	}
	defer src.Close()
	if !asJSON {
		out.WriteString(conn.Header)
	}
	// One tracker evicts by its own recency, which trackers sharing the
	// connections out would not agree on; a live pipe's pace is the
	// traffic's, which more trackers would not speed up, and its one
	// tracker's clock runs on while the pipe is quiet (see trackOpened).
	if maxConns > 0 || live || sortBy == "start" || withSum {
		jobs = 1
	}
	if jobs > 1 {
		// Nearly everything on the Go heap here lives as long as the run
		// (frame batches, event chunks, the trackers' pools) and almost
		// nothing is garbage, so the collector's default goal of twice the
		// live heap only ever shows as resident memory: 14 MB of it at 10×
		// the reference workload. Half the live heap in garbage costs a few
		// more collections of a small heap.
		defer debug.SetGCPercent(debug.SetGCPercent(50))
		opt := pipeline.Conns{Jobs: jobs, Config: func() track.Config { return track.Config{} },
			Brief: conn.AppendRowRest, Number: numberRow}
		if asJSON {
			opt.Config = func() track.Config { return track.Config{Observer: zeekObservers(true)} }
			opt.Brief, opt.Conn, opt.Number = nil, conn.AppendJSON, conn.RenumberJSON
		}
		err = pipeline.TrackConns(env.Ctx, src, input.NewFilter(expr), opt, &errWriter{w: out, err: &werr})
		if werr != nil {
			return werr
		}
		return err
	}
	order := conn.NewOrder(out, sortBy == "start")
	write := func(id uint64, end tcpstate.End) {
		if end == tcpstate.EndEvicted {
			evicted++
		}
		if werr != nil {
			return
		}
		if werr = order.Write(id, buf); werr == nil && live {
			werr = out.Flush() // reading a live pipe: show it now
		}
	}
	// The table shows no Zeek field and only a connection's brief: it is
	// spared the work of the rest.
	cfg := track.Config{MaxConns: maxConns, Brief: func(c *tcpstate.Brief) {
		buf = conn.AppendRow(buf[:0], c)
		write(c.ID, c.End)
	}}
	if asJSON {
		cfg = track.Config{MaxConns: maxConns, Observer: zeekObservers(true), Done: func(c *tcpstate.Conn) {
			buf = conn.AppendJSON(buf[:0], c)
			write(c.ID, c.End)
		}}
	}
	sum := summary.New()
	if withSum {
		done := cfg.Done
		cfg.Done = func(c *tcpstate.Conn) {
			if sum.Add(c); done != nil {
				done(c)
			}
		}
	}
	err = trackOpened(env, src, live, expr, cfg)
	if werr == nil {
		werr = order.Flush()
	}
	if withSum && werr == nil {
		if !asJSON {
			out.WriteString("\n")
		}
		werr = writeSummary(out, sum, asJSON, explain.English)
	}
	if werr != nil {
		return werr
	}
	sayEvicted(env, "conns", evicted, maxConns, `end "evicted" in --json`)
	return err
}

// maxConnsFlag registers --max-conns, a bound that is not negative, def
// when not given.
func maxConnsFlag(fs *flagSet, v *int, def int) {
	*v = def
	fs.Int(0, "max-conns", v)
	fs.checks = append(fs.checks, func() error {
		if *v < 0 {
			return usagef("--max-conns must not be negative")
		}
		return nil
	})
}

// sayEvicted says on standard error, in one line, how many connections
// cmd let go before their end to stay within --max-conns, and how they
// show in its output. It is said before any error, which must stay the
// last line.
func sayEvicted[N int | uint64](env *Env, cmd string, n N, maxConns int, how string) {
	if n != 0 {
		fmt.Fprintf(env.Stderr, "synfin %s: %s evicted before their end to stay within --max-conns %d (%s)\n",
			cmd, plural(int(n), "connection"), maxConns, how)
	}
}

// plural writes n and a noun, adding an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// sayLeftOut says on standard error how many connections a document of
// them all left out (see track.ReportMax).
func sayLeftOut(env *Env, cmd string, k *track.Kept) {
	if n := k.Left(); n > 0 {
		fmt.Fprintf(env.Stderr, "synfin %s: the report holds the first %d connections; %d more were left out to bound memory (pick them with --conn or EXPR)\n",
			cmd, k.Max, n)
	}
}

// numberRow puts a table row's ID before the rest of it, which the
// trackers wrote (conn.AppendRowRest).
func numberRow(dst, line []byte, id, _, _, _ uint64) []byte {
	return append(conn.AppendRowID(dst, id), line...)
}

// errWriter keeps the first error of w in err and writes nothing after.
type errWriter struct {
	w   io.Writer
	err *error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if *e.err != nil {
		return 0, *e.err
	}
	n, err := e.w.Write(b)
	*e.err = err
	return n, err
}

// openInput opens the captures -r names as one, merged by time, with a
// progress bar on a terminal (streams: the command writes its results
// as it reads).
func openInput(env *Env, files []string, streams bool) (input.Source, error) {
	if len(files) == 0 {
		return nil, usagef("-r FILE is required")
	}
	opt := input.Options{Warn: warnTo(env), Ctx: env.Ctx}
	if bar := progressTo(env, streams); bar != nil {
		opt.Progress = bar.Start
	}
	return input.OpenAll(files, env.Stdin, opt)
}

// inputsName names the inputs in a message: the one, or the first and
// how many more.
func inputsName(files []string) string {
	if len(files) == 1 {
		return files[0]
	}
	return fmt.Sprintf("%s and %d more", files[0], len(files)-1)
}

// trackFile reads files, filters them with expr and feeds one tracker; the
// tracker is flushed even when the input is damaged, so that everything
// before the damage is reported, then the error.
func trackFile(env *Env, files []string, streams bool, expr string, cfg track.Config) error {
	src, err := openInput(env, files, streams)
	if err != nil {
		return err
	}
	defer src.Close()
	return trackOpened(env, src, input.Live(files, env.Stdin), expr, cfg)
}

// trackOpened is trackFile with src open; live: src is a live pipe.
func trackOpened(env *Env, src input.Source, live bool, expr string, cfg track.Config) error {
	if live {
		return trackSource(env, input.NewPipe(env.Ctx, src), expr, cfg)
	}
	return trackSource(env, src, expr, cfg)
}

// zeekObservers makes the observers of one tracker (Config.Observer) that
// give conn.log's fields: Zeek's with its default scripts and -C, its
// rows split by its timers (conns --json) or one for a connection.
func zeekObservers(split bool) func() tcpstate.Observer {
	return zeekconn.Observer(&zeekconn.Config{LikelyServerPorts: zeekconn.DefaultServerPorts(), SplitRows: split})
}

// trackSource feeds the frames of src, filtered by expr, to one tracker.
func trackSource(env *Env, src input.Frames, expr string, cfg track.Config) error {
	t := track.New(cfg)
	if c, ok := src.(input.Clocked); ok {
		c.OnIdle(t.Tick)
	}
	return input.Each(env.Ctx, src, input.NewFilter(expr), func(f *wire.Frame) error {
		t.Frame(f)
		return nil
	}, t.Flush)
}

// writeSummary writes what sum has collected, as text or JSON.
func writeSummary(w io.Writer, sum *summary.Collector, asJSON bool, lang string) error {
	if asJSON {
		return summary.WriteJSON(w, sum.Summary(), lang)
	}
	return summary.WriteText(w, sum.Summary(), lang)
}
