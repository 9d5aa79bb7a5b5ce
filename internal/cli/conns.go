package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"synfin/filter"
	"synfin/input"
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
                   (handshake, teardown, final states, anomalies)
  --max-conns N    hold at most N connections at once; the least recently
                   active is reported early (end "evicted")
  EXPR             a pcap-filter expression selecting packets

Connections are printed as they finish on the capture's clock (after
TIME-WAIT, 60 s, or 5 min idle), the rest when the capture ends.

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
	var (
		werr error
		buf  []byte
	)
	if !asJSON {
		fmt.Fprintf(out, "%-4s %-39s %-39s %-25s %-18s %12s %21s %s\n",
			"id", "client", "server", "states (client/server)", "teardown", "duration", "bytes c>s/s>c", "anomalies")
	}
	done := func(c *tcpstate.Conn) {
		if werr != nil {
			return
		}
		if asJSON {
			buf = appendConnJSON(buf[:0], c)
		} else {
			buf = appendConnRow(buf[:0], c)
		}
		_, werr = out.Write(buf)
	}
	err := track(env, file, strings.Join(fs.Args(), " "), tcpstate.Config{MaxConns: maxConns, Done: done})
	if werr != nil {
		return werr
	}
	return err
}

// track reads file, filters it with expr and feeds the tracker; the
// tracker is flushed even when the input is damaged, so that everything
// before the damage is reported, then the error.
func track(env *Env, file, expr string, cfg tcpstate.Config) error {
	src, err := input.Open(file, env.Stdin, input.Options{Progress: progressTo(env, true)})
	if err != nil {
		return err
	}
	defer src.Close()
	return trackSource(env, src, expr, cfg)
}

// trackSource feeds the frames of src, filtered by expr, to a tracker.
func trackSource(env *Env, src frameSource, expr string, cfg tcpstate.Config) error {
	if cfg.Zeek == nil {
		zcfg := &zeekconn.Config{LikelyServerPorts: zeekconn.DefaultServerPorts()}
		cfg.Zeek = func() tcpstate.ZeekEngine { return &zeekEngine{cfg: zcfg} }
	}
	t := tcpstate.New(cfg)
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
	c   zeekconn.Conn
}

func (z *zeekEngine) Segment(ts int64, first, fromFirst bool, p *wire.Packet) {
	if first {
		z.c.Reset(z.cfg, ts, p)
	}
	z.c.Packet(ts, fromFirst, p)
}

func (z *zeekEngine) AppendState(b []byte) []byte { return z.c.AppendState(b) }

func (z *zeekEngine) LoadState(b []byte) ([]byte, error) { return z.c.LoadState(z.cfg, b) }

func (z *zeekEngine) Fields() tcpstate.ZeekFields {
	r := z.c.Record()
	return tcpstate.ZeekFields{Valid: true, ConnState: r.ConnState, History: r.History, MissedBytes: r.MissedBytes,
		Orig: r.Orig, Resp: r.Resp, OrigBytes: r.OrigBytes, RespBytes: r.RespBytes,
		OrigPkts: uint64(r.OrigPkts), RespPkts: uint64(r.RespPkts),
		OrigIPBytes: uint64(r.OrigIPBytes), RespIPBytes: uint64(r.RespIPBytes)}
}

// appendConnRow formats one connection as a table row.
func appendConnRow(b []byte, c *tcpstate.Conn) []byte {
	b = fmt.Appendf(b, "%-4d %-39s %-39s %-25s %-18s %12s %21s ",
		c.ID, c.Client.AddrPort(), c.Server.AddrPort(),
		c.Client.State.String()+"/"+c.Server.State.String(),
		c.Teardown.Pattern, formatSecs(int64(c.Duration()), 6),
		strconv.FormatUint(c.Client.Bytes, 10)+"/"+strconv.FormatUint(c.Server.Bytes, 10))
	list := c.Anomalies.List()
	if len(list) == 0 {
		b = append(b, '-')
	}
	for i, a := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, a.Anomaly.String()...)
		if a.Count > 1 {
			b = fmt.Appendf(b, "x%d", a.Count)
		}
	}
	return append(b, '\n')
}

// secs is a time or duration in nanoseconds printed as seconds with
// microsecond precision, as Zeek prints them.
type secs int64

func (s secs) MarshalJSON() ([]byte, error) { return []byte(formatSecs(int64(s), 6)), nil }

func formatSecs(ns int64, digits int) string {
	neg := ns < 0
	if neg {
		ns = -ns
	}
	div := int64(1)
	for i := digits; i < 9; i++ {
		div *= 10
	}
	v := (ns + div/2) / div
	unit := int64(1)
	for i := 0; i < digits; i++ {
		unit *= 10
	}
	s := fmt.Sprintf("%d.%0*d", v/unit, digits, v%unit)
	if neg {
		s = "-" + s
	}
	return s
}

// connJSON is a connection in conn.log terms plus synfin's own fields.
type connJSON struct {
	TS          secs       `json:"ts"`
	UID         string     `json:"uid"`
	OrigH       string     `json:"id.orig_h"`
	OrigP       uint16     `json:"id.orig_p"`
	RespH       string     `json:"id.resp_h"`
	RespP       uint16     `json:"id.resp_p"`
	Proto       string     `json:"proto"`
	Duration    secs       `json:"duration"`
	OrigBytes   uint64     `json:"orig_bytes"`
	RespBytes   uint64     `json:"resp_bytes"`
	ConnState   string     `json:"conn_state"`
	History     string     `json:"history"`
	MissedBytes uint64     `json:"missed_bytes"`
	OrigPkts    uint64     `json:"orig_pkts"`
	OrigIPBytes uint64     `json:"orig_ip_bytes"`
	RespPkts    uint64     `json:"resp_pkts"`
	RespIPBytes uint64     `json:"resp_ip_bytes"`
	ID          uint64     `json:"id"`
	Role        string     `json:"role"`
	Client      string     `json:"client"`
	Server      string     `json:"server"`
	ClientFinal string     `json:"client_final"`
	ServerFinal string     `json:"server_final"`
	End         string     `json:"end"`
	Handshake   hsJSON     `json:"handshake"`
	Teardown    tdJSON     `json:"teardown"`
	Anomalies   []anJSON   `json:"anomalies"`
	Reuse       *reuseJSON `json:"port_reuse,omitempty"`
}

type hsJSON struct {
	Complete          bool       `json:"complete"`
	SYN               int        `json:"syn,omitempty"`
	SYNACK            int        `json:"syn_ack,omitempty"`
	ACK               int        `json:"ack,omitempty"`
	ClientISN         *uint32    `json:"client_isn"`
	ServerISN         *uint32    `json:"server_isn"`
	SYNACKAck         *checkJSON `json:"syn_ack_ack,omitempty"`
	ACKAck            *checkJSON `json:"ack_ack,omitempty"`
	ACKSeq            *checkJSON `json:"ack_seq,omitempty"`
	Simultaneous      bool       `json:"simultaneous,omitempty"`
	Refused           bool       `json:"refused,omitempty"`
	RTT               *secs      `json:"rtt,omitempty"`
	ServerRTT         *secs      `json:"rtt_syn_to_syn_ack,omitempty"`
	ClientRTT         *secs      `json:"rtt_syn_ack_to_ack,omitempty"`
	SYNRetransmits    []rtxJSON  `json:"syn_retransmits,omitempty"`
	SYNACKRetransmits []rtxJSON  `json:"syn_ack_retransmits,omitempty"`
	ClientOptions     *optJSON   `json:"client_options,omitempty"`
	ServerOptions     *optJSON   `json:"server_options,omitempty"`
	WindowScaling     bool       `json:"window_scaling"`
	SACK              bool       `json:"sack"`
	Timestamps        bool       `json:"timestamps"`
	TFO               bool       `json:"tfo,omitempty"`
	MSS               uint16     `json:"mss,omitempty"`
}

type checkJSON struct {
	Got  uint32 `json:"got"`
	Want uint32 `json:"want"`
	OK   bool   `json:"ok"`
}

type rtxJSON struct {
	Seg   int  `json:"seg"`
	T     secs `json:"t"`
	Since secs `json:"since"`
}

type optJSON struct {
	Window    uint16 `json:"window"`
	MSS       uint16 `json:"mss,omitempty"`
	WScale    *int8  `json:"wscale,omitempty"`
	Shift     uint8  `json:"effective_shift"`
	SACK      bool   `json:"sack"`
	TS        bool   `json:"timestamps"`
	TFO       bool   `json:"tfo,omitempty"`
	TFOCookie int    `json:"tfo_cookie_len,omitempty"`
	TFOData   int    `json:"syn_data,omitempty"`
}

type finJSON struct {
	Seg         int    `json:"seg"`
	T           secs   `json:"t"`
	Seq         uint32 `json:"seq"`
	AckSeg      int    `json:"ack_seg,omitempty"`
	AckOK       bool   `json:"ack_ok"`
	Piggybacked bool   `json:"piggybacked,omitempty"`
	Retransmits int    `json:"retransmits,omitempty"`
}

type tdJSON struct {
	Pattern        string   `json:"pattern"`
	Initiator      string   `json:"initiator"`
	ClientFIN      *finJSON `json:"client_fin,omitempty"`
	ServerFIN      *finJSON `json:"server_fin,omitempty"`
	RST            *rstJSON `json:"rst,omitempty"`
	HalfCloseBytes uint64   `json:"half_close_bytes,omitempty"`
	LostLastACK    bool     `json:"lost_last_ack,omitempty"`
	TimeWait       *twJSON  `json:"time_wait,omitempty"`
	Missing        []string `json:"missing"`
}

type rstJSON struct {
	Seg      int    `json:"seg"`
	T        secs   `json:"t"`
	From     string `json:"from"`
	AfterFIN bool   `json:"after_fin"`
	Count    int    `json:"count"`
}

type twJSON struct {
	Side    string `json:"side"`
	Since   secs   `json:"since"`
	Until   secs   `json:"until"`
	For     secs   `json:"duration"`
	Expired bool   `json:"expired"`
}

type anJSON struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	First int    `json:"first_seg"`
}

type reuseJSON struct {
	Prev       uint64 `json:"prev_id"`
	Gap        secs   `json:"gap"`
	Within2MSL bool   `json:"within_2msl"`
}

func isnPtr(e *tcpstate.Endpoint) *uint32 {
	if !e.HasISN {
		return nil
	}
	v := e.ISN
	return &v
}

func secsPtr(ns int64) *secs { s := secs(ns); return &s }

func optsJSON(e *tcpstate.Endpoint) *optJSON {
	o := e.Options
	if !o.Seen {
		return nil
	}
	j := &optJSON{Window: o.Window, MSS: o.MSS, Shift: e.Shift, SACK: o.SACK, TS: o.Timestamps,
		TFO: o.TFO, TFOCookie: o.TFOCookie, TFOData: o.TFOData}
	if o.WScale >= 0 {
		w := o.WScale
		j.WScale = &w
	}
	return j
}

func handshakeJSON(c *tcpstate.Conn) hsJSON {
	h := &c.Handshake
	j := hsJSON{
		Complete: h.Complete, SYN: h.SYN.Seg, SYNACK: h.SYNACK.Seg, ACK: h.ACK.Seg,
		ClientISN: isnPtr(&c.Client), ServerISN: isnPtr(&c.Server),
		Simultaneous: h.Simultaneous, Refused: h.Refused,
		ClientOptions: optsJSON(&c.Client), ServerOptions: optsJSON(&c.Server),
		WindowScaling: h.WindowScaling, SACK: h.SACK, Timestamps: h.Timestamps, TFO: h.TFO, MSS: h.MSS,
	}
	if h.SYNACK.Seen() && c.Client.HasISN {
		j.SYNACKAck = &checkJSON{h.SYNACKAck, c.Client.ISN + 1, h.SYNACKAck == c.Client.ISN+1}
	}
	if h.ACK.Seen() {
		if c.Server.HasISN {
			j.ACKAck = &checkJSON{h.ACKAck, c.Server.ISN + 1, h.ACKAckOK}
		}
		if c.Client.HasISN {
			j.ACKSeq = &checkJSON{h.ACKSeq, c.Client.ISN + 1, h.ACKSeqOK}
		}
	}
	if h.SYN.Seen() && h.SYNACK.Seen() {
		j.ServerRTT = secsPtr(int64(h.ServerRTT))
		if h.ACK.Seen() {
			j.ClientRTT = secsPtr(int64(h.ClientRTT))
			j.RTT = secsPtr(int64(h.RTT()))
		}
	}
	for _, r := range h.SYNRetransmits {
		j.SYNRetransmits = append(j.SYNRetransmits, rtxJSON{r.Seg, secs(r.Time), secs(r.Since)})
	}
	for _, r := range h.SYNACKRetransmits {
		j.SYNACKRetransmits = append(j.SYNACKRetransmits, rtxJSON{r.Seg, secs(r.Time), secs(r.Since)})
	}
	return j
}

func finJSONOf(f *tcpstate.FIN) *finJSON {
	if !f.Seen() {
		return nil
	}
	return &finJSON{Seg: f.Seg, T: secs(f.Time), Seq: f.Seq, AckSeg: f.Ack.Seg, AckOK: f.AckOK,
		Piggybacked: f.Piggybacked, Retransmits: f.Retransmits}
}

func teardownJSON(c *tcpstate.Conn) tdJSON {
	td := &c.Teardown
	j := tdJSON{
		Pattern: td.Pattern.String(), Initiator: td.Initiator.String(),
		ClientFIN: finJSONOf(&td.ClientFIN), ServerFIN: finJSONOf(&td.ServerFIN),
		HalfCloseBytes: td.HalfCloseBytes, LostLastACK: td.LostLastACK,
		Missing: td.Missing.Names(),
	}
	if j.Missing == nil {
		j.Missing = []string{}
	}
	if td.RST.Seen() {
		j.RST = &rstJSON{td.RST.Seg, secs(td.RST.Time), td.RST.From.String(), td.RST.AfterFIN, td.RST.Count}
	}
	if tw := td.TimeWait; tw.Side != tcpstate.SideNone {
		j.TimeWait = &twJSON{tw.Side.String(), secs(tw.Start), secs(tw.Until()), secs(tw.Duration), tw.Expired}
	}
	return j
}

func anomaliesJSON(c *tcpstate.Conn) []anJSON {
	out := []anJSON{}
	for _, a := range c.Anomalies.List() {
		out = append(out, anJSON{a.Anomaly.String(), a.Count, a.First})
	}
	return out
}

func appendConnJSON(b []byte, c *tcpstate.Conn) []byte {
	j := connJSON{
		TS: secs(c.First.Time), UID: c.UID(),
		OrigH: c.Client.Addr.String(), OrigP: c.Client.Port,
		RespH: c.Server.Addr.String(), RespP: c.Server.Port,
		Proto: "tcp", Duration: secs(c.Duration()),
		OrigBytes: c.Client.Bytes, RespBytes: c.Server.Bytes,
		ConnState: c.Zeek.ConnState, History: c.Zeek.History, MissedBytes: c.Zeek.MissedBytes,
		OrigPkts: c.Client.Pkts, OrigIPBytes: c.Client.IPBytes,
		RespPkts: c.Server.Pkts, RespIPBytes: c.Server.IPBytes,
		ID: c.ID, Role: c.Role.String(),
		Client: c.Client.AddrPort().String(), Server: c.Server.AddrPort().String(),
		ClientFinal: c.Client.State.String(), ServerFinal: c.Server.State.String(),
		End:       c.End.String(),
		Handshake: handshakeJSON(c), Teardown: teardownJSON(c), Anomalies: anomaliesJSON(c),
	}
	if z := c.Zeek; z.Valid {
		// conn.log's fields follow Zeek's own originator and counts.
		j.OrigH, j.OrigP = z.Orig.Addr().String(), z.Orig.Port()
		j.RespH, j.RespP = z.Resp.Addr().String(), z.Resp.Port()
		j.OrigBytes, j.RespBytes = z.OrigBytes, z.RespBytes
		j.OrigPkts, j.RespPkts = z.OrigPkts, z.RespPkts
		j.OrigIPBytes, j.RespIPBytes = z.OrigIPBytes, z.RespIPBytes
	}
	if c.Reuse.Prev != 0 {
		j.Reuse = &reuseJSON{c.Reuse.Prev, secs(c.Reuse.Gap), c.Reuse.Within2MSL}
	}
	return appendJSONLine(b, j)
}

func appendJSONLine(b []byte, v any) []byte {
	enc, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain types are marshalled
	}
	b = append(b, enc...)
	return append(b, '\n')
}
