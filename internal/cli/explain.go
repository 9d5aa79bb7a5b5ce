package cli

import (
	"bufio"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"synfin/filter"
	"synfin/input"
	"synfin/internal/outfile"
	"synfin/render/conn"
	"synfin/render/explain"
	"synfin/render/html"
	"synfin/render/ladder"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

func init() {
	register(&command{name: "explain", summary: "explain each connection: both ends' states, handshake, teardown, anomalies", run: runExplain})
}

const explainUsage = `Usage: synfin explain -r FILE... [--lang en|zh] [--json] [--conn ID]
                      [--html FILE] [--width N] [--ascii] [--full] [--hold DUR]
                      [--max-conns N] [EXPR]

Follows every TCP connection in a capture and explains it segment by
segment, in English or Chinese: who is client and server; a verdict (the
handshake and its arithmetic, ack = peer ISN + 1; the teardown pattern,
who closed first and which halves of the close were captured; the state
each end is left in; anomalies); a timeline of the segments with relative
and absolute seq/ack, the phase, both ends' state changes and a note on
what each segment does and why; a ladder diagram; what the capture did
not show; and a summary. A connection of more than 200 segments has its
data phase summed up in one entry of each (segments, bytes and
retransmissions by direction, duration); --full lists every segment.

Options:
  -r FILE       capture to read: pcap, pcapng or tcpdump text ("-": stdin);
                repeat it, or name a directory or a glob: read as one
  --lang L      language of the text and the report: en (default) or zh
  --json        one JSON object per connection per line instead of text
                (keys id, conn_state, history, completeness, client,
                server, handshake, teardown, anomalies, segments)
  --conn ID     only connection ID (as numbered by conns and explain)
  --html FILE   also write an offline HTML report of the connections:
                list, ladders, segment tables, explanations in en and zh
  --width N     wrap the text at N columns (default 80, at least 40)
  --ascii       draw the ladders with plain ASCII, not box-drawing characters
  --full        every segment, also of connections of more than 200
  --hold DUR    explain a closed connection DUR after its last segment
                rather than 2MSL (e.g. 2s); a retransmitted FIN or a new
                connection on its ports after that is explained on its own
  --max-conns N hold at most N open connections at once, 8N with closed
                ones held for 2MSL (default 32768; 0: no bound); when
                full, the least recently active one is explained early,
                as evicted, and how many were is said on standard error;
                the --html report holds the first 5000 connections (or N
                if fewer; with 0, all)
  EXPR          a pcap-filter expression selecting packets

Connections are explained in the order conns lists them: each once it is
over on the capture's clock (2MSL after its close, or 5 minutes without a
segment), then, when the input ends, those still held in the order they
began. Memory follows the connections held, not the capture. Read from a
pipe (tcpdump -l), the capture's clock runs on while the pipe is quiet,
so a closed connection is explained 2MSL after its close, or --hold
after it, whether more traffic comes or not.

Examples:
  synfin explain -r capture.txt
  synfin explain -r capture.txt --lang zh --conn 1
  synfin explain -r long.pcap --full --conn 1
  synfin explain -r 'ring/*.pcap' --conn 7
  synfin explain -r trace.pcap --json --conn 2 | jq .teardown
  synfin explain -r trace.pcap --html report.html port 443
  tcpdump -i lo -l -n -S port 9988 | synfin explain -r - --hold 2s
`

func runExplain(env *Env, args []string) error {
	var (
		files               []string
		lang, htmlOut       string
		asJSON, plain, full bool
		connID, width       int
		maxConns            int
	)
	fs := newFlags("explain", explainUsage, env.Stdout)
	fs.Strings('r', "read", &files)
	fs.Bool(0, "json", &asJSON)
	fs.String(0, "lang", &lang)
	fs.Int(0, "conn", &connID)
	fs.String(0, "html", &htmlOut)
	fs.Int(0, "width", &width)
	fs.Bool(0, "ascii", &plain)
	fs.Bool(0, "full", &full)
	var hold time.Duration
	fs.Duration(0, "hold", &hold, true)
	maxConnsFlag(fs, &maxConns, track.DefaultMaxConns)
	if err := fs.Parse(args); err != nil {
		return err
	}
	expr, err := checkViewFlags(fs, lang, connID, width, maxConns)
	if err != nil {
		return err
	}
	// The report file is opened first, so that a bad path fails before a
	// long read.
	if htmlOut == outfile.Stdout {
		return usagef("--html - would mix the report with the explanations on standard output; name a file")
	}
	var report *outfile.File
	if htmlOut != "" {
		if report, err = outfile.Create(htmlOut); err != nil {
			return err
		}
		defer report.Close()
	}
	// Each connection is printed as the tracker hands it out, so that
	// memory follows the connections held rather than the capture (in
	// the order they began, one that never closes would hold back all
	// that follow it). The report needs them all.
	out := bufio.NewWriterSize(env.Stdout, 1<<16)
	eo := ladder.ExplainOptions(ladder.Options{Lang: lang, Width: width, ASCII: plain, Full: full})
	live := input.Live(files, env.Stdin)
	var (
		werr    error
		buf     []byte
		kept    = track.Kept{Max: track.ReportMax(maxConns)}
		printed int
		evicted int
	)
	done := func(c *tcpstate.Conn) {
		if c.End == tcpstate.EndEvicted {
			evicted++
		}
		if connID != 0 && c.ID != uint64(connID) {
			return
		}
		printed++
		if report != nil {
			kept.Add(c)
		}
		if werr != nil {
			return
		}
		if asJSON {
			buf = conn.AppendExplainJSON(buf[:0], c)
			_, werr = out.Write(buf)
		} else {
			werr = explain.Write(out, c, eo)
		}
		if live && werr == nil {
			werr = out.Flush() // reading a live pipe: show it now
		}
	}
	cfg := viewConfig(done, maxConns)
	cfg.Hold = hold
	err = trackFile(env, files, expr, cfg)
	if werr == nil {
		werr = out.Flush()
	}
	sayEvicted(env, "explain", evicted, maxConns, "explained as evicted")
	if err == nil && connID != 0 && printed == 0 {
		err = fmt.Errorf("no connection %d in %s", connID, inputsName(files))
	}
	if werr == nil && err == nil && report != nil {
		bw := bufio.NewWriterSize(report, 1<<16)
		werr = html.Write(bw, kept.Conns(), html.Options{Title: filepath.Base(inputsName(files)), Lang: lang})
		sayLeftOut(env, "explain", &kept)
		if werr == nil {
			werr = bw.Flush()
		}
		if werr == nil {
			werr = report.Commit() // in place of the file only on success
		}
	}
	if werr != nil && err == nil {
		err = werr
	}
	return err
}

// checkViewFlags checks the flags explain and diagram share and returns
// the filter expression.
func checkViewFlags(fs *flagSet, lang string, connID, width, maxConns int) (string, error) {
	if explain.CheckLang(lang) != nil {
		return "", usagef("--lang must be en or zh, not %q", lang)
	}
	if fs.Seen("conn") && connID <= 0 {
		return "", usagef("--conn takes a connection id from 1")
	}
	if fs.Seen("width") && width < 40 {
		return "", usagef("--width must be at least 40")
	}
	return exprArg(fs)
}

// exprArg returns the filter expression, compiled once here so that a
// bad one is a usage error before any reading.
func exprArg(fs *flagSet) (string, error) {
	expr := strings.Join(fs.Args(), " ")
	if expr != "" {
		if _, err := filter.Compile(expr, wire.LinkEthernet); err != nil {
			return "", usagef("%v", err)
		}
	}
	return expr, nil
}
