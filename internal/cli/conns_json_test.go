package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/gen"
	"synfin/input"
	"synfin/internal/corpus"
	"synfin/tcpstate"
	"synfin/wire"
	"synfin/zeekconn"
)

// connJSON is a connection in conn.log terms plus synfin's own fields.
type connJSON struct {
	TS           secs       `json:"ts"`
	UID          string     `json:"uid"`
	OrigH        string     `json:"id.orig_h"`
	OrigP        uint16     `json:"id.orig_p"`
	RespH        string     `json:"id.resp_h"`
	RespP        uint16     `json:"id.resp_p"`
	Proto        string     `json:"proto"`
	Duration     secs       `json:"duration"`
	OrigBytes    uint64     `json:"orig_bytes"`
	RespBytes    uint64     `json:"resp_bytes"`
	ConnState    string     `json:"conn_state"`
	History      string     `json:"history"`
	MissedBytes  uint64     `json:"missed_bytes"`
	OrigPkts     uint64     `json:"orig_pkts"`
	OrigIPBytes  uint64     `json:"orig_ip_bytes"`
	RespPkts     uint64     `json:"resp_pkts"`
	RespIPBytes  uint64     `json:"resp_ip_bytes"`
	ID           uint64     `json:"id"`
	Role         string     `json:"role"`
	Client       string     `json:"client"`
	Server       string     `json:"server"`
	ClientFinal  string     `json:"client_final"`
	ServerFinal  string     `json:"server_final"`
	End          string     `json:"end"`
	Completeness uint8      `json:"completeness"`
	Handshake    hsJSON     `json:"handshake"`
	Teardown     tdJSON     `json:"teardown"`
	Anomalies    []anJSON   `json:"anomalies"`
	Reuse        *reuseJSON `json:"port_reuse,omitempty"`
}

// appendConnJSONStd is appendConnJSON as encoding/json prints the structs:
// the reference the hand-written appender is held to.
func appendConnJSONStd(b []byte, c *tcpstate.Conn) []byte {
	z, ok := zeekconn.Fields(c)
	j := connJSON{
		TS: secs(c.First.Time), UID: c.UID(),
		OrigH: c.Client.Addr.String(), OrigP: c.Client.Port,
		RespH: c.Server.Addr.String(), RespP: c.Server.Port,
		Proto: "tcp", Duration: secs(c.Duration()),
		OrigBytes: c.Client.Bytes, RespBytes: c.Server.Bytes,
		ConnState: z.ConnState, History: z.History, MissedBytes: z.MissedBytes,
		OrigPkts: c.Client.Pkts, OrigIPBytes: c.Client.IPBytes,
		RespPkts: c.Server.Pkts, RespIPBytes: c.Server.IPBytes,
		ID: c.ID, Role: c.Role.String(),
		Client: c.Client.AddrPort().String(), Server: c.Server.AddrPort().String(),
		ClientFinal: c.Client.State.String(), ServerFinal: c.Server.State.String(),
		End:          c.End.String(),
		Completeness: c.Completeness(),
		Handshake:    handshakeJSON(c), Teardown: teardownJSON(c), Anomalies: anomaliesJSON(c),
	}
	if ok {
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

// appendConnRowFmt is appendConnRow with fmt, the reference for the
// hand-written one.
func appendConnRowFmt(b []byte, c *tcpstate.Conn) []byte {
	b = fmt.Appendf(b, "%-4d %-39s %-39s %-25s %-18s %12s %21s ",
		c.ID, c.Client.AddrPort(), c.Server.AddrPort(),
		c.Client.State.String()+"/"+c.Server.State.String(),
		c.Teardown.Pattern, formatSecsFmt(int64(c.Duration()), 6),
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

func formatSecsFmt(ns int64, digits int) string {
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

// connsOf tracks a capture and returns clones of its connections.
func connsOf(t *testing.T, data []byte) []*tcpstate.Conn {
	t.Helper()
	var conns []*tcpstate.Conn
	src, err := input.FromReader(bytes.NewReader(data), input.Options{})
	if err != nil {
		return nil
	}
	env := &Env{Ctx: context.Background()}
	trackSource(env, src, "", tcpstate.Config{Observer: zeekObservers(), Done: func(c *tcpstate.Conn) { conns = append(conns, c.Clone()) }})
	return conns
}

// fixedRecord is an observer with the conn.log fields it is given.
type fixedRecord zeekconn.Record

func (fixedRecord) Segment(int64, bool, bool, *wire.Packet) {}
func (r fixedRecord) Clone() tcpstate.Observer              { return r }
func (r fixedRecord) Record() zeekconn.Record               { return zeekconn.Record(r) }

// oddConns are connections no capture here has: every optional field set,
// extreme numbers, negative durations, missing addresses.
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
	c.Client.Options = tcpstate.Options{Seen: true, Window: 65535, MSS: 1, WScale: 14, SACK: true, Timestamps: true, TFO: true, TFOCookie: 8, TFOData: -3}
	c.Server.Options = tcpstate.Options{Seen: true, WScale: -1}
	c.Client.Shift = 14
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
	td.TimeWait = tcpstate.TimeWaitHold{Side: tcpstate.SideBoth, Start: 1, Duration: 60e9, Expired: true}
	td.Missing = 1<<8 - 1
	for a := range c.Anomalies {
		c.Anomalies[a].Count, c.Anomalies[a].First = a%3, a
	}
	c.Reuse = tcpstate.Reuse{Prev: 6, Gap: -2, Within2MSL: true}
	c.Observer = fixedRecord{ConnState: "S0\"<&>\u2028", History: "^ShAdDaFf\x01\xff",
		Orig: netip.MustParseAddrPort("[::1]:1"), OrigBytes: 1, RespBytes: 2, OrigPkts: 3, RespPkts: 4,
		OrigIPBytes: 5, RespIPBytes: 6, MissedBytes: 1 << 40}
	cs = append(cs, c)
	return cs
}

// TestConnRenderers holds the hand-written table row and JSON line to
// fmt and encoding/json over a generated workload, the corpus captures
// and odd connections.
func TestConnRenderers(t *testing.T) {
	var pcap bytes.Buffer
	if _, err := gen.Write(&pcap, gen.Config{Conns: 3000, Seed: 3, Rate: 300}); err != nil {
		t.Fatal(err)
	}
	conns := connsOf(t, pcap.Bytes())
	for _, sub := range []string{"zeek", "tcpdump", "other"} {
		filepath.WalkDir(corpus.Dir(t, sub), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if b, err := os.ReadFile(path); err == nil {
				conns = append(conns, connsOf(t, b)...)
			}
			return nil
		})
	}
	conns = append(conns, oddConns()...)
	if len(conns) < 3000 {
		t.Fatalf("only %d connections", len(conns))
	}
	for _, c := range conns {
		if d := cmp.Diff(string(appendConnJSONStd(nil, c)), string(appendConnJSON(nil, c))); d != "" {
			t.Fatalf("connection %d, JSON (-encoding/json +hand-written):\n%s", c.ID, d)
		}
		var brief tcpstate.Brief
		c.Brief(&brief)
		if d := cmp.Diff(string(appendConnRowFmt(nil, c)), string(appendConnRow(nil, &brief))); d != "" {
			t.Fatalf("connection %d, row (-fmt +hand-written):\n%s", c.ID, d)
		}
		var v map[string]any
		if err := json.Unmarshal(appendConnJSON(nil, c), &v); err != nil {
			t.Fatalf("connection %d: %v", c.ID, err)
		}
	}
}
