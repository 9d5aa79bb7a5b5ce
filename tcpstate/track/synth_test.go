package track

import (
	"encoding/binary"
	"net/netip"
	"os"
	"strings"

	"synfin/internal/pcaptest"
	"synfin/tcpstate"
	"synfin/wire"
)

// A synthetic segment for tests: addresses as "a.b.c.d:port", flags in
// tcpdump's letters (S F R P and . for ACK).
type synSeg struct {
	src, dst string
	flags    string
	seq, ack uint32
	len      int
	win      uint16
	opts     []byte
	us       int64 // microseconds after the base time
}

// synOpts are the seed capture's SYN options: mss 16396, sackOK, TS,
// nop, wscale 7.
var synOpts = []byte{2, 4, 0x40, 0x0c, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}

// rawIPv4 builds a raw IPv4 packet (LINKTYPE_RAW) carrying the segment.
func (s synSeg) rawIPv4() []byte {
	src := netip.MustParseAddrPort(s.src)
	dst := netip.MustParseAddrPort(s.dst)
	opts := append([]byte(nil), s.opts...)
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	thl := 20 + len(opts)
	total := 20 + thl + s.len
	b := make([]byte, total)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(total))
	b[8] = 64
	b[9] = 6
	a4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:], a4[:])
	copy(b[16:], d4[:])
	t := b[20:]
	binary.BigEndian.PutUint16(t[0:], src.Port())
	binary.BigEndian.PutUint16(t[2:], dst.Port())
	binary.BigEndian.PutUint32(t[4:], s.seq)
	binary.BigEndian.PutUint32(t[8:], s.ack)
	t[12] = byte(thl/4) << 4
	f, _ := wire.ParseTcpdumpFlags(s.flags)
	t[13] = byte(f)
	win := s.win
	if win == 0 && !strings.Contains(s.flags, "R") {
		win = 512
	}
	binary.BigEndian.PutUint16(t[14:], win)
	copy(t[20:], opts)
	return b
}

// seedBase is the seed capture's first time stamp: 2016-12-12
// 16:34:33.611019 in UTC+8, the blog's time zone.
const seedBase = int64(1481531673611019000)

// seedSegments are the seven segments of the seed's capture.txt.
var seedSegments = []synSeg{
	{"127.0.0.1:41631", "127.0.0.1:9988", "S", 2970024578, 0, 0, 32792, synOpts, 0},
	{"127.0.0.1:9988", "127.0.0.1:41631", "S.", 2032818397, 2970024579, 0, 32768, synOpts, 16},
	{"127.0.0.1:41631", "127.0.0.1:9988", ".", 2970024579, 2032818398, 0, 257, nil, 26},
	{"127.0.0.1:9988", "127.0.0.1:41474", "F.", 507613731, 3023763844, 0, 256, nil, 131},
	{"127.0.0.1:41474", "127.0.0.1:9988", ".", 3023763844, 507613732, 0, 257, nil, 144},
	{"127.0.0.1:41631", "127.0.0.1:9988", "F.", 2970024579, 2032818398, 0, 257, nil, 1040},
	{"127.0.0.1:9988", "127.0.0.1:41631", ".", 2032818398, 2970024580, 0, 256, nil, 1699},
}

// runSegments tracks segs and returns the connections handed out, in ID
// order.
func runSegments(cfg Config, segs []synSeg) []*tcpstate.Conn {
	var out []*tcpstate.Conn
	cfg.Done = func(c *tcpstate.Conn) { out = append(out, c.Clone()) }
	tr := New(cfg)
	for i, s := range segs {
		tr.Frame(&wire.Frame{Index: i + 1, Time: seedBase + s.us*1000, Link: wire.LinkRaw, Data: s.rawIPv4()})
	}
	tr.Flush()
	return out
}

func frameOf(index int, s synSeg) *wire.Frame {
	return &wire.Frame{Index: index, Time: seedBase + s.us*1000, Link: wire.LinkRaw, Data: s.rawIPv4()}
}

// trackFile tracks a pcap or pcapng file and returns its connections in
// the order they were handed out.
func trackFile(file string, cfg Config) ([]*tcpstate.Conn, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	frames, err := pcaptest.Read(fh)
	var conns []*tcpstate.Conn
	cfg.Done = func(c *tcpstate.Conn) { conns = append(conns, c.Clone()) }
	tr := New(cfg)
	for i := range frames {
		tr.Frame(&frames[i])
	}
	tr.Flush()
	return conns, err
}
