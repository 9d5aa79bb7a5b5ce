package zeekconn

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// The conn_state values as Zeek's conn.log documentation describes them,
// from the endpoint states its scripts look at.
func TestConnStateRules(t *testing.T) {
	tests := []struct {
		doc        string
		orig, resp EndpointState
		os, rs     uint64
		history    string
		want       string
	}{
		{"S0: connection attempt seen, no reply", SynSent, Inactive, 0, 0, "S", "S0"},
		{"S1: established, not terminated", Established, Established, 10, 20, "ShADad", "S1"},
		{"SF: normal establishment and termination", Closed, Closed, 10, 20, "ShADadFf", "SF"},
		{"REJ: connection attempt rejected", SynSent, Reset, 0, 0, "Sr", "REJ"},
		{"REJ: both reset, nothing sent", Reset, Reset, 0, 0, "SrR", "REJ"},
		{"S2: established, originator close attempt, no reply", Closed, Established, 1, 1, "ShADadF", "S2"},
		{"S3: established, responder close attempt, no reply", Established, Closed, 1, 1, "ShADadf", "S3"},
		{"RSTO: established, originator aborted", Reset, Established, 1, 1, "ShADadR", "RSTO"},
		{"RSTR: responder sent a RST", Established, Reset, 1, 1, "ShADadr", "RSTR"},
		{"RSTOS0: originator SYN then RST, no SYN-ACK", Reset, Inactive, 0, 0, "SR", "RSTOS0"},
		{"RSTOS0 after a flip", Reset, Inactive, 0, 0, "^SR", "RSTOS0"},
		{"originator RST without its SYN is OTH", Reset, Inactive, 0, 0, "R", "OTH"},
		{"originator RST after an ack is OTH", Reset, Inactive, 0, 0, "SaFR", "OTH"},
		{"RSTRH: responder SYN-ACK then RST, no SYN", Inactive, Reset, 0, 0, "^hr", "RSTRH"},
		{"SH: originator SYN then FIN, no SYN-ACK", Closed, Inactive, 0, 0, "SF", "SH"},
		{"SHR: responder SYN-ACK then FIN, no SYN", Inactive, Closed, 0, 0, "^hf", "SHR"},
		{"OTH: midstream traffic", Partial, Partial, 5, 5, "Dd", "OTH"},
		{"OTH: originator SYN-ACK only", SynAckSent, Inactive, 0, 0, "H", "OTH"},
	}
	for _, tc := range tests {
		if got := ConnState(tc.orig, tc.resp, tc.os, tc.rs, tc.history); got != tc.want {
			t.Errorf("%s: ConnState(%v, %v, %d, %d, %q) = %s, want %s", tc.doc, tc.orig, tc.resp, tc.os, tc.rs, tc.history, got, tc.want)
		}
	}
}

// seg describes one synthetic segment of a connection between a client
// 10.0.0.1:40000 and a server 10.0.0.2:80.
type seg struct {
	fromClient bool
	flags      wire.Flags
	seq, ack   uint32
	payload    int
	window     uint16
	badSum     bool
}

var (
	client = netip.MustParseAddrPort("10.0.0.1:40000")
	server = netip.MustParseAddrPort("10.0.0.2:80")
)

const (
	cISN = 1000
	sISN = 5000
)

// frame builds a raw IPv4 frame for s with valid checksums (unless badSum).
func frame(s seg) []byte {
	src, dst := client, server
	if !s.fromClient {
		src, dst = server, client
	}
	b := make([]byte, 40+s.payload)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 64
	b[9] = wire.ProtoTCP
	a4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:], a4[:])
	copy(b[16:], d4[:])
	binary.BigEndian.PutUint16(b[10:], ^wire.Checksum(b[:20], 0))
	h := b[20:]
	binary.BigEndian.PutUint16(h[0:], src.Port())
	binary.BigEndian.PutUint16(h[2:], dst.Port())
	binary.BigEndian.PutUint32(h[4:], s.seq)
	binary.BigEndian.PutUint32(h[8:], s.ack)
	h[12] = 5 << 4
	h[13] = byte(s.flags)
	w := s.window
	if w == 0 && s.flags&wire.RST == 0 {
		w = 65535
	}
	if s.window == 1 { // ask for a zero window
		w = 0
	}
	binary.BigEndian.PutUint16(h[14:], w)
	for i := range s.payload {
		h[20+i] = byte(i)
	}
	sumv := ^wire.Checksum(h, wire.PseudoHeaderChecksum(wire.ProtoTCP, b[12:16], b[16:20], len(h)))
	if s.badSum {
		sumv ^= 0xffff
	}
	binary.BigEndian.PutUint16(h[16:], sumv)
	return b
}

// run feeds segs, one millisecond apart, to a tracker with an Observer
// and returns the records of the connections it hands out.
func run(t *testing.T, cfg *Config, segs []seg) []Record {
	t.Helper()
	var out []Record
	tr := track.New(track.Config{Observer: Observer(cfg), Done: func(c *tcpstate.Conn) {
		r, ok := Fields(c)
		if !ok {
			t.Fatalf("connection %d: no conn.log fields", c.ID)
		}
		out = append(out, r)
	}})
	var p wire.Packet
	for i, s := range segs {
		if err := p.Decode(wire.LinkRaw, frame(s)); err != nil {
			t.Fatal(err)
		}
		tr.Packet(i+1, int64(i+1)*1e6, &p)
	}
	tr.Flush()
	return out
}

const (
	S  = wire.SYN
	A  = wire.ACK
	F  = wire.FIN
	R  = wire.RST
	P  = wire.PSH
	SA = wire.SYN | wire.ACK
	FA = wire.FIN | wire.ACK
	PA = wire.PSH | wire.ACK
	RA = wire.RST | wire.ACK
)

// handshake is a complete three-way handshake.
var handshake = []seg{
	{true, S, cISN, 0, 0, 0, false},
	{false, SA, sISN, cISN + 1, 0, 0, false},
	{true, A, cISN + 1, sISN + 1, 0, 0, false},
}

func cat(parts ...[]seg) []seg {
	var out []seg
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Scenarios for each conn_state of Zeek's documentation, plus history
// letters, played through the whole engine.
func TestScenarios(t *testing.T) {
	web := &Config{LikelyServerPorts: new(PortSet)}
	web.LikelyServerPorts.Add(80)
	data := []seg{
		{true, PA, cISN + 1, sISN + 1, 10, 0, false},
		{false, A, sISN + 1, cISN + 11, 0, 0, false},
		{false, PA, sISN + 1, cISN + 11, 20, 0, false},
		{true, A, cISN + 11, sISN + 21, 0, 0, false},
	}
	type want struct {
		State, History             string
		OrigBytes, RespBytes       uint64
		OrigPkts, RespPkts, Missed uint64
		Orig                       netip.AddrPort
	}
	tests := []struct {
		name string
		cfg  *Config
		segs []seg
		want want
	}{
		{"S0", nil, handshake[:1], want{"S0", "S", 0, 0, 1, 0, 0, client}},
		{"S1", nil, cat(handshake, data), want{"S1", "ShADad", 10, 20, 4, 3, 0, client}},
		{"SF", nil, cat(handshake, data, []seg{
			{true, FA, cISN + 11, sISN + 21, 0, 0, false},
			{false, FA, sISN + 21, cISN + 12, 0, 0, false},
			{true, A, cISN + 12, sISN + 22, 0, 0, false},
		}), want{"SF", "ShADadFf", 10, 20, 6, 4, 0, client}},
		{"REJ", nil, []seg{handshake[0], {false, RA, 0, cISN + 1, 0, 0, false}},
			want{"REJ", "Sr", 0, 0, 1, 1, 0, client}},
		{"S2", nil, cat(handshake, data, []seg{{true, FA, cISN + 11, sISN + 21, 0, 0, false}}),
			want{"S2", "ShADadF", 10, 20, 5, 3, 0, client}},
		{"S3", nil, cat(handshake, data, []seg{{false, FA, sISN + 21, cISN + 11, 0, 0, false}}),
			want{"S3", "ShADadf", 10, 20, 4, 4, 0, client}},
		{"RSTO", nil, cat(handshake, data, []seg{{true, RA, cISN + 11, sISN + 21, 0, 0, false}}),
			want{"RSTO", "ShADadR", 10, 20, 5, 3, 0, client}},
		{"RSTR", nil, cat(handshake, data, []seg{{false, R, sISN + 21, 0, 0, 0, false}}),
			want{"RSTR", "ShADadr", 10, 20, 4, 4, 0, client}},
		{"RSTOS0", nil, []seg{handshake[0], {true, R, cISN + 1, 0, 0, 0, false}},
			want{"RSTOS0", "SR", 0, 0, 2, 0, 0, client}},
		{"RSTRH", web, []seg{handshake[1], {false, R, sISN + 1, 0, 0, 0, false}},
			want{"RSTRH", "^hr", 0, 0, 0, 2, 0, client}},
		{"SH", nil, []seg{handshake[0], {true, F, cISN + 1, 0, 0, 0, false}},
			want{"SH", "SF", 0, 0, 2, 0, 0, client}},
		{"SHR", web, []seg{handshake[1], {false, FA, sISN + 1, cISN + 1, 0, 0, false}},
			want{"SHR", "^hf", 0, 0, 0, 2, 0, client}},
		{"OTH midstream", nil, data, want{"OTH", "DadA", 10, 20, 2, 2, 0, client}},
		{"SYN-ACK then ack flips the roles", nil, []seg{handshake[1], handshake[2]},
			want{"OTH", "^hA", 0, 0, 1, 1, 0, client}},
		{"SYN and SYN-ACK reordered", nil, []seg{handshake[1], handshake[0], handshake[2]},
			want{"S1", "Hs^A", 0, 0, 2, 1, 0, client}},
		{"retransmission and repeat counting", nil, cat(handshake, data[:1],
			repeat(seg{true, PA, cISN + 1, sISN + 1, 10, 0, false}, 10)),
			want{"S1", "ShADTT", 10, 0, 13, 1, 0, client}},
		// The ack logs 'a', the zero window 'w'.
		{"zero window", nil, cat(handshake, []seg{{false, A, sISN + 1, cISN + 1, 0, 1, false}}),
			want{"S1", "ShAaw", 0, 0, 2, 2, 0, client}},
		{"SYN+FIN is a multi-flag packet", nil, []seg{{true, S | F, cISN, 0, 0, 0, false}},
			want{"SH", "Q", 0, 0, 1, 0, 0, client}},
		{"bad checksum", &Config{VerifyChecksums: true}, []seg{{true, S, cISN, 0, 0, 0, true}},
			want{"OTH", "C", 0, 0, 0, 0, 0, client}},
		{"content gap", nil, cat(handshake, []seg{
			{true, PA, cISN + 101, sISN + 1, 10, 0, false}, // bytes 1-100 never seen
			{false, A, sISN + 1, cISN + 111, 0, 0, false},
		}), want{"S1", "ShADaG", 110, 0, 3, 2, 100, client}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := run(t, tc.cfg, tc.segs)
			if len(recs) != 1 {
				t.Fatalf("got %d connections, want 1: %+v", len(recs), recs)
			}
			r := recs[0]
			got := want{r.ConnState, r.History, r.OrigBytes, r.RespBytes, r.OrigPkts, r.RespPkts, r.MissedBytes, r.Orig}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func repeat(s seg, n int) []seg {
	out := make([]seg, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// A SYN with a new sequence number on a closed tuple starts a new
// connection.
func TestReuse(t *testing.T) {
	full := cat(handshake, []seg{
		{true, FA, cISN + 1, sISN + 1, 0, 0, false},
		{false, FA, sISN + 1, cISN + 2, 0, 0, false},
		{true, A, cISN + 2, sISN + 2, 0, 0, false},
	})
	again := seg{true, S, cISN + 50000, 0, 0, 0, false}
	recs := run(t, nil, append(full, again))
	var got []string
	for _, r := range recs {
		got = append(got, r.ConnState+" "+r.History)
	}
	want := []string{"SF ShAFf", "S0 S"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Zeek gives up on a connection attempt after tcp_attempt_delay (5 s):
// a SYN retransmitted 1 s later keeps it, one 7 s later finds it removed
// at 5 s.
func TestRemovalTime(t *testing.T) {
	var p wire.Packet
	if err := p.Decode(wire.LinkRaw, frame(handshake[0])); err != nil {
		t.Fatal(err)
	}
	var c Conn
	c.Reset(nil, 0, &p)
	c.Packet(0, true, &p)
	if at, ok := c.RemovalTime(1e9); ok {
		t.Errorf("removed at %d, before the retransmission at 1 s", at)
	}
	c.Packet(1e9, true, &p)
	if at, ok := c.RemovalTime(7e9); !ok || at != 5e9 {
		t.Errorf("RemovalTime(7 s) = %d, %v; want 5 s, true", at, ok)
	}
}

// rows feeds segs, at times at (Unix ns), to a tracker with an Observer
// made with cfg, and returns every conn.log row of the connections it
// hands out as "CONN_STATE HISTORY pkts O/R at SECONDS", each
// connection's rows on one line joined by " | ". With plain, the
// tracker cannot keep the connections as snapshots.
func rows(t *testing.T, cfg *Config, segs []seg, at []int64, plain bool) []string {
	t.Helper()
	var out []string
	obs := Observer(cfg)
	if plain {
		obs = func() tcpstate.Observer { return plainObserver{Observer(cfg)()} }
	}
	tr := track.New(track.Config{Observer: obs, Done: func(c *tcpstate.Conn) {
		last, ok := Fields(c)
		if !ok {
			t.Fatalf("connection %d: no conn.log fields", c.ID)
		}
		var line []string
		for _, r := range append(slices.Clone(Earlier(c)), last) {
			line = append(line, fmt.Sprintf("%s %s pkts %d/%d at %g", r.ConnState, r.History, r.OrigPkts, r.RespPkts, float64(r.TS)/1e9))
		}
		out = append(out, strings.Join(line, " | "))
	}})
	var p wire.Packet
	for i, s := range segs {
		if err := p.Decode(wire.LinkRaw, frame(s)); err != nil {
			t.Fatal(err)
		}
		tr.Packet(i+1, at[i], &p)
	}
	tr.Flush()
	return out
}

// plainObserver hides the observer's state methods.
type plainObserver struct{ tcpstate.Observer }

func (o plainObserver) Record() Record    { return o.Observer.(*observer).Record() }
func (o plainObserver) Earlier() []Record { return o.Observer.(*observer).Earlier() }

// Zeek's timers and its reuse check split a tuple's traffic into several
// conn.log rows where the tracker keeps one connection; the expected rows
// follow Zeek's TCPSessionAdapter (AttemptTimer, ConnectionClosed's
// delete timer after tcp_close_delay, IsReuse) and the corpus's baselines
// of the same shapes (ssh.half-duplex-client's S0 then SH rows, pop3's
// repeated Sr, modbus's RSTO ShR then RSTRH Dr). Each runs with closed
// and idle connections kept as snapshots and without: the rows are the
// same.
func TestSplitRows(t *testing.T) {
	web := &Config{LikelyServerPorts: new(PortSet), SplitRows: true}
	web.LikelyServerPorts.Add(80)
	split := &Config{SplitRows: true}
	sec := func(s ...float64) []int64 {
		at := make([]int64, len(s))
		for i, v := range s {
			at[i] = int64(v * 1e9)
		}
		return at
	}
	tests := []struct {
		name string
		cfg  *Config
		segs []seg
		at   []int64
		want []string
	}{
		{"an unanswered SYN is given up after tcp_attempt_delay", split,
			repeat(handshake[0], 5), sec(0, 1, 3, 7, 15),
			[]string{"S0 S pkts 3/0 at 0 | S0 S pkts 1/0 at 7 | S0 S pkts 1/0 at 15"}},
		{"without SplitRows the attempt is one row", nil,
			repeat(handshake[0], 5), sec(0, 1, 3, 7, 15),
			[]string{"S0 S pkts 5/0 at 0"}},
		{"one-sided: the attempt times out, data and FIN follow", split,
			[]seg{handshake[0], handshake[2], {true, PA, cISN + 1, sISN + 1, 10, 0, false},
				{true, PA, cISN + 11, sISN + 1, 10, 0, false}, {true, A, cISN + 21, sISN + 1, 0, 0, false}, {true, FA, cISN + 21, sISN + 1, 0, 0, false}},
			sec(0, 0.5, 1, 6, 6.2, 6.5),
			[]string{"S0 SAD pkts 3/0 at 0 | SH DAF pkts 3/0 at 6"}},
		{"a reset attempt's tuple, answered again after tcp_close_delay", web,
			[]seg{handshake[0], handshake[1], {true, R, cISN + 1, 0, 0, 0, false},
				{true, PA, cISN + 1, sISN + 1, 10, 0, false}, {false, R, sISN + 1, 0, 0, 0, false}},
			sec(0, 0.001, 0.1, 16, 16.001),
			[]string{"RSTO ShR pkts 2/1 at 0 | RSTRH Dr pkts 1/1 at 16"}},
		{"within tcp_close_delay the reset connection goes on", web,
			[]seg{handshake[0], handshake[1], {true, R, cISN + 1, 0, 0, 0, false},
				{true, PA, cISN + 1, sISN + 1, 10, 0, false}, {false, R, sISN + 1, 0, 0, 0, false}},
			sec(0, 0.001, 0.1, 3, 3.001),
			[]string{"REJ ShRDr pkts 3/2 at 0"}},
		{"past 16 rows before the last, the last takes in the rest", split,
			repeat(handshake[0], 20), sec(0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190),
			[]string{func() (s string) {
				for i := range 16 {
					s += fmt.Sprintf("S0 S pkts 1/0 at %d | ", i*10)
				}
				return s + "S0 S pkts 4/0 at 160"
			}()}},
		{"a SYN-ACK with a new sequence number reuses a half connection", web,
			[]seg{handshake[1], {false, SA, sISN + 7777, cISN + 1, 0, 0, false}},
			sec(0, 0.5),
			[]string{"OTH ^h pkts 0/1 at 0 | OTH ^h pkts 0/1 at 0.5"}},
		{"a retransmitted SYN-ACK does not", web,
			[]seg{handshake[1], handshake[1]},
			sec(0, 0.5),
			[]string{"OTH ^h pkts 0/2 at 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, plain := range []bool{false, true} {
				if diff := cmp.Diff(tc.want, rows(t, tc.cfg, tc.segs, tc.at, plain)); diff != "" {
					t.Errorf("snapshots %v (-want +got):\n%s", !plain, diff)
				}
			}
		})
	}
}

// established returns a connection that has seen the handshake, checksums
// verified, decoded into p.
func established(tb testing.TB, p *wire.Packet) *Conn {
	tb.Helper()
	var c Conn
	cfg := &Config{VerifyChecksums: true}
	for i, s := range handshake {
		if err := p.Decode(wire.LinkRaw, frame(s)); err != nil {
			tb.Fatal(err)
		}
		if i == 0 {
			c.Reset(cfg, 0, p)
		}
		c.Packet(int64(i), s.fromClient, p)
	}
	return &c
}

// The per-packet path allocates nothing once a connection is set up.
func TestZeroAllocs(t *testing.T) {
	frames := make([][]byte, 0, 4)
	for _, s := range []seg{
		{true, PA, cISN + 1, sISN + 1, 100, 0, false},
		{false, A, sISN + 1, cISN + 101, 0, 0, false},
		{false, PA, sISN + 1, cISN + 101, 200, 0, false},
		{true, A, cISN + 101, sISN + 201, 0, 0, false},
	} {
		frames = append(frames, frame(s))
	}
	var p wire.Packet
	c := established(t, &p)
	now := int64(10)
	allocs := testing.AllocsPerRun(1000, func() {
		for _, f := range frames {
			if err := p.Decode(wire.LinkRaw, f); err != nil {
				t.Fatal(err)
			}
			now++
			c.Packet(now, p.Src == client.Addr(), &p)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per 4 packets, want 0", allocs)
	}
}
