package conn

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"

	"synfin/tcpstate"
	"synfin/zeekconn"
)

// AppendJSON appends c as conns --json lines, newlines included: one for
// each conn.log row of c, Zeek's conn.log fields (ts, uid, id.orig_h,
// ..., resp_ip_bytes) then synfin's own (id, role, client and server as
// explain --json has them, final states, end, completeness) and the analysis (handshake, teardown,
// anomalies, port_reuse), which are the connection's and the same on
// each of its rows.
//
// The conn.log fields follow Zeek's originator, counts and duration when
// c has them (zeekconn.Fields), a row for each of zeekconn.Earlier
// before the last; the client's and the connection's, in one line,
// otherwise.
func AppendJSON(b []byte, c *tcpstate.Conn) []byte {
	z, ok := zeekconn.Fields(c)
	if !ok {
		z = zeekconn.Record{TS: c.First.Time, Orig: c.Client.AddrPort(), Resp: c.Server.AddrPort(),
			Duration: int64(c.Duration()), OrigBytes: c.Client.Bytes, RespBytes: c.Server.Bytes,
			OrigPkts: c.Client.Pkts, RespPkts: c.Server.Pkts, OrigIPBytes: c.Client.IPBytes, RespIPBytes: c.Server.IPBytes}
	}
	earlier := zeekconn.Earlier(c)
	for i := range earlier {
		b = appendJSONRow(b, c, i, &earlier[i])
	}
	return appendJSONRow(b, c, len(earlier), &z)
}

// appendJSONRow appends the line of c's row'th conn.log row, z.
func appendJSONRow(b []byte, c *tcpstate.Conn, row int, z *zeekconn.Record) []byte {
	b = appendSecsField(b, `{"ts":`, z.TS)
	b = append(c.AppendRowUID(append(b, `,"uid":"`...), row), '"')
	b = appendAddrField(b, `,"id.orig_h":`, z.Orig.Addr())
	b = appendUintField(b, `,"id.orig_p":`, uint64(z.Orig.Port()))
	b = appendAddrField(b, `,"id.resp_h":`, z.Resp.Addr())
	b = appendUintField(b, `,"id.resp_p":`, uint64(z.Resp.Port()))
	b = append(b, `,"proto":"tcp"`...)
	b = appendSecsField(b, `,"duration":`, z.Duration)
	b = appendUintField(b, `,"orig_bytes":`, z.OrigBytes)
	b = appendUintField(b, `,"resp_bytes":`, z.RespBytes)
	b = appendStringField(b, `,"conn_state":`, z.ConnState)
	b = appendStringField(b, `,"history":`, z.History)
	b = appendUintField(b, `,"missed_bytes":`, z.MissedBytes)
	b = appendUintField(b, `,"orig_pkts":`, z.OrigPkts)
	b = appendUintField(b, `,"orig_ip_bytes":`, z.OrigIPBytes)
	b = appendUintField(b, `,"resp_pkts":`, z.RespPkts)
	b = appendUintField(b, `,"resp_ip_bytes":`, z.RespIPBytes)
	b = appendUintField(b, `,"id":`, c.ID)
	b = appendStringField(b, `,"role":`, c.Role.String())
	b = appendEndpoint(b, `,"client":`, &c.Client)
	b = appendEndpoint(b, `,"server":`, &c.Server)
	b = appendStringField(b, `,"client_final":`, c.Client.State.String())
	b = appendStringField(b, `,"server_final":`, c.Server.State.String())
	b = appendStringField(b, `,"end":`, c.End.String())
	b = appendUintField(b, `,"completeness":`, uint64(c.Completeness()))
	b = appendAnalysis(b, c)
	return append(b, "}\n"...)
}

// AppendExplainJSON appends c as an explain --json line, newline
// included: its id, Zeek's conn_state and history, completeness, role and
// end, both endpoints with their state transitions, the analysis as
// AppendJSON writes it, and every segment of c.Segments (kept when the
// tracker ran with Config.Segments).
func AppendExplainJSON(b []byte, c *tcpstate.Conn) []byte {
	b = appendUintField(b, `{"id":`, c.ID)
	b = append(c.AppendUID(append(b, `,"uid":"`...)), '"')
	z, _ := zeekconn.Fields(c)
	b = appendStringField(b, `,"conn_state":`, z.ConnState)
	b = appendStringField(b, `,"history":`, z.History)
	b = appendUintField(b, `,"completeness":`, uint64(c.Completeness()))
	b = appendStringField(b, `,"role":`, c.Role.String())
	b = appendStringField(b, `,"end":`, c.End.String())
	b = appendEndpoint(b, `,"client":`, &c.Client)
	b = appendEndpoint(b, `,"server":`, &c.Server)
	b = appendAnalysis(b, c)
	b = appendSegments(append(b, `,"segments":`...), c.Segments)
	return append(b, "}\n"...)
}

// appendAnalysis appends the fields both JSON lines end with: handshake,
// teardown, anomalies and, for a connection that reused its ports,
// port_reuse.
func appendAnalysis(b []byte, c *tcpstate.Conn) []byte {
	b = appendHandshake(append(b, `,"handshake":`...), c)
	b = appendTeardown(append(b, `,"teardown":`...), c)
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
	return b
}

// appendEndpoint appends e as the client and server of both conns --json
// and explain --json, which have the same shape.
func appendEndpoint(b []byte, key string, e *tcpstate.Endpoint) []byte {
	b = appendAddrField(append(b, key...), `{"addr":`, e.Addr)
	b = appendUintField(b, `,"port":`, uint64(e.Port))
	b = appendISN(b, `,"isn":`, e)
	b = appendStringField(b, `,"initial":`, e.Initial.String())
	b = appendStringField(b, `,"final":`, e.State.String())
	b = appendTransitions(append(b, `,"transitions":`...), e.Transitions)
	b = appendUintField(b, `,"bytes":`, e.Bytes)
	b = appendUintField(b, `,"pkts":`, e.Pkts)
	b = appendOptions(b, `,"options":`, e)
	return append(b, '}')
}

// appendTransitions appends ts as a JSON array.
func appendTransitions(b []byte, ts []tcpstate.Transition) []byte {
	b = append(b, '[')
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSecsField(b, `{"t":`, t.Time)
		b = appendIntField(b, `,"seg":`, int64(t.Seg))
		b = appendStringField(b, `,"from":`, t.From.String())
		b = appendStringField(b, `,"to":`, t.To.String())
		b = appendTrue(b, `,"inferred":true`, t.Inferred)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendHandshake(b []byte, c *tcpstate.Conn) []byte {
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
	b = appendTrue(b, `,"simultaneous":true`, h.Simultaneous)
	b = appendTrue(b, `,"refused":true`, h.Refused)
	b = appendTrue(b, `,"rejected":true`, h.Rejected)
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
	b = appendTrue(b, `,"tfo":true`, h.TFO)
	b = appendIntOmit(b, `,"mss":`, int64(h.MSS))
	return append(b, '}')
}

// appendISN appends e's initial sequence number, null when not seen.
func appendISN(b []byte, key string, e *tcpstate.Endpoint) []byte {
	if !e.HasISN {
		return append(append(b, key...), "null"...)
	}
	return appendUintField(b, key, uint64(e.ISN))
}

// appendCheck appends an acknowledgment checked against what it should
// be: {"got":...,"want":...,"ok":...}.
func appendCheck(b []byte, key string, got, want uint32, ok bool) []byte {
	b = appendUintField(append(b, key...), `{"got":`, uint64(got))
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

// appendOptions appends the options of e's SYN, if it was seen, with the
// window scale in effect.
func appendOptions(b []byte, key string, e *tcpstate.Endpoint) []byte {
	o := &e.Options
	if !o.Seen {
		return b
	}
	b = appendUintField(append(b, key...), `{"window":`, uint64(o.Window))
	b = appendIntOmit(b, `,"mss":`, int64(o.MSS))
	if o.WScale >= 0 {
		b = appendIntField(b, `,"wscale":`, int64(o.WScale))
	}
	b = appendUintField(b, `,"effective_shift":`, uint64(e.Shift))
	b = appendBoolField(b, `,"sack":`, o.SACK)
	b = appendBoolField(b, `,"timestamps":`, o.Timestamps)
	b = appendTrue(b, `,"tfo":true`, o.TFO)
	b = appendIntOmit(b, `,"tfo_cookie_len":`, int64(o.TFOCookie))
	b = appendIntOmit(b, `,"syn_data":`, int64(o.TFOData))
	return append(b, '}')
}

func appendTeardown(b []byte, c *tcpstate.Conn) []byte {
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
	b = appendTrue(b, `,"lost_last_ack":true`, td.LostLastACK)
	if tw := td.TimeWait; tw.Side != tcpstate.SideNone {
		b = appendStringField(b, `,"time_wait":{"side":`, tw.Side.String())
		b = appendSecsField(b, `,"since":`, tw.Start)
		b = appendSecsField(b, `,"until":`, tw.Until())
		b = appendSecsField(b, `,"duration":`, int64(tw.Duration))
		b = appendBoolField(b, `,"expired":`, tw.Expired)
		b = appendTrue(b, `,"held":true`, tw.Held)
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
	b = append(b, ']')
	if td.Readings != nil {
		b = appendReadings(b, c)
	}
	return append(b, '}')
}

// appendReadings appends the readings of a close the capture cannot
// decide, ranked (the first is the one c's states follow), and the clues
// that ranked them, each with the rank of the reading it favours (0:
// neither).
func appendReadings(b []byte, c *tcpstate.Conn) []byte {
	r := c.Teardown.Readings
	first := tcpstate.Reading{Initiator: c.Teardown.Initiator,
		Client: tcpstate.ReadingEnd{Initial: c.Client.Initial, Final: c.Client.State, Transitions: c.Client.Transitions},
		Server: tcpstate.ReadingEnd{Initial: c.Server.Initial, Final: c.Server.State, Transitions: c.Server.Transitions}}
	b = append(b, `,"readings":[`...)
	for i, rd := range [2]*tcpstate.Reading{&first, &r.Other} {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendIntField(b, `{"rank":`, int64(i+1))
		b = appendStringField(b, `,"initiator":`, rd.Initiator.String())
		for _, e := range [2]struct {
			key string
			end *tcpstate.ReadingEnd
		}{{`,"client":`, &rd.Client}, {`,"server":`, &rd.Server}} {
			b = appendStringField(append(b, e.key...), `{"initial":`, e.end.Initial.String())
			b = appendStringField(b, `,"final":`, e.end.Final.String())
			b = appendTransitions(append(b, `,"transitions":`...), e.end.Transitions)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = append(b, `],"clues":[`...)
	for i, cl := range r.Clues {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStringField(b, `{"clue":`, cl.Kind.String())
		b = appendIntField(b, `,"seg":`, int64(cl.Seg))
		if cl.Kind == tcpstate.ClueEcho {
			b = appendIntField(b, `,"reply_seg":`, int64(cl.Reply))
			b = appendUintField(b, `,"ecr":`, uint64(cl.Ecr))
			b = appendUintField(b, `,"val":`, uint64(cl.Val))
			b = appendUintField(b, `,"ticks":`, uint64(cl.Ticks()))
		}
		rank := 0
		switch cl.Favours {
		case first.Initiator:
			rank = 1
		case r.Other.Initiator:
			rank = 2
		}
		b = appendIntField(b, `,"favours":`, int64(rank))
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendFIN(b []byte, key string, f *tcpstate.FIN) []byte {
	if !f.Seen() {
		return b
	}
	b = appendIntField(append(b, key...), `{"seg":`, int64(f.Seg))
	b = appendSecsField(b, `,"t":`, f.Time)
	b = appendUintField(b, `,"seq":`, uint64(f.Seq))
	b = appendIntOmit(b, `,"ack_seg":`, int64(f.Ack.Seg))
	b = appendBoolField(b, `,"ack_ok":`, f.AckOK)
	b = appendTrue(b, `,"piggybacked":true`, f.Piggybacked)
	b = appendIntOmit(b, `,"retransmits":`, int64(f.Retransmits))
	return append(b, '}')
}

// appendSegments appends segs as a JSON array: each segment's numbers,
// phase and note, the note's arguments by name, its anomalies by name
// and both ends' states after it.
func appendSegments(b []byte, segs []tcpstate.Segment) []byte {
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
			b = appendArgs(append(b, `,"args":`...), s.Args)
		}
		b = append(b, `,"anomalies":[`...)
		b, _ = appendAnomalies(b, s.Anomalies, func(b []byte, a tcpstate.Anomaly) []byte {
			return appendJSONString(b, a.String())
		})
		b = append(b, ']')
		b = appendStringField(b, `,"client_state":`, s.Client.String())
		b = appendStringField(b, `,"server_state":`, s.Server.String())
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendArgs appends a note's arguments as an object, as encoding/json
// writes a map: keys sorted, each once, with the last value given for it.
func appendArgs(b []byte, args []tcpstate.Arg) []byte {
	var room [8]string // a note has a few arguments
	keys := room[:0]
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
		b = strconv.AppendInt(append(appendJSONString(b, k), ':'), v, 10)
	}
	return append(b, '}')
}

func appendUintField(b []byte, key string, v uint64) []byte {
	return strconv.AppendUint(append(b, key...), v, 10)
}

func appendIntField(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(append(b, key...), v, 10)
}

// appendIntOmit is appendIntField for a field left out when zero.
func appendIntOmit(b []byte, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	return appendIntField(b, key, v)
}

// appendTrue appends field, which says true, when v is; a false one is
// left out.
func appendTrue(b []byte, field string, v bool) []byte {
	if !v {
		return b
	}
	return append(b, field...)
}

func appendSecsField(b []byte, key string, ns int64) []byte {
	return appendSecs(append(b, key...), ns)
}

func appendBoolField(b []byte, key string, v bool) []byte {
	return strconv.AppendBool(append(b, key...), v)
}

func appendStringField(b []byte, key, v string) []byte {
	return appendJSONString(append(b, key...), v)
}

// appendAddrField appends a quoted as String prints it.
func appendAddrField(b []byte, key string, a netip.Addr) []byte {
	b = append(append(b, key...), '"')
	return quoteTail(appendAddr(b, a), len(b))
}

// quoteTail closes the string b[start:], whose opening quote is at
// b[start-1]; were it to need escaping (an address's zone might), it is
// quoted again as encoding/json quotes it.
func quoteTail(b []byte, start int) []byte {
	if plain(b[start:]) {
		return append(b, '"')
	}
	s := string(b[start:])
	return appendJSONString(b[:start-1], s)
}

// appendJSONString appends s quoted. The strings here are names and
// letters; anything that encoding/json would escape takes its path, so
// that both print the same.
func appendJSONString(b []byte, s string) []byte {
	if !plain(s) {
		enc, err := json.Marshal(s)
		if err != nil {
			panic(err) // a string always marshals
		}
		return append(b, enc...)
	}
	return append(append(append(b, '"'), s...), '"')
}

// plain reports whether encoding/json writes s as it is between quotes.
func plain[S ~string | ~[]byte](s S) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
