package conn

import (
	"bytes"
	"net/netip"
	"os"
	"testing"

	"synfin/gen"
	"synfin/input"
	"synfin/internal/corpus"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
	"synfin/zeekconn"
)

// trackPcap returns clones of the connections of capture data, with their
// segments and the observers obs makes (none if nil).
func trackPcap(t testing.TB, data []byte, obs func() tcpstate.Observer) []*tcpstate.Conn {
	t.Helper()
	src, err := input.FromReader(bytes.NewReader(data), input.Options{})
	if err != nil {
		return nil // not a capture
	}
	var conns []*tcpstate.Conn
	tr := track.New(track.Config{Segments: true, Observer: obs, Done: func(c *tcpstate.Conn) { conns = append(conns, c.Clone()) }})
	var f wire.Frame
	// A damaged capture ends at its damage; what came before counts.
	for src.Next(&f) == nil {
		tr.Frame(&f)
	}
	tr.Flush()
	return conns
}

// generated is the connections of a generated workload: every teardown
// pattern, retransmissions, port reuse, IPv4 and IPv6.
func generated(t testing.TB, conns int) []*tcpstate.Conn {
	t.Helper()
	var pcap bytes.Buffer
	if _, err := gen.Write(&pcap, gen.Config{Conns: conns, Seed: 3, Rate: 300}); err != nil {
		t.Fatal(err)
	}
	return trackPcap(t, pcap.Bytes(), nil)
}

// corpusConns is the connections of every capture of the corpus, with
// conn.log's fields as conns --json has them: Zeek's, in rows its timers
// split.
func corpusConns(t testing.TB) []*tcpstate.Conn {
	t.Helper()
	obs := zeekconn.Observer(&zeekconn.Config{LikelyServerPorts: zeekconn.DefaultServerPorts(), SplitRows: true})
	var conns []*tcpstate.Conn
	for _, file := range corpus.Captures(t, ".pcap", ".pcapng") {
		if b, err := os.ReadFile(file); err == nil {
			conns = append(conns, trackPcap(t, b, obs)...)
		}
	}
	if b, err := os.ReadFile(corpus.Seed(t, "capture.txt")); err == nil {
		conns = append(conns, trackPcap(t, b, obs)...)
	}
	return conns
}

// oddConns are connections no capture here has: every optional field set,
// extreme numbers, negative durations, missing addresses, strings JSON
// must escape, a segment whose note repeats an argument.
func oddConns() []*tcpstate.Conn {
	var cs []*tcpstate.Conn
	c := &tcpstate.Conn{ID: 1<<64 - 1, Pkts: 3}
	c.First.Time, c.Last.Time = 5e9, 1e9 // negative duration
	cs = append(cs, c)

	c = &tcpstate.Conn{ID: 7, Role: tcpstate.RolePort, End: tcpstate.EndEvicted}
	c.Client.Addr, c.Client.Port = netip.MustParseAddr("2001:db8::1"), 65535
	c.Server.Addr = netip.MustParseAddr("fe80::1%eth0")
	c.Client.HasISN, c.Client.ISN = true, 1<<32-1
	c.Server.HasISN = true
	c.Client.Bytes, c.Server.Bytes = 1<<64-1, 12345678901234
	c.Client.Pkts, c.Server.IPBytes = 1<<63, 1<<53+1 // beyond a float64's integers
	c.Client.Options = tcpstate.Options{Seen: true, Window: 65535, MSS: 1, WScale: 14, SACK: true, Timestamps: true, TFO: true, TFOCookie: 8, TFOData: -3}
	c.Server.Options = tcpstate.Options{Seen: true, WScale: -1}
	c.Client.Shift = 14
	c.Client.Transitions = []tcpstate.Transition{{Time: -1, Seg: 1, From: tcpstate.Closed, To: tcpstate.SynSent}}
	h := &c.Handshake
	h.SYN, h.SYNACK, h.ACK = tcpstate.SegRef{Seg: 1, Time: 1}, tcpstate.SegRef{Seg: 2, Time: 2}, tcpstate.SegRef{Seg: 3, Time: 999999999999}
	h.SYNACKAck, h.ACKAck, h.ACKSeq = 5, 6, 7
	h.ACKAckOK, h.Simultaneous, h.Refused, h.TFO, h.MSS = true, true, true, true, 9
	h.ServerRTT, h.ClientRTT = -1500, 1<<62
	h.SYNRetransmits = []tcpstate.Retransmit{{Seg: 4, Time: -7, Since: 499}, {Seg: 5, Time: 1e18, Since: 500}}
	h.SYNACKRetransmits = []tcpstate.Retransmit{{Seg: 6, Time: 1, Since: 1}}
	td := &c.Teardown
	td.Pattern, td.Initiator = tcpstate.PatternHalfClose, tcpstate.SideBoth
	td.ClientFIN = tcpstate.FIN{SegRef: tcpstate.SegRef{Seg: 8, Time: 3}, Seq: 1, Retransmits: 2, Ack: tcpstate.SegRef{Seg: 9}, AckOK: true, Piggybacked: true}
	td.ServerFIN = tcpstate.FIN{SegRef: tcpstate.SegRef{Seg: 10, Time: 4}}
	td.RST = tcpstate.RST{SegRef: tcpstate.SegRef{Seg: 11, Time: 5}, From: tcpstate.SideServer, AfterFIN: true, Count: 3}
	td.HalfCloseBytes, td.LostLastACK = 77, true
	td.TimeWait = tcpstate.TimeWaitHold{Side: tcpstate.SideBoth, Start: 1, Duration: 60e9, Expired: true, Held: true}
	td.Missing = 1<<8 - 1
	for a := range c.Anomalies {
		c.Anomalies[a].Count, c.Anomalies[a].First = a%3, a
	}
	c.Reuse = tcpstate.Reuse{Prev: 6, Gap: -2, Within2MSL: true}
	c.Observer = fixedRecord{ConnState: "S0\"<&>\u2028", History: "^ShAdDaFf\x01\xff",
		Orig: netip.MustParseAddrPort("[::1]:1"), OrigBytes: 1, RespBytes: 2, OrigPkts: 3, RespPkts: 4,
		OrigIPBytes: 5, RespIPBytes: 6, MissedBytes: 1 << 40}
	c.Segments = []tcpstate.Segment{
		{Index: 3, Time: -1500, Note: `odd "note"`, Args: []tcpstate.Arg{{Key: "n", Val: 1}, {Key: "ack", Val: -5}, {Key: "n", Val: 2}}, Anomalies: 1<<tcpstate.NumAnomalies - 1},
		{Index: 4, Time: 1 << 62, Seq: 1<<32 - 1, Len: -1, Window: 65535, WindowScaled: 1<<32 - 1},
	}
	cs = append(cs, c)

	c = &tcpstate.Conn{ID: 8}
	c.Client.Addr = netip.MustParseAddr("fe80::2").WithZone(`a"b\c<`) // a zone JSON must escape
	c.Server.Addr = netip.MustParseAddr("192.0.2.1")
	cs = append(cs, c)
	return cs
}

// fixedRecord is an observer with the conn.log fields it is given.
type fixedRecord zeekconn.Record

func (fixedRecord) Segment(int64, bool, bool, *wire.Packet) {}
func (r fixedRecord) Clone() tcpstate.Observer              { return r }
func (r fixedRecord) Record() zeekconn.Record               { return zeekconn.Record(r) }
