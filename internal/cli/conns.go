package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"synfin/filter"
	"synfin/input"
	"synfin/internal/snapshot"
	"synfin/render/conn"
	"synfin/tcpstate"
	"synfin/wire"
	"synfin/zeekconn"
)

func init() {
	register(&command{name: "conns", summary: "one line per TCP connection: roles, states, teardown, bytes (Zeek conn.log fields with --json)", run: runConns})
}

const connsUsage = `Usage: synfin conns -r FILE [--json] [--max-conns N] [EXPR]

Follows every TCP connection in a capture and prints one line per
connection: its id, client (the end that sent the first SYN) and server,
the RFC 9293 state each end was left in, the teardown pattern, duration,
payload bytes each way and the anomalies seen.

Options:
  -r FILE          capture to read: pcap, pcapng or tcpdump text ("-": stdin)
  --json           JSON Lines with Zeek conn.log field names (ts, uid,
                   id.orig_h, id.orig_p, id.resp_h, id.resp_p, proto,
                   duration, orig_bytes, resp_bytes, conn_state, history,
                   missed_bytes, orig_pkts, resp_pkts) plus synfin's own
                   (handshake, teardown, final states, anomalies, and
                   completeness: Wireshark's tcp.completeness bits)
  --max-conns N    hold at most N connections at once; the least recently
                   active is reported early (end "evicted"), and how
                   many were is said on standard error
  EXPR             a pcap-filter expression selecting packets

Connections are printed as they finish on the capture's clock (after
TIME-WAIT, 60 s, or 5 min idle), the rest when the capture ends. With a
processor to spare (and no --max-conns), two goroutines share the
connections out; the output is the same.

Examples:
  synfin conns -r trace.pcap
  synfin conns -r trace.pcap --json port 443 | jq -c 'select(.teardown.pattern=="abort-rst")'
  tcpdump -l -n -S port 9988 | synfin conns -r -
`

func runConns(env *Env, args []string) error {
	var (
		file     string
		asJSON   bool
		maxConns int
	)
	fs := newFlags("conns", connsUsage, env.Stdout)
	fs.String('r', "read", &file)
	fs.Bool(0, "json", &asJSON)
	fs.Int(0, "max-conns", &maxConns)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" {
		return usagef("-r FILE is required")
	}
	if maxConns < 0 {
		return usagef("--max-conns must not be negative")
	}
	if expr := strings.Join(fs.Args(), " "); expr != "" {
		if _, err := filter.Compile(expr, wire.LinkEthernet); err != nil {
			return usagef("%v", err)
		}
	}
	out := bufio.NewWriterSize(env.Stdout, 1<<16)
	defer out.Flush()
	live := livePipe(env, file)
	var (
		werr    error
		buf     []byte
		evicted int
	)
	if !asJSON {
		out.WriteString(conn.Header)
	}
	write := func(end tcpstate.End) {
		if end == tcpstate.EndEvicted {
			evicted++
		}
		if werr != nil {
			return
		}
		if _, werr = out.Write(buf); werr == nil && live {
			werr = out.Flush() // reading a live pipe: show it now
		}
	}
	done := func(c *tcpstate.Conn) {
		buf = conn.AppendJSON(buf[:0], c)
		write(c.End)
	}
	row := func(c *tcpstate.Brief) {
		buf = conn.AppendRow(buf[:0], c)
		write(c.End)
	}
	expr := strings.Join(fs.Args(), " ")
	var err error
	// A live pipe gets one tracker, whose clock runs on while the pipe is
	// quiet (see track); its pace is the traffic's, which sharding would
	// not speed up.
	if n := shardsFor(maxConns); n > 1 && !live {
		err = trackSharded(env, file, expr, asJSON, n, &errWriter{w: out, err: &werr})
	} else {
		// The table shows no Zeek field and only a connection's brief:
		// it is spared the work of the rest.
		cfg := tcpstate.Config{MaxConns: maxConns, Brief: row}
		if asJSON {
			cfg = tcpstate.Config{MaxConns: maxConns, Done: done, Zeek: zeekEngines()}
		}
		err = track(env, file, expr, cfg)
	}
	if werr != nil {
		return werr
	}
	if evicted > 0 {
		// Said before any error, which must stay the last line.
		s := "s"
		if evicted == 1 {
			s = ""
		}
		fmt.Fprintf(env.Stderr, "synfin conns: %d connection%s evicted before their end to stay within --max-conns %d (end \"evicted\" in --json)\n",
			evicted, s, maxConns)
	}
	return err
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

// track reads file, filters it with expr and feeds the tracker; the
// tracker is flushed even when the input is damaged, so that everything
// before the damage is reported, then the error.
func track(env *Env, file, expr string, cfg tcpstate.Config) error {
	src, err := input.Open(file, env.Stdin, input.Options{Progress: progressTo(env, true), Warn: warnTo(env)})
	if err != nil {
		return err
	}
	defer src.Close()
	if livePipe(env, file) {
		return trackSource(env, newPipeSource(env.Ctx, src), expr, cfg)
	}
	return trackSource(env, src, expr, cfg)
}

// zeekEngines makes the Zeek engines of one tracker (Config.Zeek), for
// output that shows conn_state and history.
func zeekEngines() func() tcpstate.ZeekEngine {
	zcfg := &zeekconn.Config{LikelyServerPorts: zeekconn.DefaultServerPorts()}
	hc := new(zeekconn.HistoryCache) // the tracker's own: no locks
	return func() tcpstate.ZeekEngine { return &zeekEngine{cfg: zcfg, hc: hc} }
}

// trackSource feeds the frames of src, filtered by expr, to a tracker.
func trackSource(env *Env, src frameSource, expr string, cfg tcpstate.Config) error {
	t := tcpstate.New(cfg)
	if c, ok := src.(clockedSource); ok {
		c.onIdle(t.Tick)
	}
	var (
		fr      wire.Frame
		flt     = newFrameFilter(expr)
		readErr error
	)
	for {
		if err := env.Ctx.Err(); err != nil {
			readErr = err
			break
		}
		if err := src.Next(&fr); err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		if ok, ferr := flt.match(&fr); ferr != nil {
			return ferr
		} else if !ok {
			continue
		}
		t.Frame(&fr)
	}
	t.Flush()
	return readErr
}

// frameSource hands out frames; input.Source is one.
type frameSource interface {
	Next(f *wire.Frame) error
}

// clockedSource is a frameSource whose clock runs while no frame comes
// (a live capture): it calls tick with the time from inside Next, so
// that connections are handed out when due rather than at the next frame.
type clockedSource interface {
	frameSource
	onIdle(tick func(now int64))
}

// frameSlice is a frameSource over frames held in memory.
type frameSlice struct {
	frames []wire.Frame
	i      int
}

func (s *frameSlice) Next(f *wire.Frame) error {
	if s.i >= len(s.frames) {
		return io.EOF
	}
	*f = s.frames[s.i]
	s.i++
	return nil
}

// zeekEngine gives each connection Zeek's conn_state, history and
// missed_bytes, computed by package zeekconn.
type zeekEngine struct {
	cfg *zeekconn.Config
	hc  *zeekconn.HistoryCache // one per tracker
	c   zeekconn.Conn
}

func (z *zeekEngine) Segment(ts int64, first, fromFirst bool, p *wire.Packet) {
	if first {
		z.c.Reset(z.cfg, ts, p)
	}
	z.c.Packet(ts, fromFirst, p)
}

func (z *zeekEngine) AppendState(w *snapshot.Writer, ctx *snapshot.Context) { z.c.AppendState(w, ctx) }

func (z *zeekEngine) LoadState(r *snapshot.Reader, ctx *snapshot.Context) error {
	return z.c.LoadState(z.cfg, r, ctx)
}

func (z *zeekEngine) Fields() tcpstate.ZeekFields {
	var r zeekconn.Record
	if z.hc != nil {
		r = z.c.RecordCached(z.hc)
	} else {
		r = z.c.Record()
	}
	return tcpstate.ZeekFields{Valid: true, ConnState: r.ConnState, History: r.History, MissedBytes: r.MissedBytes,
		Orig: r.Orig, Resp: r.Resp, OrigBytes: r.OrigBytes, RespBytes: r.RespBytes,
		OrigPkts: uint64(r.OrigPkts), RespPkts: uint64(r.RespPkts),
		OrigIPBytes: uint64(r.OrigIPBytes), RespIPBytes: uint64(r.RespIPBytes)}
}
