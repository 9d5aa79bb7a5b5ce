package conn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"synfin/tcpstate"
	"synfin/zeekconn"
)

// TestJSONDecodes reads every conns --json and explain --json line of the
// corpus, a generated workload and odd connections back with
// encoding/json: each must be one valid JSON object with the expected
// keys and no others, and every value must read back as the connection's
// (integers exactly, even past a float64's; times to the microsecond).
// The analysis (handshake, teardown, anomalies, port_reuse) must read the
// same in both lines. Byte order and spacing are the goldens' business.
func TestJSONDecodes(t *testing.T) {
	conns := append(append(corpusConns(t), generated(t, 500)...), oddConns()...)
	if len(conns) < 600 {
		t.Fatalf("only %d connections", len(conns))
	}
	split := 0
	for _, c := range conns {
		ch := &checker{t: t}
		ch.where = fmt.Sprintf("connection %d, conns --json", c.ID)
		// A line per conn.log row: Zeek's timers may have split c.
		lines := bytes.SplitAfter(AppendJSON(nil, c), []byte("\n"))
		rows := append(slices.Clone(zeekconn.Earlier(c)), zeekconn.Record{})
		if len(lines) != len(rows)+1 || len(lines[len(rows)]) != 0 {
			t.Fatalf("%s: %d lines for %d rows", ch.where, len(lines)-1, len(rows))
		}
		split += len(rows) - 1
		var line map[string]any
		uids := map[any]bool{}
		for i := range rows {
			ch.where = fmt.Sprintf("connection %d, conns --json row %d", c.ID, i)
			line = ch.decode(lines[i])
			ch.connLine(line, c, i, rows)
			if uids[line["uid"]] {
				ch.fail("uid", "%v repeats an earlier row's", line["uid"])
			}
			uids[line["uid"]] = true
		}
		ch.where = fmt.Sprintf("connection %d, explain --json", c.ID)
		ex := ch.decode(AppendExplainJSON(nil, c))
		ch.explainLine(ex, c)
		for _, k := range []string{"handshake", "teardown", "anomalies", "port_reuse"} {
			if !reflect.DeepEqual(line[k], ex[k]) {
				t.Errorf("connection %d: %s differs between conns --json and explain --json:\n%v\n%v", c.ID, k, line[k], ex[k])
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	if split == 0 {
		t.Error("no connection of the corpus split into conn.log rows: the rows are not checked")
	}
}

type checker struct {
	t     *testing.T
	where string
}

func (ch *checker) fail(path, format string, a ...any) {
	ch.t.Helper()
	ch.t.Errorf("%s, %s: %s", ch.where, path, fmt.Sprintf(format, a...))
}

// decode reads line, which must be one JSON object and a newline.
func (ch *checker) decode(line []byte) map[string]any {
	ch.t.Helper()
	if !bytes.HasSuffix(line, []byte("}\n")) || bytes.Count(line, []byte("\n")) != 1 {
		ch.t.Fatalf("%s: not one line ending in }: %q", ch.where, line)
	}
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		ch.t.Fatalf("%s: %v: %s", ch.where, err, line)
	}
	if d.More() {
		ch.t.Fatalf("%s: more than one value: %s", ch.where, line)
	}
	return m
}

// keys checks that m has every key of required, the keys of optional
// whose flag is set, and no other.
func (ch *checker) keys(m map[string]any, path string, required []string, optional map[string]bool) {
	ch.t.Helper()
	for _, k := range required {
		if _, ok := m[k]; !ok {
			ch.fail(path, "no key %q", k)
		}
	}
	for k, want := range optional {
		if _, ok := m[k]; ok != want {
			ch.fail(path, "key %q present %v, want %v", k, ok, want)
		}
	}
	for k := range m {
		if _, ok := optional[k]; !ok && !slices.Contains(required, k) {
			ch.fail(path, "unexpected key %q", k)
		}
	}
}

func (ch *checker) obj(v any, path string) map[string]any {
	ch.t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		ch.fail(path, "%v is not an object", v)
	}
	return m
}

func (ch *checker) arr(v any, path string, n int) []any {
	ch.t.Helper()
	a, ok := v.([]any)
	if !ok || len(a) != n {
		ch.fail(path, "%v is not an array of %d", v, n)
		return make([]any, n)
	}
	return a
}

// uint checks an unsigned integer: its text must parse back to want.
func (ch *checker) uint(m map[string]any, key string, want uint64) {
	ch.t.Helper()
	n, ok := m[key].(json.Number)
	if got, err := strconv.ParseUint(string(n), 10, 64); !ok || err != nil || got != want {
		ch.fail(key, "%v, want %d", m[key], want)
	}
}

func (ch *checker) int(m map[string]any, key string, want int64) {
	ch.t.Helper()
	n, ok := m[key].(json.Number)
	if got, err := strconv.ParseInt(string(n), 10, 64); !ok || err != nil || got != want {
		ch.fail(key, "%v, want %d", m[key], want)
	}
}

// intOmit checks an integer field left out when zero.
func (ch *checker) intOmit(m map[string]any, key string, want int64) {
	ch.t.Helper()
	if want == 0 {
		if _, ok := m[key]; ok {
			ch.fail(key, "present, want it left out for 0")
		}
		return
	}
	ch.int(m, key, want)
}

// secs checks a time in seconds: it must be within half a microsecond
// of want nanoseconds.
func (ch *checker) secs(m map[string]any, key string, want int64) {
	ch.t.Helper()
	n, ok := m[key].(json.Number)
	r, rok := new(big.Rat).SetString(string(n))
	if !ok || !rok {
		ch.fail(key, "%v is not a number", m[key])
		return
	}
	diff := new(big.Rat).Sub(new(big.Rat).Mul(r, big.NewRat(1e9, 1)), new(big.Rat).SetInt64(want))
	if diff.Abs(diff).Cmp(big.NewRat(500, 1)) > 0 {
		ch.fail(key, "%v s, want %d ns", n, want)
	}
}

// str checks a string; invalid UTF-8 reads back as U+FFFD, a byte each.
func (ch *checker) str(m map[string]any, key, want string) {
	ch.t.Helper()
	if got, ok := m[key].(string); !ok || got != string([]rune(want)) {
		ch.fail(key, "%q, want %q", m[key], want)
	}
}

func (ch *checker) boolean(m map[string]any, key string, want bool) {
	ch.t.Helper()
	if got, ok := m[key].(bool); !ok || got != want {
		ch.fail(key, "%v, want %v", m[key], want)
	}
}

// isn checks an initial sequence number, null when not seen.
func (ch *checker) isn(m map[string]any, key string, e *tcpstate.Endpoint) {
	ch.t.Helper()
	if !e.HasISN {
		if v, ok := m[key]; !ok || v != nil {
			ch.fail(key, "%v, want null", v)
		}
		return
	}
	ch.uint(m, key, uint64(e.ISN))
}

// connLine checks the line of c's row'th conn.log row; rows holds its
// earlier rows (zeekconn.Earlier) and the last.
func (ch *checker) connLine(m map[string]any, c *tcpstate.Conn, row int, rows []zeekconn.Record) {
	ch.keys(m, "line", []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
		"duration", "orig_bytes", "resp_bytes", "conn_state", "history", "missed_bytes", "orig_pkts",
		"orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "id", "role", "client", "server", "client_final",
		"server_final", "end", "completeness", "handshake", "teardown", "anomalies"},
		map[string]bool{"port_reuse": c.Reuse.Prev != 0})
	z := rows[row]
	if row == len(rows)-1 {
		var ok bool
		if z, ok = zeekconn.Fields(c); !ok {
			z = zeekconn.Record{TS: c.First.Time, Orig: c.Client.AddrPort(), Resp: c.Server.AddrPort(), Duration: int64(c.Duration()),
				OrigBytes: c.Client.Bytes, RespBytes: c.Server.Bytes, OrigPkts: c.Client.Pkts, RespPkts: c.Server.Pkts,
				OrigIPBytes: c.Client.IPBytes, RespIPBytes: c.Server.IPBytes}
		}
	}
	if row == 0 && z.TS != c.First.Time {
		ch.fail("ts", "first row starts at %d, the connection at %d", z.TS, c.First.Time)
	}
	orig, resp := z.Orig, z.Resp
	ch.secs(m, "ts", z.TS)
	ch.str(m, "uid", string(c.AppendRowUID(nil, row)))
	ch.str(m, "id.orig_h", orig.Addr().String())
	ch.uint(m, "id.orig_p", uint64(orig.Port()))
	ch.str(m, "id.resp_h", resp.Addr().String())
	ch.uint(m, "id.resp_p", uint64(resp.Port()))
	ch.str(m, "proto", "tcp")
	ch.secs(m, "duration", z.Duration)
	ch.uint(m, "orig_bytes", z.OrigBytes)
	ch.uint(m, "resp_bytes", z.RespBytes)
	ch.str(m, "conn_state", z.ConnState)
	ch.str(m, "history", z.History)
	ch.uint(m, "missed_bytes", z.MissedBytes)
	ch.uint(m, "orig_pkts", z.OrigPkts)
	ch.uint(m, "orig_ip_bytes", z.OrigIPBytes)
	ch.uint(m, "resp_pkts", z.RespPkts)
	ch.uint(m, "resp_ip_bytes", z.RespIPBytes)
	ch.uint(m, "id", c.ID)
	ch.str(m, "role", c.Role.String())
	ch.endpoint(ch.obj(m["client"], "client"), &c.Client)
	ch.endpoint(ch.obj(m["server"], "server"), &c.Server)
	ch.str(m, "client_final", c.Client.State.String())
	ch.str(m, "server_final", c.Server.State.String())
	ch.str(m, "end", c.End.String())
	ch.uint(m, "completeness", uint64(c.Completeness()))
	ch.analysis(m, c)
}

func (ch *checker) explainLine(m map[string]any, c *tcpstate.Conn) {
	ch.keys(m, "line", []string{"id", "uid", "conn_state", "history", "completeness", "role", "end",
		"client", "server", "handshake", "teardown", "anomalies", "segments"},
		map[string]bool{"port_reuse": c.Reuse.Prev != 0})
	ch.uint(m, "id", c.ID)
	ch.str(m, "uid", c.UID())
	z, _ := zeekconn.Fields(c)
	ch.str(m, "conn_state", z.ConnState)
	ch.str(m, "history", z.History)
	ch.uint(m, "completeness", uint64(c.Completeness()))
	ch.str(m, "role", c.Role.String())
	ch.str(m, "end", c.End.String())
	ch.endpoint(ch.obj(m["client"], "client"), &c.Client)
	ch.endpoint(ch.obj(m["server"], "server"), &c.Server)
	ch.analysis(m, c)
	for i, v := range ch.arr(m["segments"], "segments", len(c.Segments)) {
		ch.segment(ch.obj(v, "segment"), &c.Segments[i])
	}
}

func (ch *checker) endpoint(m map[string]any, e *tcpstate.Endpoint) {
	ch.keys(m, "endpoint", []string{"addr", "port", "isn", "initial", "final", "transitions", "bytes", "pkts"},
		map[string]bool{"options": e.Options.Seen})
	ch.str(m, "addr", e.Addr.String())
	ch.uint(m, "port", uint64(e.Port))
	ch.isn(m, "isn", e)
	ch.str(m, "initial", e.Initial.String())
	ch.str(m, "final", e.State.String())
	ch.transitions(m["transitions"], e.Transitions)
	ch.uint(m, "bytes", e.Bytes)
	ch.uint(m, "pkts", e.Pkts)
	if e.Options.Seen {
		ch.options(ch.obj(m["options"], "options"), e)
	}
}

func (ch *checker) transitions(v any, ts []tcpstate.Transition) {
	for i, v := range ch.arr(v, "transitions", len(ts)) {
		tr, want := ch.obj(v, "transition"), ts[i]
		ch.keys(tr, "transition", []string{"t", "seg", "from", "to"}, map[string]bool{"inferred": want.Inferred})
		ch.secs(tr, "t", want.Time)
		ch.int(tr, "seg", int64(want.Seg))
		ch.str(tr, "from", want.From.String())
		ch.str(tr, "to", want.To.String())
		if want.Inferred {
			ch.boolean(tr, "inferred", true)
		}
	}
}

// readings checks the readings of a close the capture cannot decide:
// the first is the connection's own states, the second Other.
func (ch *checker) readings(m map[string]any, c *tcpstate.Conn) {
	r := c.Teardown.Readings
	first := tcpstate.Reading{Initiator: c.Teardown.Initiator,
		Client: tcpstate.ReadingEnd{Initial: c.Client.Initial, Final: c.Client.State, Transitions: c.Client.Transitions},
		Server: tcpstate.ReadingEnd{Initial: c.Server.Initial, Final: c.Server.State, Transitions: c.Server.Transitions}}
	for i, v := range ch.arr(m["readings"], "readings", 2) {
		want := [2]*tcpstate.Reading{&first, &r.Other}[i]
		rd := ch.obj(v, "reading")
		ch.keys(rd, "reading", []string{"rank", "initiator", "client", "server"}, nil)
		ch.int(rd, "rank", int64(i+1))
		ch.str(rd, "initiator", want.Initiator.String())
		for key, end := range map[string]*tcpstate.ReadingEnd{"client": &want.Client, "server": &want.Server} {
			e := ch.obj(rd[key], key)
			ch.keys(e, key, []string{"initial", "final", "transitions"}, nil)
			ch.str(e, "initial", end.Initial.String())
			ch.str(e, "final", end.Final.String())
			ch.transitions(e["transitions"], end.Transitions)
		}
	}
	for i, v := range ch.arr(m["clues"], "clues", len(r.Clues)) {
		want := r.Clues[i]
		cl := ch.obj(v, "clue")
		echo := want.Kind == tcpstate.ClueEcho
		ch.keys(cl, "clue", []string{"clue", "seg", "favours"}, map[string]bool{"reply_seg": echo, "ecr": echo, "val": echo, "ticks": echo})
		ch.str(cl, "clue", want.Kind.String())
		ch.int(cl, "seg", int64(want.Seg))
		rank := 0
		if want.Favours == first.Initiator {
			rank = 1
		} else if want.Favours == r.Other.Initiator {
			rank = 2
		}
		ch.int(cl, "favours", int64(rank))
		if echo {
			ch.int(cl, "reply_seg", int64(want.Reply))
			ch.uint(cl, "ecr", uint64(want.Ecr))
			ch.uint(cl, "val", uint64(want.Val))
			ch.uint(cl, "ticks", uint64(want.Ticks()))
		}
	}
}

func (ch *checker) options(m map[string]any, e *tcpstate.Endpoint) {
	o := &e.Options
	ch.keys(m, "options", []string{"window", "effective_shift", "sack", "timestamps"},
		map[string]bool{"mss": o.MSS != 0, "wscale": o.WScale >= 0, "tfo": o.TFO, "tfo_cookie_len": o.TFOCookie != 0, "syn_data": o.TFOData != 0})
	ch.uint(m, "window", uint64(o.Window))
	ch.intOmit(m, "mss", int64(o.MSS))
	if o.WScale >= 0 {
		ch.int(m, "wscale", int64(o.WScale))
	}
	ch.uint(m, "effective_shift", uint64(e.Shift))
	ch.boolean(m, "sack", o.SACK)
	ch.boolean(m, "timestamps", o.Timestamps)
	ch.intOmit(m, "tfo_cookie_len", int64(o.TFOCookie))
	ch.intOmit(m, "syn_data", int64(o.TFOData))
}

// analysis checks the fields both lines end with.
func (ch *checker) analysis(line map[string]any, c *tcpstate.Conn) {
	h := &c.Handshake
	m := ch.obj(line["handshake"], "handshake")
	synACK := h.SYN.Seen() && h.SYNACK.Seen()
	ch.keys(m, "handshake", []string{"complete", "client_isn", "server_isn", "window_scaling", "sack", "timestamps"},
		map[string]bool{"syn": h.SYN.Seg != 0, "syn_ack": h.SYNACK.Seg != 0, "ack": h.ACK.Seg != 0,
			"syn_ack_ack": h.SYNACK.Seen() && c.Client.HasISN, "ack_ack": h.ACK.Seen() && c.Server.HasISN,
			"ack_seq": h.ACK.Seen() && c.Client.HasISN, "simultaneous": h.Simultaneous, "refused": h.Refused,
			"rejected": h.Rejected, "rtt": synACK && h.ACK.Seen(), "rtt_syn_to_syn_ack": synACK,
			"rtt_syn_ack_to_ack": synACK && h.ACK.Seen(), "syn_retransmits": len(h.SYNRetransmits) > 0,
			"syn_ack_retransmits": len(h.SYNACKRetransmits) > 0, "client_options": c.Client.Options.Seen,
			"server_options": c.Server.Options.Seen, "tfo": h.TFO, "mss": h.MSS != 0})
	ch.boolean(m, "complete", h.Complete)
	ch.intOmit(m, "syn", int64(h.SYN.Seg))
	ch.intOmit(m, "syn_ack", int64(h.SYNACK.Seg))
	ch.intOmit(m, "ack", int64(h.ACK.Seg))
	ch.isn(m, "client_isn", &c.Client)
	ch.isn(m, "server_isn", &c.Server)
	check := func(key string, got, want uint32, ok bool) {
		if _, there := m[key]; !there {
			return
		}
		v := ch.obj(m[key], key)
		ch.keys(v, key, []string{"got", "want", "ok"}, nil)
		ch.uint(v, "got", uint64(got))
		ch.uint(v, "want", uint64(want))
		ch.boolean(v, "ok", ok)
	}
	check("syn_ack_ack", h.SYNACKAck, c.Client.ISN+1, h.SYNACKAck == c.Client.ISN+1)
	check("ack_ack", h.ACKAck, c.Server.ISN+1, h.ACKAckOK)
	check("ack_seq", h.ACKSeq, c.Client.ISN+1, h.ACKSeqOK)
	if synACK {
		ch.secs(m, "rtt_syn_to_syn_ack", int64(h.ServerRTT))
		if h.ACK.Seen() {
			ch.secs(m, "rtt", int64(h.RTT()))
			ch.secs(m, "rtt_syn_ack_to_ack", int64(h.ClientRTT))
		}
	}
	for key, rs := range map[string][]tcpstate.Retransmit{"syn_retransmits": h.SYNRetransmits, "syn_ack_retransmits": h.SYNACKRetransmits} {
		if len(rs) == 0 {
			continue
		}
		for i, v := range ch.arr(m[key], key, len(rs)) {
			r := ch.obj(v, key)
			ch.keys(r, key, []string{"seg", "t", "since"}, nil)
			ch.int(r, "seg", int64(rs[i].Seg))
			ch.secs(r, "t", rs[i].Time)
			ch.secs(r, "since", int64(rs[i].Since))
		}
	}
	if c.Client.Options.Seen {
		ch.options(ch.obj(m["client_options"], "client_options"), &c.Client)
	}
	if c.Server.Options.Seen {
		ch.options(ch.obj(m["server_options"], "server_options"), &c.Server)
	}
	ch.boolean(m, "window_scaling", h.WindowScaling)
	ch.boolean(m, "sack", h.SACK)
	ch.boolean(m, "timestamps", h.Timestamps)
	ch.intOmit(m, "mss", int64(h.MSS))

	td := &c.Teardown
	m = ch.obj(line["teardown"], "teardown")
	ch.keys(m, "teardown", []string{"pattern", "initiator", "missing"},
		map[string]bool{"client_fin": td.ClientFIN.Seen(), "server_fin": td.ServerFIN.Seen(), "rst": td.RST.Seen(),
			"half_close_bytes": td.HalfCloseBytes != 0, "lost_last_ack": td.LostLastACK,
			"time_wait": td.TimeWait.Side != tcpstate.SideNone, "readings": td.Readings != nil, "clues": td.Readings != nil})
	if td.Readings != nil {
		ch.readings(m, c)
	}
	ch.str(m, "pattern", td.Pattern.String())
	ch.str(m, "initiator", td.Initiator.String())
	for key, f := range map[string]*tcpstate.FIN{"client_fin": &td.ClientFIN, "server_fin": &td.ServerFIN} {
		if !f.Seen() {
			continue
		}
		v := ch.obj(m[key], key)
		ch.keys(v, key, []string{"seg", "t", "seq", "ack_ok"},
			map[string]bool{"ack_seg": f.Ack.Seg != 0, "piggybacked": f.Piggybacked, "retransmits": f.Retransmits != 0})
		ch.int(v, "seg", int64(f.Seg))
		ch.secs(v, "t", f.Time)
		ch.uint(v, "seq", uint64(f.Seq))
		ch.intOmit(v, "ack_seg", int64(f.Ack.Seg))
		ch.boolean(v, "ack_ok", f.AckOK)
		ch.intOmit(v, "retransmits", int64(f.Retransmits))
	}
	if r := &td.RST; r.Seen() {
		v := ch.obj(m["rst"], "rst")
		ch.keys(v, "rst", []string{"seg", "t", "from", "after_fin", "count"}, nil)
		ch.int(v, "seg", int64(r.Seg))
		ch.secs(v, "t", r.Time)
		ch.str(v, "from", r.From.String())
		ch.boolean(v, "after_fin", r.AfterFIN)
		ch.int(v, "count", int64(r.Count))
	}
	if td.HalfCloseBytes != 0 {
		ch.uint(m, "half_close_bytes", td.HalfCloseBytes)
	}
	if tw := td.TimeWait; tw.Side != tcpstate.SideNone {
		v := ch.obj(m["time_wait"], "time_wait")
		ch.keys(v, "time_wait", []string{"side", "since", "until", "duration", "expired"}, map[string]bool{"held": tw.Held})
		ch.str(v, "side", tw.Side.String())
		ch.secs(v, "since", tw.Start)
		ch.secs(v, "until", tw.Until())
		ch.secs(v, "duration", int64(tw.Duration))
		ch.boolean(v, "expired", tw.Expired)
	}
	names := td.Missing.Names()
	for i, v := range ch.arr(m["missing"], "missing", len(names)) {
		if v != names[i] {
			ch.fail("missing", "%v, want %v", m["missing"], names)
		}
	}

	list := c.Anomalies.List()
	for i, v := range ch.arr(line["anomalies"], "anomalies", len(list)) {
		a := ch.obj(v, "anomaly")
		ch.keys(a, "anomaly", []string{"name", "count", "first_seg"}, nil)
		ch.str(a, "name", list[i].Anomaly.String())
		ch.int(a, "count", int64(list[i].Count))
		ch.int(a, "first_seg", int64(list[i].First))
	}
	if r := &c.Reuse; r.Prev != 0 {
		v := ch.obj(line["port_reuse"], "port_reuse")
		ch.keys(v, "port_reuse", []string{"prev_id", "gap", "within_2msl"}, nil)
		ch.uint(v, "prev_id", r.Prev)
		ch.secs(v, "gap", int64(r.Gap))
		ch.boolean(v, "within_2msl", r.Within2MSL)
	}
}

func (ch *checker) segment(m map[string]any, s *tcpstate.Segment) {
	ch.keys(m, "segment", []string{"seg", "t", "dir", "flags", "seq", "ack", "rel_seq", "rel_ack", "len", "win",
		"win_scaled", "phase", "note", "anomalies", "client_state", "server_state"},
		map[string]bool{"args": len(s.Args) > 0})
	ch.int(m, "seg", int64(s.Index))
	ch.secs(m, "t", s.Time)
	ch.str(m, "dir", s.Dir.String())
	ch.str(m, "flags", s.Flags.String())
	ch.uint(m, "seq", uint64(s.Seq))
	ch.uint(m, "ack", uint64(s.Ack))
	ch.uint(m, "rel_seq", uint64(s.RelSeq))
	ch.uint(m, "rel_ack", uint64(s.RelAck))
	ch.int(m, "len", int64(s.Len))
	ch.uint(m, "win", uint64(s.Window))
	ch.uint(m, "win_scaled", uint64(s.WindowScaled))
	ch.str(m, "phase", s.Phase.String())
	ch.str(m, "note", string(s.Note))
	if len(s.Args) > 0 {
		args := ch.obj(m["args"], "args")
		want := map[string]int64{} // the last value of a name counts
		for _, a := range s.Args {
			want[a.Key] = a.Val
		}
		if len(args) != len(want) {
			ch.fail("args", "%v, want %v", args, want)
		}
		for k, v := range want {
			ch.int(args, k, v)
		}
	}
	list := s.Anomalies.List()
	for i, v := range ch.arr(m["anomalies"], "anomalies", len(list)) {
		if v != list[i].String() {
			ch.fail("anomalies", "%v, want %v", m["anomalies"], list)
		}
	}
	ch.str(m, "client_state", s.Client.String())
	ch.str(m, "server_state", s.Server.String())
}
