package cli

import (
	"bufio"
	"fmt"
	"slices"
	"strings"

	"synfin/tcpstate"
)

func init() {
	register(&command{name: "explain", summary: "explain each connection: both ends' states, handshake, teardown, anomalies", run: runExplain})
}

const explainUsage = `Usage: synfin explain -r FILE [--lang en|zh] [--json] [--conn ID] [EXPR]

Follows every TCP connection in a capture and explains it segment by
segment: the RFC 9293 state of both endpoints after each segment, the
handshake arithmetic (ack = peer ISN + 1) and options, the data phase
anomalies, the teardown pattern, who closed first, which end is left in
TIME-WAIT and what the capture did not show.

Options:
  -r FILE       capture to read: pcap, pcapng or tcpdump text ("-": stdin)
  --json        one JSON object per connection per line (keys id, conn_state,
                history, client, server, handshake, teardown, anomalies,
                segments)
  --lang L      language of the text: en or zh
  --conn ID     only connection ID (as numbered by conns and explain)
  EXPR          a pcap-filter expression selecting packets

Examples:
  synfin explain -r capture.txt
  synfin explain -r trace.pcap --json --conn 2
  tcpdump -l -n -S port 9988 | synfin explain -r -
`

func runExplain(env *Env, args []string) error {
	var (
		file, lang string
		asJSON     bool
		connID     int
	)
	fs := newFlags("explain", explainUsage, env.Stdout)
	fs.String('r', "read", &file)
	fs.Bool(0, "json", &asJSON)
	fs.String(0, "lang", &lang)
	fs.Int(0, "conn", &connID)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" {
		return usagef("-r FILE is required")
	}
	switch lang {
	case "", "en", "zh":
	default:
		return usagef("--lang must be en or zh, not %q", lang)
	}
	if fs.Seen("conn") && connID <= 0 {
		return usagef("--conn takes a connection id from 1")
	}
	var conns []*tcpstate.Conn
	done := func(c *tcpstate.Conn) {
		if connID == 0 || c.ID == uint64(connID) {
			conns = append(conns, c.Clone())
		}
	}
	err := track(env, file, strings.Join(fs.Args(), " "), tcpstate.Config{Segments: true, IdleTimeout: -1, Done: done})
	slices.SortFunc(conns, func(a, b *tcpstate.Conn) int { return int(a.ID) - int(b.ID) })
	var werr error
	if asJSON {
		out := bufio.NewWriterSize(env.Stdout, 1<<16)
		var b []byte
		for _, c := range conns {
			b = appendExplainJSON(b[:0], c)
			out.Write(b)
		}
		werr = out.Flush()
	} else {
		werr = ExplainText(env.Stdout, conns, lang, 0)
	}
	if werr != nil && err == nil {
		err = werr
	}
	if err == nil && connID != 0 && len(conns) == 0 {
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

type argJSON map[string]int64

type segmentJSON struct {
	Seg       int                `json:"seg"`
	T         secs               `json:"t"`
	Dir       string             `json:"dir"`
	Flags     string             `json:"flags"`
	Seq       uint32             `json:"seq"`
	Ack       uint32             `json:"ack"`
	RelSeq    uint32             `json:"rel_seq"`
	RelAck    uint32             `json:"rel_ack"`
	Len       int                `json:"len"`
	Win       uint16             `json:"win"`
	WinScaled uint32             `json:"win_scaled"`
	Phase     string             `json:"phase"`
	Note      string             `json:"note"`
	Args      argJSON            `json:"args,omitempty"`
	Anomalies tcpstate.Anomalies `json:"anomalies"`
	Client    string             `json:"client_state"`
	Server    string             `json:"server_state"`
}

type explainJSON struct {
	ID        uint64        `json:"id"`
	UID       string        `json:"uid"`
	ConnState string        `json:"conn_state"`
	History   string        `json:"history"`
	Role      string        `json:"role"`
	End       string        `json:"end"`
	Client    endpointJSON  `json:"client"`
	Server    endpointJSON  `json:"server"`
	Handshake hsJSON        `json:"handshake"`
	Teardown  tdJSON        `json:"teardown"`
	Anomalies []anJSON      `json:"anomalies"`
	Reuse     *reuseJSON    `json:"port_reuse,omitempty"`
	Segments  []segmentJSON `json:"segments"`
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
		Role: c.Role.String(), End: c.End.String(),
		Client: endpointJSONOf(&c.Client), Server: endpointJSONOf(&c.Server),
		Handshake: handshakeJSON(c), Teardown: teardownJSON(c), Anomalies: anomaliesJSON(c),
		Segments: make([]segmentJSON, 0, len(c.Segments)),
	}
	if c.Reuse.Prev != 0 {
		j.Reuse = &reuseJSON{c.Reuse.Prev, secs(c.Reuse.Gap), c.Reuse.Within2MSL}
	}
	for i := range c.Segments {
		s := &c.Segments[i]
		sj := segmentJSON{Seg: s.Index, T: secs(s.Time), Dir: s.Dir.String(), Flags: s.Flags.String(),
			Seq: s.Seq, Ack: s.Ack, RelSeq: s.RelSeq, RelAck: s.RelAck, Len: s.Len,
			Win: s.Window, WinScaled: s.WindowScaled, Phase: s.Phase.String(), Note: string(s.Note),
			Anomalies: s.Anomalies, Client: s.Client.String(), Server: s.Server.String()}
		if len(s.Args) > 0 {
			sj.Args = argJSON{}
			for _, a := range s.Args {
				sj.Args[a.Key] = a.Val
			}
		}
		j.Segments = append(j.Segments, sj)
	}
	return appendJSONLine(b, j)
}

// appendExplainText is the plain fallback text: facts, one per line, in
// the note keys' own words.
func appendExplainText(b []byte, c *tcpstate.Conn) []byte {
	w := func(format string, a ...any) { b = fmt.Appendf(b, format, a...) }
	w("connection %d: client %s, server %s (%s)\n", c.ID, c.Client.AddrPort(), c.Server.AddrPort(), roleText(c.Role))
	h := &c.Handshake
	switch {
	case h.Refused:
		w("  handshake: refused (SYN answered by RST)\n")
	case h.SYN.Seen() || h.SYNACK.Seen():
		w("  handshake: SYN #%d, SYN-ACK #%d, ACK #%d, complete=%v\n", h.SYN.Seg, h.SYNACK.Seg, h.ACK.Seg, h.Complete)
		if h.SYNACK.Seen() && c.Client.HasISN {
			w("    client ISN %d, SYN-ACK ack %d = ISN+1: %v\n", c.Client.ISN, h.SYNACKAck, h.SYNACKAck == c.Client.ISN+1)
		}
		if h.ACK.Seen() && c.Server.HasISN {
			w("    server ISN %d, ACK ack %d = ISN+1: %v\n", c.Server.ISN, h.ACKAck, h.ACKAckOK)
		}
	default:
		w("  handshake: not captured (seen mid-stream)\n")
	}
	td := &c.Teardown
	w("  teardown: %s, initiator %s", td.Pattern, orNone(td.Initiator.String()))
	if m := td.Missing.Names(); len(m) > 0 {
		w(", not captured: %s", strings.Join(m, " "))
	}
	w("\n")
	for _, f := range []struct {
		who string
		fin *tcpstate.FIN
	}{{"client", &td.ClientFIN}, {"server", &td.ServerFIN}} {
		if f.fin.Seen() {
			w("    %s FIN #%d seq %d, acked #%d (ack = seq+1: %v)\n", f.who, f.fin.Seg, f.fin.Seq, f.fin.Ack.Seg, f.fin.AckOK)
		}
	}
	if tw := td.TimeWait; tw.Side != tcpstate.SideNone {
		w("    TIME-WAIT held by %s for %s s until %s\n", tw.Side, formatSecs(int64(tw.Duration), 0), formatSecs(tw.Until(), 6))
	}
	for _, e := range []struct {
		who string
		ep  *tcpstate.Endpoint
	}{{"client", &c.Client}, {"server", &c.Server}} {
		w("  %s: %s", e.who, e.ep.Initial)
		for _, t := range e.ep.Transitions {
			w(" -> %s (#%d)", t.To, t.Seg)
		}
		w(", left in %s\n", e.ep.State)
	}
	for _, s := range c.Segments {
		w("  #%-5d %s %-3s %-4s seq %d ack %d len %d %-9s %-18s client %s, server %s",
			s.Index, formatSecs(s.Time, 6), s.Dir, s.Flags, s.Seq, s.Ack, s.Len, s.Phase, s.Note, s.Client, s.Server)
		if s.Anomalies != 0 {
			for _, a := range s.Anomalies.List() {
				w(" [%s]", a)
			}
		}
		w("\n")
	}
	return b
}

func roleText(r tcpstate.Role) string {
	switch r {
	case tcpstate.RoleSYNACK:
		return "first seen at the SYN-ACK"
	case tcpstate.RolePort:
		return "seen mid-stream; server guessed from the ports"
	}
	return "client sent the SYN"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
