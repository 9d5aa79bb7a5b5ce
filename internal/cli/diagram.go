package cli

import (
	"bufio"
	"fmt"

	"synfin/input"
	"synfin/internal/outfile"
	"synfin/render/html"
	"synfin/render/ladder"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
)

func init() {
	register(&command{name: "diagram", summary: "draw each connection as a ladder diagram (text, SVG, Mermaid or an HTML report)", run: runDiagram})
}

const diagramUsage = `Usage: synfin diagram -r FILE... [--format ascii|svg|mermaid|html] [-o FILE]
                      [--conn ID] [--ascii] [--width N] [--lang en|zh] [--full]
                      [--max-conns N] [EXPR]

Draws every TCP connection of a capture as a ladder diagram: the client's
and server's lifelines shaded by each end's RFC 9293 state and labelled
where it changes, one arrow per segment (flags, relative seq:end(len),
ack), the handshake, data and teardown phases bracketed, anomalies marked
on their arrows, and long gaps (retransmission timeouts, TIME-WAIT) drawn
as breaks. A connection of more than 200 segments has its data phase drawn
as one summary (segments, bytes and retransmissions by direction,
duration) in ascii, svg and mermaid, unless --full.

Options:
  -r FILE          capture to read: pcap, pcapng or tcpdump text ("-": stdin);
                   repeat it, or name a directory or a glob: read as one
  --format F       ascii (default): text for the terminal
                   svg: one self-contained SVG, connections one below another
                   mermaid: Mermaid sequenceDiagram source, for Markdown
                   html: an offline report with every connection, filters,
                   ladders, segment tables and explanations (en/zh)
  -o FILE          write to FILE instead of standard output ("-"); a
                   regular file, replaced only when the run succeeds
                   (anything else is refused)
  --conn ID        only connection ID (as numbered by conns and explain)
  --ascii          plain ASCII instead of box-drawing characters
  --width N        text width for ascii (default 80)
  --lang L         language of the words drawn: en or zh
  --full           every segment, also of connections of more than 200
  --max-conns N    hold at most N open connections at once, 8N with
                   closed ones held for 2MSL (default 32768; 0: no bound);
                   when full, the least recently active one is drawn
                   early, as far as it went, and how many were is said
                   on standard error; svg, mermaid and html draw the
                   first 5000 connections (or N if fewer; with 0, all)
  EXPR             a pcap-filter expression selecting packets

ascii draws each connection once it is over, in the order conns lists
them, so memory follows the connections held; svg, mermaid and html keep
them (in the order they began, up to 5000) for their one document:
on a large capture, pick connections with --conn or EXPR.

Examples:
  synfin diagram -r capture.txt
  synfin diagram -r trace.pcap --conn 3 --format svg -o conn3.svg
  synfin diagram -r trace.pcap --format mermaid --conn 1 >> notes.md
  synfin diagram -r trace.pcap --format html -o report.html
`

func runDiagram(env *Env, args []string) error {
	var (
		files                   []string
		format, out, lang       string
		plain, full             bool
		connID, width, maxConns int
	)
	fs := newFlags("diagram", diagramUsage, env.Stdout)
	fs.Strings('r', "read", &files)
	fs.String(0, "format", &format)
	fs.String('o', "output", &out)
	fs.Int(0, "conn", &connID)
	fs.Bool(0, "ascii", &plain)
	fs.Int(0, "width", &width)
	fs.String(0, "lang", &lang)
	fs.Bool(0, "full", &full)
	maxConnsFlag(fs, &maxConns, track.DefaultMaxConns)
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch format {
	case "":
		format = "ascii"
	case "ascii", "svg", "mermaid", "html":
	default:
		return usagef("--format must be ascii, svg, mermaid or html, not %q", format)
	}
	expr, err := checkViewFlags(fs, lang, connID, width, maxConns)
	if err != nil {
		return err
	}
	// The output is opened first, so that a bad path fails before a long
	// read; it takes the place of FILE only if the run succeeds.
	w := env.Stdout
	var f *outfile.File
	if out != "" && out != outfile.Stdout {
		var err error
		if f, err = outfile.Create(out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	lo := ladder.Options{Width: width, ASCII: plain, Lang: lang, Full: full}
	live := input.Live(files, env.Stdin)
	// Text is drawn as each connection is handed out, so that memory
	// follows the connections held, as in explain; the other formats are
	// one document of them all: they are kept.
	kept := track.Kept{Max: track.ReportMax(maxConns)}
	found, evicted := 0, 0
	readErr := trackFile(env, files, expr, viewConfig(func(c *tcpstate.Conn) {
		if c.End == tcpstate.EndEvicted {
			evicted++
		}
		if connID != 0 && c.ID != uint64(connID) {
			return
		}
		found++
		if format != "ascii" {
			kept.Add(c)
		} else if err == nil {
			if err = ladder.WriteText(bw, c, lo); err == nil && live {
				err = bw.Flush() // reading a live pipe: show it now
			}
		}
	}, maxConns))
	sayEvicted(env, "diagram", evicted, maxConns, "drawn as far as they went")
	if readErr == nil && connID != 0 && found == 0 {
		return fmt.Errorf("no connection %d in %s", connID, inputsName(files))
	}
	if conns := kept.Conns(); format != "ascii" && err == nil {
		sayLeftOut(env, "diagram", &kept)
		switch format {
		case "svg":
			err = ladder.WriteSVG(bw, conns, lo)
		case "mermaid":
			err = ladder.WriteMermaid(bw, conns, lo)
		default:
			err = html.Write(bw, conns, html.Options{Title: inputsName(files), Lang: lang})
		}
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err == nil {
		err = readErr
	}
	if err == nil && f != nil {
		err = f.Commit()
	}
	return err
}

// viewConfig is the tracker's configuration for explain and diagram:
// segments kept and Zeek's fields, at most maxConns connections held.
// Connections idle for the idle timeout are let go as conns lets them go,
// so that both number connections alike and memory stays flat however
// long the capture.
func viewConfig(done func(*tcpstate.Conn), maxConns int) track.Config {
	return track.Config{Segments: true, Done: done, Observer: zeekObservers(false), MaxOpen: maxConns, MaxConns: maxConns * track.HeldPerOpen, MaxWarm: track.DefaultMaxWarm}
}
