//go:build linux

package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"strings"
	"time"

	"synfin/capture"
	"synfin/input"
	"synfin/internal/names"
	"synfin/internal/outfile"
	"synfin/render/annotate"
	"synfin/render/conn"
	"synfin/render/explain"
	"synfin/render/ladder"
	"synfin/render/tcpdump"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

type captureOpts struct {
	iface, file, user  string
	hold, dur          time.Duration
	count, snaplen     int
	noPromisc, pcapng  bool
	print, annotate    bool
	explain, json      bool
	lang               string
	width, maxConns    int
	n, S, e, q, hash   bool
	lineBuf, packetBuf bool
	t, v               int
}

func runCapture(env *Env, args []string) error {
	return unprefix(captureRun(env, args), "capture: ")
}

func captureRun(env *Env, args []string) error {
	var o captureOpts
	fs := newFlags("capture", env.Stdout)
	fs.String('i', "interface", &o.iface)
	fs.String('w', "", &o.file)
	fs.Int('c', "", &o.count)
	fs.Duration(0, "for", &o.dur, true)
	fs.Int('s', "snapshot-length", &o.snaplen)
	fs.Bool('p', "no-promiscuous-mode", &o.noPromisc)
	fs.String('Z', "relinquish-privileges", &o.user)
	fs.Bool(0, "pcapng", &o.pcapng)
	fs.Bool(0, "print", &o.print)
	fs.Bool(0, "annotate", &o.annotate)
	fs.Bool(0, "explain", &o.explain)
	fs.String(0, "lang", &o.lang)
	fs.Bool(0, "json", &o.json)
	fs.Int(0, "width", &o.width)
	fs.Duration(0, "hold", &o.hold, true)
	maxConnsFlag(fs, &o.maxConns, track.DefaultMaxConns)
	fs.Bool('n', "", &o.n)
	fs.Bool('S', "", &o.S)
	fs.Count('t', "", &o.t)
	fs.Count('v', "", &o.v)
	fs.Bool('e', "", &o.e)
	fs.Bool('q', "", &o.q)
	fs.Bool('#', "", &o.hash)
	fs.Bool('l', "", &o.lineBuf)
	fs.Bool('U', "packet-buffered", &o.packetBuf)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.Seen("c") && o.count <= 0 {
		return usagef("-c takes a positive count")
	}
	if fs.Seen("s") && (o.snaplen < 0 || o.snaplen > capture.DefaultSnaplen) {
		return usagef("-s takes a snapshot length from 0 to %d", capture.DefaultSnaplen)
	}
	if o.explain && (o.print || o.annotate) {
		return usagef("--explain prints explanations instead of lines; it does not go with --print or --annotate")
	}
	if !o.explain && (fs.Seen("lang") || fs.Seen("json") || fs.Seen("width") || fs.Seen("hold")) {
		return usagef("--lang, --json, --width and --hold go with --explain")
	}
	if explain.CheckLang(o.lang) != nil {
		return usagef("--lang must be en or zh, not %q", o.lang)
	}
	if fs.Seen("width") && o.width < 40 {
		return usagef("--width must be at least 40")
	}
	printing := !o.explain && (o.file == "" || o.print || o.annotate)
	if (printing || o.explain) && o.file == "-" {
		return usagef("-w - writes the capture to standard output; it cannot print there too")
	}
	ctx := env.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if o.dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.dur)
		defer cancel()
	}
	expr := strings.Join(fs.Args(), " ")
	// Refuse a device, FIFO or directory before touching the network, so
	// the mistake is reported as such, with or without privileges. The
	// file itself is created after -Z, as tcpdump does.
	if o.file != "" && o.file != "-" {
		if st, err := os.Stat(o.file); err == nil && !st.Mode().IsRegular() {
			return &iofs.PathError{Op: "write", Path: o.file, Err: outfile.ErrNotRegular}
		}
	}
	// Lines are for people and pipes watching: flush them when the wire
	// goes idle, and at least every 100 ms of capture time while it is busy.
	var (
		out       *bufio.Writer
		lastFlush int64
	)
	flush := func() error {
		if out == nil || out.Buffered() == 0 {
			return nil
		}
		return out.Flush()
	}
	h, err := capture.Open(capture.Options{
		Interface: o.iface, Snaplen: o.snaplen, NoPromisc: o.noPromisc, Filter: expr,
		Idle: func() {
			flush() // a failed write is reported by the next Write
		},
	})
	if err != nil {
		return err
	}
	defer h.Close()
	if o.user != "" {
		if err := capture.DropPrivileges(o.user); err != nil {
			return err
		}
	}
	if err := capture.DropCapabilities(); err != nil {
		return err
	}

	var (
		w  *capture.Writer
		fp *annotate.Printer
	)
	if o.file != "" {
		w, err = capture.Create(o.file, env.Stdout, capture.WriterOptions{
			Link: h.LinkType(), Snaplen: h.Snaplen(), Interface: h.Interface(), Filter: expr,
			PcapNG:         o.pcapng || strings.HasSuffix(o.file, ".pcapng"),
			PacketBuffered: o.packetBuf,
		})
		if err != nil {
			return err
		}
	}
	if printing {
		pr := tcpdump.New(tcpdump.Options{Numeric: o.n, Hosts: names.System(), Absolute: o.S,
			Time: min(o.t, tcpdump.TimeDeltaFirst), Verbose: o.v, Link: o.e, Quiet: o.q, Number: o.hash})
		fp = annotate.New(pr, annotate.Options{Steps: o.annotate, MaxConns: o.maxConns})
		out = bufio.NewWriterSize(env.Stdout, 1<<16)
	}
	if o.explain {
		out = bufio.NewWriterSize(env.Stdout, 1<<16)
	}
	fmt.Fprintf(env.Stderr, "synfin capture: listening on %s, link-type %s, snapshot length %d bytes\n",
		h.Interface(), tcpdump.LinkTypeName(h.LinkType()), h.Snaplen())

	var (
		loopE error
		src   = capture.NewSource(ctx, h, w, o.count)
	)
	if o.explain {
		loopE = explainLive(env, ctx, src, out, o)
	} else {
		buf := make([]byte, 0, 4096)
		loopE = input.Each(ctx, src, nil, func(f *wire.Frame) error {
			if fp == nil {
				return nil
			}
			var skip bool
			if buf, skip = fp.Append(buf[:0], f); skip {
				return nil
			}
			if _, err := out.Write(buf); err != nil {
				return fmt.Errorf("capture: %w", err)
			}
			if o.lineBuf || f.Time-lastFlush > int64(100*time.Millisecond) {
				lastFlush = f.Time
				if err := flush(); err != nil {
					return fmt.Errorf("capture: %w", err)
				}
			}
			return nil
		}, nil)
		if errors.Is(loopE, context.Canceled) || errors.Is(loopE, context.DeadlineExceeded) {
			loopE = nil // -c, --for or a signal: the capture's end
		}
	}
	// Flush on every way out, then the summary, as tcpdump prints it.
	var ferr error
	if w != nil {
		// On a write error the file is cut back to its last whole record;
		// say how much of the capture it holds.
		if err := w.Close(); err != nil {
			ferr = fmt.Errorf("%w; %d of the %d packets captured were written", err, w.Written(), src.Count())
		}
	}
	if err := flush(); err != nil && loopE == nil {
		loopE = fmt.Errorf("capture: %w", err)
	}
	if fp != nil {
		sayEvicted(env, "capture", fp.Evicted(), o.maxConns, "a later segment of one is annotated as a new connection's")
	}
	st, serr := h.Stats()
	h.Close()
	fmt.Fprintf(env.Stderr, "%s captured\n", plural(int(st.Captured), "packet"))
	if serr == nil {
		fmt.Fprintf(env.Stderr, "%s received by filter\n", plural(int(st.Received), "packet"))
		fmt.Fprintf(env.Stderr, "%s dropped by kernel\n", plural(int(st.Dropped), "packet"))
	}
	return errors.Join(ferr, loopE)
}

// explainLive explains each connection when the tracker hands it out
// (over, idle, or still open when the capture ends), as explain does
// with a file, and writes it out at once.
func explainLive(env *Env, ctx context.Context, src *capture.Source, out *bufio.Writer, o captureOpts) error {
	var (
		werr    error
		jb      []byte
		evicted int
	)
	done := func(c *tcpstate.Conn) {
		if c.End == tcpstate.EndEvicted {
			evicted++
		}
		if werr != nil {
			return
		}
		if o.json {
			jb = conn.AppendExplainJSON(jb[:0], c)
			_, werr = out.Write(jb)
		} else {
			werr = ladder.WriteExplained(out, []*tcpstate.Conn{c}, ladder.Options{Lang: o.lang, Width: o.width})
		}
		if werr == nil {
			werr = out.Flush()
		}
	}
	tenv := *env
	tenv.Ctx = ctx
	err := trackSource(&tenv, src, "", track.Config{Segments: true, MaxOpen: o.maxConns, MaxConns: o.maxConns * track.HeldPerOpen, MaxWarm: track.DefaultMaxWarm, Hold: o.hold, Done: done, Observer: zeekObservers(false)})
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	sayEvicted(env, "capture", evicted, o.maxConns, "explained as evicted")
	if werr != nil {
		return fmt.Errorf("capture: %w", werr)
	}
	return err
}
