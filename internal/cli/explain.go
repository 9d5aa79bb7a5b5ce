package cli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"synfin/filter"
	"synfin/input"
	"synfin/internal/outfile"
	"synfin/render/explain"
	"synfin/render/html"
	"synfin/render/ladder"
	"synfin/tcpstate"
	"synfin/wire"
)

func init() {
	register(&command{name: "explain", summary: "explain each connection: both ends' states, handshake, teardown, anomalies", run: runExplain})
}

const explainUsage = `Usage: synfin explain -r FILE [--lang en|zh] [--json] [--conn ID]
                      [--html FILE] [--width N] [--ascii] [--hold DUR] [EXPR]

Follows every TCP connection in a capture and explains it segment by
segment, in English or Chinese: who is client and server; a verdict (the
handshake and its arithmetic, ack = peer ISN + 1; the teardown pattern,
who closed first and which halves of the close were captured; the state
each end is left in; anomalies); a timeline of the segments with relative
and absolute seq/ack, the phase, both ends' state changes and a note on
what each segment does and why; a ladder diagram; what the capture did
not show; and a summary.

Options:
  -r FILE       capture to read: pcap, pcapng or tcpdump text ("-": stdin)
  --lang L      language of the text and the report: en (default) or zh
  --json        one JSON object per connection per line instead of text
                (keys id, conn_state, history, completeness, client,
                server, handshake, teardown, anomalies, segments)
  --conn ID     only connection ID (as numbered by conns and explain)
  --html FILE   also write an offline HTML report of the connections:
                list, ladders, segment tables, explanations in en and zh
  --width N     wrap the text at N columns (default 80, at least 40)
  --ascii       draw the ladders with plain ASCII, not box-drawing characters
  --hold DUR    explain a closed connection DUR after its last segment
                rather than 2MSL (e.g. 2s); a retransmitted FIN or a new
                connection on its ports after that is explained on its own
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
  synfin explain -r trace.pcap --json --conn 2 | jq .teardown
  synfin explain -r trace.pcap --html report.html port 443
  tcpdump -l -n -S port 9988 | synfin explain -r - --hold 2s
`

func runExplain(env *Env, args []string) error {
	var (
		file, lang, htmlOut string
		asJSON, plain       bool
		connID, width       int
	)
	fs := newFlags("explain", explainUsage, env.Stdout)
	fs.String('r', "read", &file)
	fs.Bool(0, "json", &asJSON)
	fs.String(0, "lang", &lang)
	fs.Int(0, "conn", &connID)
	fs.String(0, "html", &htmlOut)
	fs.Int(0, "width", &width)
	fs.Bool(0, "ascii", &plain)
	var holdArg string
	fs.String(0, "hold", &holdArg)
	if err := fs.Parse(args); err != nil {
		return err
	}
	hold, err := holdFlag(fs, holdArg)
	if err != nil {
		return err
	}
	if file == "" {
		return usagef("-r FILE is required")
	}
	expr, err := checkViewFlags(fs, lang, connID, width)
	if err != nil {
		return err
	}
	// The report file is opened first, so that a bad path fails before a
	// long read.
	var report *os.File
	if htmlOut != "" {
		var err error
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
	lo := ladder.Options{Lang: lang, Width: width, ASCII: plain}
	eo := explainOptions(lo)
	live := input.Live(file, env.Stdin)
	var (
		werr    error
		buf     []byte
		kept    []*tcpstate.Conn
		printed int
	)
	done := func(c *tcpstate.Conn) {
		if connID != 0 && c.ID != uint64(connID) {
			return
		}
		printed++
		if report != nil {
			kept = append(kept, c.Clone())
		}
		if werr != nil {
			return
		}
		if asJSON {
			buf = appendExplainJSON(buf[:0], c)
			_, werr = out.Write(buf)
		} else {
			werr = explain.Write(out, c, eo)
		}
		if live && werr == nil {
			werr = out.Flush() // reading a live pipe: show it now
		}
	}
	cfg := viewConfig(done)
	cfg.Hold = hold
	err = track(env, file, expr, cfg)
	if werr == nil {
		werr = out.Flush()
	}
	if werr == nil && report != nil {
		bw := bufio.NewWriterSize(report, 1<<16)
		werr = html.Write(bw, kept, html.Options{Title: filepath.Base(file), Lang: lang})
		if werr == nil {
			werr = bw.Flush()
		}
		if cerr := report.Close(); werr == nil {
			werr = cerr
		}
	}
	if werr != nil && err == nil {
		err = werr
	}
	if err == nil && connID != 0 && printed == 0 {
		return fmt.Errorf("no connection %d in %s", connID, file)
	}
	return err
}

type transitionJSON struct {
	T    secs   `json:"t"`
	Seg  int    `json:"seg"`
	From string `json:"from"`
	To   string `json:"to"`
}

type endpointJSON struct {
	Addr        string           `json:"addr"`
	Port        uint16           `json:"port"`
	ISN         *uint32          `json:"isn"`
	Initial     string           `json:"initial"`
	Final       string           `json:"final"`
	Transitions []transitionJSON `json:"transitions"`
	Bytes       uint64           `json:"bytes"`
	Pkts        uint64           `json:"pkts"`
	Options     *optJSON         `json:"options,omitempty"`
}

type explainJSON struct {
	ID        uint64 `json:"id"`
	UID       string `json:"uid"`
	ConnState string `json:"conn_state"`
	History   string `json:"history"`
	// Completeness is Wireshark's tcp.completeness bits.
	Completeness uint8        `json:"completeness"`
	Role         string       `json:"role"`
	End          string       `json:"end"`
	Client       endpointJSON `json:"client"`
	Server       endpointJSON `json:"server"`
	Handshake    hsJSON       `json:"handshake"`
	Teardown     tdJSON       `json:"teardown"`
	Anomalies    []anJSON     `json:"anomalies"`
	Reuse        *reuseJSON   `json:"port_reuse,omitempty"`
	// The segments, the bulk of it, follow: appendExplainJSON writes them
	// with appendSegmentsJSON, as encoding/json would write a last field
	// "segments" of the tests' []segmentJSON, several times faster.
}

func endpointJSONOf(e *tcpstate.Endpoint) endpointJSON {
	j := endpointJSON{Addr: e.Addr.String(), Port: e.Port, ISN: isnPtr(e),
		Initial: e.Initial.String(), Final: e.State.String(),
		Transitions: []transitionJSON{}, Bytes: e.Bytes, Pkts: e.Pkts, Options: optsJSON(e)}
	for _, t := range e.Transitions {
		j.Transitions = append(j.Transitions, transitionJSON{secs(t.Time), t.Seg, t.From.String(), t.To.String()})
	}
	return j
}

func appendExplainJSON(b []byte, c *tcpstate.Conn) []byte {
	j := explainJSON{
		ID: c.ID, UID: c.UID(), ConnState: c.Zeek.ConnState, History: c.Zeek.History,
		Completeness: c.Completeness(),
		Role:         c.Role.String(), End: c.End.String(),
		Client: endpointJSONOf(&c.Client), Server: endpointJSONOf(&c.Server),
		Handshake: handshakeJSON(c), Teardown: teardownJSON(c), Anomalies: anomaliesJSON(c),
	}
	if c.Reuse.Prev != 0 {
		j.Reuse = &reuseJSON{c.Reuse.Prev, secs(c.Reuse.Gap), c.Reuse.Within2MSL}
	}
	b = appendJSONLine(b, j)
	b = append(b[:len(b)-2], `,"segments":`...) // in place of the line's "}\n"
	b = appendSegmentsJSON(b, c.Segments)
	return append(b, "}\n"...)
}

// appendSegmentsJSON appends segs as a JSON array, as encoding/json writes
// the tests' segmentJSONOf of each: the same keys in the same order,
// arguments by name (the last of a name kept), anomalies by name.
func appendSegmentsJSON(b []byte, segs []tcpstate.Segment) []byte {
	b = append(b, '[')
	for i := range segs {
		s := &segs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = appendIntField(b, `{"seg":`, int64(s.Index))
		b = appendSecsField(b, `,"t":`, s.Time)
		b = appendStringField(b, `,"dir":`, s.Dir.String())
		b = appendStringField(b, `,"flags":`, s.Flags.String())
		b = appendUintField(b, `,"seq":`, uint64(s.Seq))
		b = appendUintField(b, `,"ack":`, uint64(s.Ack))
		b = appendUintField(b, `,"rel_seq":`, uint64(s.RelSeq))
		b = appendUintField(b, `,"rel_ack":`, uint64(s.RelAck))
		b = appendIntField(b, `,"len":`, int64(s.Len))
		b = appendUintField(b, `,"win":`, uint64(s.Window))
		b = appendUintField(b, `,"win_scaled":`, uint64(s.WindowScaled))
		b = appendStringField(b, `,"phase":`, s.Phase.String())
		b = appendStringField(b, `,"note":`, string(s.Note))
		if len(s.Args) > 0 {
			b = appendArgsJSON(append(b, `,"args":`...), s.Args)
		}
		b = append(b, `,"anomalies":[`...)
		for k, a := range s.Anomalies.List() {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, a.String())
		}
		b = append(b, ']')
		b = appendStringField(b, `,"client_state":`, s.Client.String())
		b = appendStringField(b, `,"server_state":`, s.Server.String())
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendArgsJSON appends args as encoding/json writes them as a map: keys
// sorted, each once, with the last value given for it.
func appendArgsJSON(b []byte, args []tcpstate.Arg) []byte {
	keys := make([]string, 0, len(args))
	for _, a := range args {
		if !slices.Contains(keys, a.Key) {
			keys = append(keys, a.Key)
		}
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		var v int64
		for _, a := range args {
			if a.Key == k {
				v = a.Val
			}
		}
		b = appendIntField(append(appendJSONString(b, k), ':'), "", v)
	}
	return append(b, '}')
}

// checkViewFlags checks the flags explain and diagram share and returns
// the filter expression, compiled once here so that a bad one is a usage
// error before any reading.
func checkViewFlags(fs *flagSet, lang string, connID, width int) (string, error) {
	if explain.CheckLang(lang) != nil {
		return "", usagef("--lang must be en or zh, not %q", lang)
	}
	if fs.Seen("conn") && connID <= 0 {
		return "", usagef("--conn takes a connection id from 1")
	}
	if fs.Seen("width") && width < 40 {
		return "", usagef("--width must be at least 40")
	}
	expr := strings.Join(fs.Args(), " ")
	if expr != "" {
		if _, err := filter.Compile(expr, wire.LinkEthernet); err != nil {
			return "", usagef("%v", err)
		}
	}
	return expr, nil
}
