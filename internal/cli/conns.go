package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"synfin/filter"
	"synfin/input"
	"synfin/internal/snapshot"
	"synfin/pipeline"
	"synfin/tcpstate"
	"synfin/wire"
	"synfin/zeekconn"
)

func init() {
	register(&command{name: "conns", summary: "one line per TCP connection: roles, states, teardown, bytes (Zeek conn.log fields with --json)", run: runConns})
}

const connsUsage = `Usage: synfin conns -r FILE [--json] [--max-conns N] [--jobs N] [EXPR]

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
  --jobs N         share the connections out among N trackers running at
                   once (default: the number of processors Go may use,
                   GOMAXPROCS); the output is the same for every N. With
                   --max-conns or from a live pipe there is one tracker.
  EXPR             a pcap-filter expression selecting packets

Connections are printed as they finish on the capture's clock (after
TIME-WAIT, 60 s, or 5 min idle), the rest when the capture ends.

Examples:
  synfin conns -r trace.pcap
  synfin conns -r trace.pcap --jobs 1
  synfin conns -r trace.pcap --json port 443 | jq -c 'select(.teardown.pattern=="abort-rst")'
  tcpdump -l -n -S port 9988 | synfin conns -r -
`

func runConns(env *Env, args []string) error {
	var (
		file     string
		asJSON   bool
		maxConns int
		jobs     = runtime.GOMAXPROCS(0)
	)
	fs := newFlags("conns", connsUsage, env.Stdout)
	fs.String('r', "read", &file)
	fs.Bool(0, "json", &asJSON)
	fs.Int(0, "max-conns", &maxConns)
	fs.Int(0, "jobs", &jobs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" {
		return usagef("-r FILE is required")
	}
	if maxConns < 0 {
		return usagef("--max-conns must not be negative")
	}
	if jobs < 1 {
		return usagef("--jobs must be at least 1")
	}
	expr := strings.Join(fs.Args(), " ")
	if expr != "" {
		if _, err := filter.Compile(expr, wire.LinkEthernet); err != nil {
			return usagef("%v", err)
		}
	}
	out := bufio.NewWriterSize(env.Stdout, 1<<16)
	defer out.Flush()
	live := input.Live(file, env.Stdin)
	var (
		werr    error
		buf     []byte
		evicted int
	)
	if !asJSON {
		fmt.Fprintf(out, "%-4s %-39s %-39s %-25s %-18s %12s %21s %s\n",
			"id", "client", "server", "states (client/server)", "teardown", "duration", "bytes c>s/s>c", "anomalies")
	}
	// One tracker evicts by its own recency, which trackers sharing the
	// connections out would not agree on; a live pipe's pace is the
	// traffic's, which more trackers would not speed up, and its one
	// tracker's clock runs on while the pipe is quiet (see track).
	if maxConns > 0 || live {
		jobs = 1
	}
	if jobs > 1 {
		src, err := openInput(env, file, true)
		if err != nil {
			return err
		}
		defer src.Close()
		// Nearly everything on the Go heap here lives as long as the run
		// (frame batches, event chunks, the trackers' pools) and almost
		// nothing is garbage, so the collector's default goal of twice the
		// live heap only ever shows as resident memory: 14 MB of it at 10×
		// the reference workload. Half the live heap in garbage costs a few
		// more collections of a small heap.
		defer debug.SetGCPercent(debug.SetGCPercent(50))
		opt := pipeline.Conns{Jobs: jobs, Config: func() tcpstate.Config { return tcpstate.Config{} },
			Brief: appendConnRowRest, Number: numberRow}
		if asJSON {
			opt.Config = func() tcpstate.Config { return tcpstate.Config{Zeek: zeekEngines()} }
			opt.Brief, opt.Conn, opt.Number = nil, appendConnJSON, numberJSON
		}
		err = pipeline.TrackConns(env.Ctx, src, input.NewFilter(expr), opt, &errWriter{w: out, err: &werr})
		if werr != nil {
			return werr
		}
		return err
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
	// The table shows no Zeek field and only a connection's brief: it is
	// spared the work of the rest.
	cfg := tcpstate.Config{MaxConns: maxConns, Brief: func(c *tcpstate.Brief) {
		buf = appendConnRow(buf[:0], c)
		write(c.End)
	}}
	if asJSON {
		cfg = tcpstate.Config{MaxConns: maxConns, Zeek: zeekEngines(), Done: func(c *tcpstate.Conn) {
			buf = appendConnJSON(buf[:0], c)
			write(c.End)
		}}
	}
	err := track(env, file, expr, cfg)
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

// numberRow puts a table row's ID before the rest of it, which the
// trackers wrote (appendConnRowRest).
func numberRow(dst, line []byte, id, _, _, _ uint64) []byte {
	dst = padRight(strconv.AppendUint(dst, id, 10), len(dst), 4)
	return append(append(dst, ' '), line...)
}

// numberJSON renumbers a connection's JSON line: its "id" and its port
// reuse's "prev_id", which comes after it.
func numberJSON(dst, line []byte, id, was, prev, prevWas uint64) []byte {
	dst, rest := replaceID(dst, line, `,"id":`, was, id)
	if prevWas != 0 {
		dst, rest = replaceID(dst, rest, `"prev_id":`, prevWas, prev)
	}
	return append(dst, rest...)
}

// replaceID appends line up to the number old after key, and id in its
// place, and returns the rest of line; if key is not there, it appends
// nothing and the rest is all of line.
func replaceID(dst, line []byte, key string, old, id uint64) ([]byte, []byte) {
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return dst, line
	}
	i += len(key)
	var digits [20]byte
	j := i + len(strconv.AppendUint(digits[:0], old, 10))
	dst = append(dst, line[:i]...)
	return strconv.AppendUint(dst, id, 10), line[j:]
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

// openInput opens a capture to read, with a progress bar on a terminal
// (streams: the command writes its results as it reads).
func openInput(env *Env, file string, streams bool) (input.Source, error) {
	return input.Open(file, env.Stdin, input.Options{Progress: progressTo(env, streams)})
}

// track reads file, filters it with expr and feeds one tracker; the
// tracker is flushed even when the input is damaged, so that everything
// before the damage is reported, then the error.
func track(env *Env, file, expr string, cfg tcpstate.Config) error {
	src, err := openInput(env, file, true)
	if err != nil {
		return err
	}
	defer src.Close()
	if input.Live(file, env.Stdin) {
		return trackSource(env, input.NewPipe(env.Ctx, src), expr, cfg)
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

// trackSource feeds the frames of src, filtered by expr, to one tracker.
func trackSource(env *Env, src input.Frames, expr string, cfg tcpstate.Config) error {
	t := tcpstate.New(cfg)
	if c, ok := src.(input.Clocked); ok {
		c.OnIdle(t.Tick)
	}
	return input.Each(env.Ctx, src, input.NewFilter(expr), func(f *wire.Frame) error {
		t.Frame(f)
		return nil
	}, t.Flush)
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

// appendConnRow formats one connection as a table row. It is written out
// by hand, as fmt's reflection would cost more than tracking the
// connection did.
func appendConnRow(b []byte, c *tcpstate.Brief) []byte {
	b = padRight(strconv.AppendUint(b, c.ID, 10), len(b), 4)
	return appendConnRowRest(append(b, ' '), c)
}

// appendConnRowRest is appendConnRow after the ID.
func appendConnRowRest(b []byte, c *tcpstate.Brief) []byte {
	b = padRight(appendAddrPort(b, c.Client), len(b), 39)
	b = append(b, ' ')
	b = padRight(appendAddrPort(b, c.Server), len(b), 39)
	b = append(b, ' ')
	n := len(b)
	b = append(append(append(b, c.ClientState.String()...), '/'), c.ServerState.String()...)
	b = padRight(b, n, 25)
	b = append(b, ' ')
	b = padRight(append(b, c.Pattern.String()...), len(b), 18)
	b = append(b, ' ')
	n = len(b)
	b = padLeft(appendSecs(b, int64(c.Duration), 6), n, 12)
	b = append(b, ' ')
	n = len(b)
	b = strconv.AppendUint(append(strconv.AppendUint(b, c.ClientBytes, 10), '/'), c.ServerBytes, 10)
	b = padLeft(b, n, 21)
	b = append(b, ' ')
	none := true
	for a := tcpstate.Anomaly(0); a < tcpstate.NumAnomalies; a++ {
		if !c.Anomalies.Has(a) {
			continue
		}
		if !none {
			b = append(b, ',')
		}
		none = false
		b = append(b, a.String()...)
		if count := c.Counts[a]; count > 1 {
			b = strconv.AppendInt(append(b, 'x'), int64(count), 10)
		}
	}
	if none {
		b = append(b, '-')
	}
	return append(b, '\n')
}

// appendAddr appends a as String prints it (AppendTo leaves out an
// invalid address).
func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, a.String()...)
	}
	return a.AppendTo(b)
}

func appendAddrPort(b []byte, a netip.AddrPort) []byte {
	if !a.Addr().IsValid() {
		return append(b, a.String()...)
	}
	return a.AppendTo(b)
}

// padRight pads b[start:] with spaces to width, as fmt's %-Ns does.
func padRight(b []byte, start, width int) []byte {
	return appendSpaces(b, width-(len(b)-start))
}

// padLeft right-aligns b[start:] in width, as fmt's %Ns does.
func padLeft(b []byte, start, width int) []byte {
	pad := width - (len(b) - start)
	if pad <= 0 {
		return b
	}
	b = appendSpaces(b, pad)
	copy(b[start+pad:], b[start:len(b)-pad])
	for i := start; i < start+pad; i += copy(b[i:start+pad], spaces) {
	}
	return b
}

// spaces is the padding of the widest column, appended in one copy
// rather than a byte at a time.
var spaces = []byte("                                        ")

// appendSpaces appends n spaces (none when n <= 0).
func appendSpaces(b []byte, n int) []byte {
	for n > len(spaces) {
		b = append(b, spaces...)
		n -= len(spaces)
	}
	if n > 0 {
		b = append(b, spaces[:n]...)
	}
	return b
}

// secs is a time or duration in nanoseconds printed as seconds with
// microsecond precision, as Zeek prints them.
type secs int64

func (s secs) MarshalJSON() ([]byte, error) { return []byte(formatSecs(int64(s), 6)), nil }

func formatSecs(ns int64, digits int) string { return string(appendSecs(nil, ns, digits)) }

// appendSecs appends ns as seconds with digits decimals, rounded half up.
func appendSecs(b []byte, ns int64, digits int) []byte {
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
	if neg {
		b = append(b, '-')
	}
	b = append(strconv.AppendInt(b, v/unit, 10), '.')
	frac := v % unit
	for u := unit / 10; u > frac && u > 1; u /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, frac, 10)
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
	Rejected          bool       `json:"rejected,omitempty"`
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
	Held    bool   `json:"held,omitempty"`
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
		Simultaneous: h.Simultaneous, Refused: h.Refused, Rejected: h.Rejected,
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
		j.TimeWait = &twJSON{tw.Side.String(), secs(tw.Start), secs(tw.Until()), secs(tw.Duration), tw.Expired, tw.Held}
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

// appendConnJSON appends c as one line of JSON. It is written out by hand
// (encoding/json's reflection cost more than tracking did); the fields,
// their order and omissions are those of the structs above, as
// explain --json prints them, and a test holds it to encoding/json.
func appendConnJSON(b []byte, c *tcpstate.Conn) []byte {
	origH, origP := c.Client.AddrPort(), c.Client.Port
	respH, respP := c.Server.AddrPort(), c.Server.Port
	origBytes, respBytes := c.Client.Bytes, c.Server.Bytes
	origPkts, respPkts := c.Client.Pkts, c.Server.Pkts
	origIP, respIP := c.Client.IPBytes, c.Server.IPBytes
	if z := &c.Zeek; z.Valid {
		// conn.log's fields follow Zeek's own originator and counts.
		origH, origP = z.Orig, z.Orig.Port()
		respH, respP = z.Resp, z.Resp.Port()
		origBytes, respBytes = z.OrigBytes, z.RespBytes
		origPkts, respPkts = z.OrigPkts, z.RespPkts
		origIP, respIP = z.OrigIPBytes, z.RespIPBytes
	}
	b = append(b, `{"ts":`...)
	b = appendSecs(b, c.First.Time, 6)
	b = append(b, `,"uid":"`...)
	b = append(c.AppendUID(b), '"')
	b = append(b, `,"id.orig_h":"`...)
	b = append(appendAddr(b, origH.Addr()), '"')
	b = appendUintField(b, `,"id.orig_p":`, uint64(origP))
	b = append(b, `,"id.resp_h":"`...)
	b = append(appendAddr(b, respH.Addr()), '"')
	b = appendUintField(b, `,"id.resp_p":`, uint64(respP))
	b = append(b, `,"proto":"tcp","duration":`...)
	b = appendSecs(b, int64(c.Duration()), 6)
	b = appendUintField(b, `,"orig_bytes":`, origBytes)
	b = appendUintField(b, `,"resp_bytes":`, respBytes)
	b = appendStringField(b, `,"conn_state":`, c.Zeek.ConnState)
	b = appendStringField(b, `,"history":`, c.Zeek.History)
	b = appendUintField(b, `,"missed_bytes":`, c.Zeek.MissedBytes)
	b = appendUintField(b, `,"orig_pkts":`, origPkts)
	b = appendUintField(b, `,"orig_ip_bytes":`, origIP)
	b = appendUintField(b, `,"resp_pkts":`, respPkts)
	b = appendUintField(b, `,"resp_ip_bytes":`, respIP)
	b = appendUintField(b, `,"id":`, c.ID)
	b = appendStringField(b, `,"role":`, c.Role.String())
	b = append(b, `,"client":"`...)
	b = append(appendAddrPort(b, c.Client.AddrPort()), '"')
	b = append(b, `,"server":"`...)
	b = append(appendAddrPort(b, c.Server.AddrPort()), '"')
	b = appendStringField(b, `,"client_final":`, c.Client.State.String())
	b = appendStringField(b, `,"server_final":`, c.Server.State.String())
	b = appendStringField(b, `,"end":`, c.End.String())
	b = appendUintField(b, `,"completeness":`, uint64(c.Completeness()))
	b = appendHandshakeJSON(append(b, `,"handshake":`...), c)
	b = appendTeardownJSON(append(b, `,"teardown":`...), c)
	b = append(b, `,"anomalies":[`...)
	first := true
	for a := tcpstate.Anomaly(0); a < tcpstate.NumAnomalies; a++ {
		x := c.Anomalies[a]
		if x.Count <= 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendStringField(b, `{"name":`, a.String())
		b = appendIntField(b, `,"count":`, int64(x.Count))
		b = appendIntField(b, `,"first_seg":`, int64(x.First))
		b = append(b, '}')
	}
	b = append(b, ']')
	if r := &c.Reuse; r.Prev != 0 {
		b = appendUintField(b, `,"port_reuse":{"prev_id":`, r.Prev)
		b = appendSecsField(b, `,"gap":`, int64(r.Gap))
		b = appendBoolField(b, `,"within_2msl":`, r.Within2MSL)
		b = append(b, '}')
	}
	return append(b, "}\n"...)
}

func appendHandshakeJSON(b []byte, c *tcpstate.Conn) []byte {
	h := &c.Handshake
	b = appendBoolField(b, `{"complete":`, h.Complete)
	b = appendIntOmit(b, `,"syn":`, int64(h.SYN.Seg))
	b = appendIntOmit(b, `,"syn_ack":`, int64(h.SYNACK.Seg))
	b = appendIntOmit(b, `,"ack":`, int64(h.ACK.Seg))
	b = appendISN(b, `,"client_isn":`, &c.Client)
	b = appendISN(b, `,"server_isn":`, &c.Server)
	if h.SYNACK.Seen() && c.Client.HasISN {
		b = appendCheck(b, `,"syn_ack_ack":`, h.SYNACKAck, c.Client.ISN+1, h.SYNACKAck == c.Client.ISN+1)
	}
	if h.ACK.Seen() {
		if c.Server.HasISN {
			b = appendCheck(b, `,"ack_ack":`, h.ACKAck, c.Server.ISN+1, h.ACKAckOK)
		}
		if c.Client.HasISN {
			b = appendCheck(b, `,"ack_seq":`, h.ACKSeq, c.Client.ISN+1, h.ACKSeqOK)
		}
	}
	if h.Simultaneous {
		b = append(b, `,"simultaneous":true`...)
	}
	if h.Refused {
		b = append(b, `,"refused":true`...)
	}
	if h.Rejected {
		b = append(b, `,"rejected":true`...)
	}
	if h.SYN.Seen() && h.SYNACK.Seen() {
		if h.ACK.Seen() {
			b = appendSecsField(b, `,"rtt":`, int64(h.RTT()))
		}
		b = appendSecsField(b, `,"rtt_syn_to_syn_ack":`, int64(h.ServerRTT))
		if h.ACK.Seen() {
			b = appendSecsField(b, `,"rtt_syn_ack_to_ack":`, int64(h.ClientRTT))
		}
	}
	b = appendRetransmits(b, `,"syn_retransmits":[`, h.SYNRetransmits)
	b = appendRetransmits(b, `,"syn_ack_retransmits":[`, h.SYNACKRetransmits)
	b = appendOptions(b, `,"client_options":`, &c.Client)
	b = appendOptions(b, `,"server_options":`, &c.Server)
	b = appendBoolField(b, `,"window_scaling":`, h.WindowScaling)
	b = appendBoolField(b, `,"sack":`, h.SACK)
	b = appendBoolField(b, `,"timestamps":`, h.Timestamps)
	if h.TFO {
		b = append(b, `,"tfo":true`...)
	}
	b = appendIntOmit(b, `,"mss":`, int64(h.MSS))
	return append(b, '}')
}

func appendISN(b []byte, key string, e *tcpstate.Endpoint) []byte {
	if !e.HasISN {
		return append(append(b, key...), "null"...)
	}
	return appendUintField(b, key, uint64(e.ISN))
}

func appendCheck(b []byte, key string, got, want uint32, ok bool) []byte {
	b = appendUintField(b, key+`{"got":`, uint64(got))
	b = appendUintField(b, `,"want":`, uint64(want))
	b = appendBoolField(b, `,"ok":`, ok)
	return append(b, '}')
}

func appendRetransmits(b []byte, key string, rs []tcpstate.Retransmit) []byte {
	if len(rs) == 0 {
		return b
	}
	b = append(b, key...)
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendIntField(b, `{"seg":`, int64(r.Seg))
		b = appendSecsField(b, `,"t":`, r.Time)
		b = appendSecsField(b, `,"since":`, int64(r.Since))
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendOptions(b []byte, key string, e *tcpstate.Endpoint) []byte {
	o := &e.Options
	if !o.Seen {
		return b
	}
	b = appendUintField(b, key+`{"window":`, uint64(o.Window))
	b = appendIntOmit(b, `,"mss":`, int64(o.MSS))
	if o.WScale >= 0 {
		b = appendIntField(b, `,"wscale":`, int64(o.WScale))
	}
	b = appendUintField(b, `,"effective_shift":`, uint64(e.Shift))
	b = appendBoolField(b, `,"sack":`, o.SACK)
	b = appendBoolField(b, `,"timestamps":`, o.Timestamps)
	if o.TFO {
		b = append(b, `,"tfo":true`...)
	}
	b = appendIntOmit(b, `,"tfo_cookie_len":`, int64(o.TFOCookie))
	b = appendIntOmit(b, `,"syn_data":`, int64(o.TFOData))
	return append(b, '}')
}

func appendFIN(b []byte, key string, f *tcpstate.FIN) []byte {
	if !f.Seen() {
		return b
	}
	b = appendIntField(b, key+`{"seg":`, int64(f.Seg))
	b = appendSecsField(b, `,"t":`, f.Time)
	b = appendUintField(b, `,"seq":`, uint64(f.Seq))
	b = appendIntOmit(b, `,"ack_seg":`, int64(f.Ack.Seg))
	b = appendBoolField(b, `,"ack_ok":`, f.AckOK)
	if f.Piggybacked {
		b = append(b, `,"piggybacked":true`...)
	}
	b = appendIntOmit(b, `,"retransmits":`, int64(f.Retransmits))
	return append(b, '}')
}

func appendTeardownJSON(b []byte, c *tcpstate.Conn) []byte {
	td := &c.Teardown
	b = appendStringField(b, `{"pattern":`, td.Pattern.String())
	b = appendStringField(b, `,"initiator":`, td.Initiator.String())
	b = appendFIN(b, `,"client_fin":`, &td.ClientFIN)
	b = appendFIN(b, `,"server_fin":`, &td.ServerFIN)
	if r := &td.RST; r.Seen() {
		b = appendIntField(b, `,"rst":{"seg":`, int64(r.Seg))
		b = appendSecsField(b, `,"t":`, r.Time)
		b = appendStringField(b, `,"from":`, r.From.String())
		b = appendBoolField(b, `,"after_fin":`, r.AfterFIN)
		b = appendIntField(b, `,"count":`, int64(r.Count))
		b = append(b, '}')
	}
	if td.HalfCloseBytes != 0 {
		b = appendUintField(b, `,"half_close_bytes":`, td.HalfCloseBytes)
	}
	if td.LostLastACK {
		b = append(b, `,"lost_last_ack":true`...)
	}
	if tw := td.TimeWait; tw.Side != tcpstate.SideNone {
		b = appendStringField(b, `,"time_wait":{"side":`, tw.Side.String())
		b = appendSecsField(b, `,"since":`, tw.Start)
		b = appendSecsField(b, `,"until":`, tw.Until())
		b = appendSecsField(b, `,"duration":`, int64(tw.Duration))
		b = appendBoolField(b, `,"expired":`, tw.Expired)
		if tw.Held {
			b = append(b, `,"held":true`...)
		}
		b = append(b, '}')
	}
	b = append(b, `,"missing":[`...)
	var names [8]string
	for i, name := range td.Missing.AppendNames(names[:0]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, name)
	}
	return append(b, "]}"...)
}

func appendUintField(b []byte, key string, v uint64) []byte {
	return strconv.AppendUint(append(b, key...), v, 10)
}

func appendIntField(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(append(b, key...), v, 10)
}

// appendIntOmit is appendIntField for an omitempty field.
func appendIntOmit(b []byte, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	return appendIntField(b, key, v)
}

func appendSecsField(b []byte, key string, ns int64) []byte {
	return appendSecs(append(b, key...), ns, 6)
}

func appendBoolField(b []byte, key string, v bool) []byte {
	return strconv.AppendBool(append(b, key...), v)
}

func appendStringField(b []byte, key, v string) []byte {
	return appendJSONString(append(b, key...), v)
}

// appendJSONString appends s quoted. The strings here are names and
// letters; anything that encoding/json would escape takes its path, so
// that both print the same.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, err := json.Marshal(s)
			if err != nil {
				panic(err) // a string always marshals
			}
			return append(b, enc...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

func appendJSONLine(b []byte, v any) []byte {
	enc, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain types are marshalled
	}
	b = append(b, enc...)
	return append(b, '\n')
}
