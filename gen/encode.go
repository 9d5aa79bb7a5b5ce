package gen

import (
	"encoding/binary"

	"synfin/wire"
)

var (
	be = binary.BigEndian
	le = binary.LittleEndian
)

const snaplen = 262144

// MAC addresses: the server's, and the router every client comes through.
var (
	serverMAC = [6]byte{0x02, 0x53, 0x59, 0x4e, 0x00, 0x10}
	routerMAC = [6]byte{0x02, 0x53, 0x59, 0x4e, 0x00, 0x01}
)

// fileHeader starts the output: a pcap file header, or a pcapng section
// header and one Ethernet interface (default microsecond time stamps).
func (g *generator) fileHeader() {
	if !g.pcapng {
		b := make([]byte, 24)
		le.PutUint32(b[0:], 0xa1b2c3d4)
		le.PutUint16(b[4:], 2)
		le.PutUint16(b[6:], 4)
		le.PutUint32(b[16:], snaplen)
		le.PutUint32(b[20:], 1) // LINKTYPE_ETHERNET
		g.out = append(g.out, b...)
		return
	}
	b := make([]byte, 28+20)
	le.PutUint32(b[0:], 0x0a0d0d0a)
	le.PutUint32(b[4:], 28)
	le.PutUint32(b[8:], 0x1a2b3c4d)
	le.PutUint16(b[12:], 1)
	le.PutUint64(b[16:], ^uint64(0)) // section length unknown
	le.PutUint32(b[24:], 28)
	i := b[28:]
	le.PutUint32(i[0:], 1)
	le.PutUint32(i[4:], 20)
	le.PutUint16(i[8:], 1) // LINKTYPE_ETHERNET
	le.PutUint32(i[12:], snaplen)
	le.PutUint32(i[16:], 20)
	g.out = append(g.out, b...)
}

// emit appends packet p of connection c to the output as one record.
func (g *generator) emit(c *conn, p *pkt) {
	if len(g.out)+maxRecord > cap(g.out) {
		g.flush()
	}
	at := c.start + p.t
	if g.st.Packets == 0 {
		g.first = at
	}
	g.last = at
	g.st.Packets++
	g.st.PayloadBytes += int64(p.plen)

	b := g.out[len(g.out):cap(g.out)]
	usec := at / 1000
	if !g.pcapng {
		n := c.frame(b[16:], p, g.pay)
		le.PutUint32(b[0:], uint32(usec/1e6))
		le.PutUint32(b[4:], uint32(usec%1e6))
		le.PutUint32(b[8:], uint32(n))
		le.PutUint32(b[12:], uint32(n))
		g.out = g.out[:len(g.out)+16+n]
		return
	}
	n := c.frame(b[28:], p, g.pay)
	padded := (n + 3) &^ 3
	clear(b[28+n : 28+padded])
	total := 32 + padded
	le.PutUint32(b[0:], 6) // enhanced packet block
	le.PutUint32(b[4:], uint32(total))
	le.PutUint32(b[8:], 0)
	le.PutUint32(b[12:], uint32(uint64(usec)>>32))
	le.PutUint32(b[16:], uint32(usec))
	le.PutUint32(b[20:], uint32(n))
	le.PutUint32(b[24:], uint32(n))
	le.PutUint32(b[28+padded:], uint32(total))
	g.out = g.out[:len(g.out)+total]
}

// frame encodes p as an Ethernet frame into f and returns its length.
func (c *conn) frame(f []byte, p *pkt, pay []byte) int {
	dir := int(p.dir)
	src, dst := &c.cli, &c.srv
	sport, dport := c.cport, c.sport
	if dir == s2c {
		copy(f[0:6], routerMAC[:])
		copy(f[6:12], serverMAC[:])
		src, dst = dst, src
		sport, dport = dport, sport
	} else {
		copy(f[0:6], serverMAC[:])
		copy(f[6:12], routerMAC[:])
	}
	ipLen, alen := 20, 4
	if c.v6 {
		ipLen, alen = 40, 16
	}
	ip := f[14:]
	t := ip[ipLen:]

	// TCP header and options.
	tsval := c.tsBase[dir] + uint32(p.t/ms)
	tsecr := c.lastTS[1-dir]
	if p.flags == flagSYN {
		tsecr = 0
	}
	c.lastTS[dir] = tsval
	be.PutUint16(t[0:], sport)
	be.PutUint16(t[2:], dport)
	be.PutUint32(t[4:], c.isn[dir]+p.seq)
	var ack uint32
	if p.flags&flagACK != 0 {
		ack = c.isn[1-dir] + p.ack
	}
	be.PutUint32(t[8:], ack)
	o := t[20:]
	olen := 0
	switch p.opt {
	case optSYN:
		olen = c.synOptions(o, dir, tsval, tsecr)
	case optTS:
		be.PutUint32(o, 0x0101080a)
		be.PutUint32(o[4:], tsval)
		be.PutUint32(o[8:], tsecr)
		olen = 12
	}
	if p.sackL != p.sackR {
		be.PutUint32(o[olen:], 0x0101050a)
		be.PutUint32(o[olen+4:], c.isn[1-dir]+p.sackL)
		be.PutUint32(o[olen+8:], c.isn[1-dir]+p.sackR)
		olen += 12
	}
	hlen := 20 + olen
	t[12] = byte(hlen/4) << 4
	t[13] = p.flags
	win := c.win[dir]
	switch {
	case p.flags&flagSYN != 0:
		win = c.synWin[dir]
	case p.flags&flagRST != 0 || p.zwin:
		win = 0
	}
	be.PutUint16(t[14:], win)
	be.PutUint32(t[16:], 0) // checksum, urgent pointer
	plen := int(p.plen)
	off := (c.payOff[dir] + int(p.seq)) % payloadBlock
	copy(t[hlen:hlen+plen], pay[off:])
	tcpLen := hlen + plen

	pseudo := wire.PseudoHeaderChecksum(wire.ProtoTCP, src[:alen], dst[:alen], tcpLen)
	be.PutUint16(t[16:], ^wire.Checksum(t[:tcpLen], pseudo))

	// IP header.
	if c.v6 {
		be.PutUint32(ip[0:], 6<<28|c.flow[dir])
		be.PutUint16(ip[4:], uint16(tcpLen))
		ip[6] = 6
		ip[7] = c.ttl[dir]
		copy(ip[8:24], src[:])
		copy(ip[24:40], dst[:])
		be.PutUint16(f[12:], 0x86dd)
	} else {
		ip[0] = 0x45
		ip[1] = 0
		be.PutUint16(ip[2:], uint16(20+tcpLen))
		be.PutUint16(ip[4:], c.ipid[dir])
		c.ipid[dir]++
		be.PutUint16(ip[6:], 0x4000) // don't fragment
		ip[8] = c.ttl[dir]
		ip[9] = 6
		be.PutUint16(ip[10:], 0)
		copy(ip[12:16], src[:4])
		copy(ip[16:20], dst[:4])
		be.PutUint16(ip[10:], ^wire.Checksum(ip[:20], 0))
		be.PutUint16(f[12:], 0x0800)
	}
	return 14 + ipLen + tcpLen
}

// synOptions writes the options of a SYN or SYN-ACK: Linux sends mss,
// sackOK, TS, nop, wscale; Windows mss, nop, wscale, nop, nop, sackOK; a
// Linux server answers a SYN without TS with mss, nop, nop, sackOK, nop,
// wscale.
func (c *conn) synOptions(o []byte, dir int, tsval, tsecr uint32) int {
	mss := c.mss[dir]
	ws := c.wscale[dir]
	if c.ts {
		o[0], o[1] = 2, 4
		be.PutUint16(o[2:], mss)
		o[4], o[5] = 4, 2
		o[6], o[7] = 8, 10
		be.PutUint32(o[8:], tsval)
		be.PutUint32(o[12:], tsecr)
		o[16], o[17], o[18], o[19] = 1, 3, 3, ws
		return 20
	}
	o[0], o[1] = 2, 4
	be.PutUint16(o[2:], mss)
	if dir == c2s {
		copy(o[4:], []byte{1, 3, 3, ws, 1, 1, 4, 2})
	} else {
		copy(o[4:], []byte{1, 1, 4, 2, 1, 3, 3, ws})
	}
	return 12
}
