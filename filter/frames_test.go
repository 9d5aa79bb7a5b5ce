package filter

import (
	"encoding/binary"
	"net/netip"
)

// Hand-built Ethernet frames for what the corpus lacks: IPv4 fragments
// and options, ICMP, IPv6 extension headers, ARP, VLAN and QinQ tags,
// truncated captures. libpcap decides what they match, not this file.

type synthFrame struct {
	data    []byte
	wireLen int
}

func ethFrame(etype uint16, payload []byte) []byte {
	b := []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0, 0}
	binary.BigEndian.PutUint16(b[12:], etype)
	return append(b, payload...)
}

func vlanFrame(tags []uint32, etype uint16, payload []byte) []byte {
	b := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb}
	for _, t := range tags {
		b = binary.BigEndian.AppendUint16(b, uint16(t>>16))
		b = binary.BigEndian.AppendUint16(b, uint16(t))
	}
	b = binary.BigEndian.AppendUint16(b, etype)
	return append(b, payload...)
}

func ip4(src, dst string, proto byte, frag uint16, opts []byte, payload []byte) []byte {
	ihl := 5 + len(opts)/4
	b := make([]byte, 20, 20+len(opts)+len(payload))
	b[0] = 0x40 | byte(ihl)
	binary.BigEndian.PutUint16(b[2:], uint16(ihl*4+len(payload)))
	binary.BigEndian.PutUint16(b[4:], 0x1234)
	binary.BigEndian.PutUint16(b[6:], frag)
	b[8] = 64
	b[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	b = append(b, opts...)
	return append(b, payload...)
}

func ip6(src, dst string, nh byte, payload []byte) []byte {
	b := make([]byte, 40, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(payload)))
	b[6] = nh
	b[7] = 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	return append(b, payload...)
}

func tcpSeg(sport, dport uint16, flags byte, payload string) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint32(b[4:], 1000)
	binary.BigEndian.PutUint32(b[8:], 2000)
	b[12] = 5 << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:], 65535)
	return append(b, payload...)
}

func udpDgram(sport, dport uint16, payload string) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

func icmpMsg(typ, code byte) []byte { return []byte{typ, code, 0, 0, 0, 1, 0, 1, 'p', 'i', 'n', 'g'} }

func arpPkt(op uint16, spa, tpa string) []byte {
	b := []byte{0, 1, 8, 0, 6, 4, 0, 0}
	binary.BigEndian.PutUint16(b[6:], op)
	s, d := netip.MustParseAddr(spa).As4(), netip.MustParseAddr(tpa).As4()
	b = append(b, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb)
	b = append(b, s[:]...)
	b = append(b, 0, 0, 0, 0, 0, 0)
	return append(b, d[:]...)
}

const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
	fURG = 0x20
	fECE = 0x40
	fCWR = 0x80
)

func synthFrames() []synthFrame {
	full := func(b []byte) synthFrame { return synthFrame{b, len(b)} }
	cut := func(b []byte, n int) synthFrame { return synthFrame{b[:n], len(b)} }
	e4 := func(b []byte) []byte { return ethFrame(0x0800, b) }
	e6 := func(b []byte) []byte { return ethFrame(0x86dd, b) }
	fragHdr := func(nh byte, off uint16, more bool) []byte {
		v := off << 3
		if more {
			v |= 1
		}
		return []byte{nh, 0, byte(v >> 8), byte(v), 0, 0, 0, 7}
	}
	hbh := []byte{6, 0, 1, 4, 0, 0, 0, 0} // hop-by-hop, next header TCP, PadN
	get := tcpSeg(40000, 80, fPSH|fACK, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	big := e4(ip4("10.0.0.1", "10.0.0.2", 6, 0x4000, nil, tcpSeg(1234, 80, fACK, string(make([]byte, 1400)))))
	return []synthFrame{
		full(e4(ip4("10.0.0.1", "10.0.0.2", 6, 0x4000, nil, tcpSeg(1234, 80, fSYN, "")))),
		full(e4(ip4("10.0.0.2", "10.0.0.1", 6, 0x4000, nil, tcpSeg(80, 1234, fSYN|fACK, "")))),
		full(e4(ip4("10.0.0.1", "10.0.0.2", 17, 0, nil, udpDgram(5353, 80, "not tcp")))),
		full(e4(ip4("10.0.0.1", "10.0.0.53", 17, 0, nil, udpDgram(40000, 53, "\x12\x34query")))),
		full(e4(ip4("10.0.0.1", "10.0.0.3", 1, 0, nil, icmpMsg(8, 0)))),
		full(e4(ip4("10.0.0.3", "10.0.0.1", 1, 0, nil, icmpMsg(0, 0)))),
		full(e4(ip4("10.0.0.9", "10.0.0.1", 1, 0, nil, icmpMsg(3, 3)))),
		// First fragment, then a later one whose payload starts with bytes
		// that would read as ports 80 and 80.
		full(e4(ip4("10.0.0.1", "10.0.0.2", 6, 0x2000, nil, tcpSeg(1234, 80, fPSH|fACK, "12345678")))),
		full(e4(ip4("10.0.0.1", "10.0.0.2", 6, 0x0003, nil, []byte{0, 80, 0, 80, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x50, 0x12, 0, 0}))),
		full(e4(ip4("10.0.0.1", "10.0.0.2", 17, 0x0010, nil, []byte{0, 53, 0, 53, 0, 8, 0, 0}))),
		// IPv4 options move the TCP header.
		full(e4(ip4("192.168.1.5", "172.16.0.1", 6, 0, []byte{1, 1, 1, 0}, tcpSeg(443, 50000, fFIN|fACK, "")))),
		full(e4(ip4("192.168.1.5", "172.16.0.1", 6, 0, []byte{1, 1, 1, 0, 1, 1, 1, 0}, tcpSeg(50000, 443, fRST, "")))),
		full(e4(ip4("172.16.5.4", "192.168.1.5", 6, 0, nil, tcpSeg(22, 60000, fECE|fCWR|fSYN|fACK, "")))),
		full(e4(ip4("172.16.5.4", "192.168.1.5", 6, 0, nil, tcpSeg(22, 60000, fURG|fPSH|fACK, "x")))),
		full(e4(ip4("10.0.0.1", "10.0.0.2", 6, 0x4000, nil, get))),
		full(big),
		// IPv6: plain, behind a fragment header, behind hop-by-hop.
		full(e6(ip6("2001:db8::1", "2001:db8::2", 6, tcpSeg(1234, 80, fSYN, "")))),
		full(e6(ip6("2001:db8::2", "2001:db8::1", 6, tcpSeg(80, 1234, fSYN|fACK, "")))),
		full(e6(ip6("2001:db8::1", "2001:db8::2", 44, append(fragHdr(6, 0, true), tcpSeg(1234, 80, fACK, "")...)))),
		full(e6(ip6("2001:db8::1", "2001:db8::2", 44, append(fragHdr(17, 0, false), udpDgram(53, 53, "")...)))),
		full(e6(ip6("2001:db8::1", "2001:db8::2", 0, append(hbh, tcpSeg(1234, 80, fSYN, "")...)))),
		full(e6(ip6("fe80::1", "ff02::1", 17, udpDgram(546, 547, "dhcp")))),
		full(e6(ip6("2001:db8::1", "2001:db8::2", 58, icmpMsg(128, 0)))),
		full(e6(ip6("2001:db8::2", "2001:db8::1", 58, icmpMsg(129, 0)))),
		full(e6(ip6("::1", "::1", 6, tcpSeg(9988, 41631, fFIN|fACK, "")))),
		// ARP and RARP.
		full(ethFrame(0x0806, arpPkt(1, "10.0.0.1", "10.0.0.2"))),
		full(ethFrame(0x0806, arpPkt(2, "192.168.1.5", "10.0.0.1"))),
		full(ethFrame(0x8035, arpPkt(3, "10.0.0.7", "10.0.0.22"))),
		// VLAN tags.
		full(vlanFrame([]uint32{0x81000064}, 0x0800, ip4("10.0.0.1", "10.0.0.2", 6, 0, nil, tcpSeg(1234, 80, fSYN, "")))),
		full(vlanFrame([]uint32{0x810000c8}, 0x86dd, ip6("2001:db8::1", "2001:db8::2", 6, tcpSeg(1234, 443, fACK, "")))),
		full(vlanFrame([]uint32{0x88a8000a, 0x81000064}, 0x0800, ip4("10.0.0.1", "10.0.0.2", 17, 0, nil, udpDgram(53, 53, "")))),
		full(vlanFrame([]uint32{0x91000064}, 0x0806, arpPkt(1, "10.0.0.1", "10.0.0.2"))),
		// Truncated captures.
		cut(e4(ip4("10.0.0.1", "10.0.0.2", 6, 0, nil, tcpSeg(1234, 80, fSYN, ""))), 40),
		cut(e4(ip4("10.0.0.1", "10.0.0.2", 6, 0, nil, tcpSeg(1234, 80, fSYN, ""))), 16),
		cut(e6(ip6("2001:db8::1", "2001:db8::2", 6, tcpSeg(1234, 80, fSYN, ""))), 56),
		cut(big, 96),
		// 802.3 length field, and an unknown EtherType.
		full(ethFrame(0x0026, []byte{0x42, 0x42, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})),
		full(ethFrame(0x88cc, make([]byte, 46))),
	}
}
