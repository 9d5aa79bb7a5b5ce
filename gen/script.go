package gen

import (
	"math"
	"math/rand/v2"
)

// Times in nanoseconds.
const (
	us  = int64(1000)
	ms  = 1000 * us
	sec = 1000 * ms
)

// TCP flag bits as they sit in the header.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
)

// Option layouts a segment carries.
const (
	optNone = iota
	optTS   // nop, nop, timestamps (plus a SACK block when the packet has one)
	optSYN  // the SYN or SYN-ACK options of the connection's stacks
)

// Directions.
const (
	c2s = 0
	s2c = 1
)

// pkt is one segment of a connection's script.
type pkt struct {
	t            int64  // since the connection's first packet
	seq, ack     uint32 // relative to the sender's ISN and the receiver's
	sackL, sackR uint32 // one SACK block relative to the receiver's ISN; none when equal
	plen         uint16
	dir          uint8
	flags        uint8
	opt          uint8
	zwin         bool // advertises a zero window
}

// conn is a connection: who it is between, and its whole script, built
// when it starts and played out as the capture's clock reaches each packet.
type conn struct {
	id    int64
	start int64 // Unix ns of the first packet
	at    int64 // Unix ns of the next packet
	next  int
	pkts  []pkt
	acks  []pkt // scratch for transfer
	segs  []pkt // scratch for transfer

	rng rand.PCG

	v6           bool
	cli, srv     [16]byte // IPv4 in the first four bytes
	cport, sport uint16
	isn          [2]uint32
	ipid         [2]uint16
	ttl          [2]uint8
	flow         [2]uint32
	tsBase       [2]uint32
	lastTS       [2]uint32
	win          [2]uint16
	synWin       [2]uint16
	mss          [2]uint16
	wscale       [2]uint8
	ts           bool   // timestamps negotiated
	windows      bool   // the client's stack sends Windows' SYN options
	payOff       [2]int // where this direction's payload starts in the payload block

	// Building state.
	t        int64     // time of the last packet added
	snd, rcv [2]uint32 // next sequence number to send; next expected from the peer
	rtt      int64
	seg      [2]int // payload bytes per full segment, by sender
	dataOpt  uint8
}

// Lifecycle mix in thousandths of connections.
var mix = [NumLifecycles]int{
	FourSegment:       405,
	ThreeSegment:      250,
	SimultaneousClose: 15,
	HalfClose:         60,
	AbortRST:          120,
	Refused:           90,
	Unanswered:        60,
}

const (
	clientFirst = 0.6   // share of FIN-based closes the client starts
	lateSYN     = 0.015 // share of established connections whose first SYN is lost
	lossRate    = 0.01  // chance a flight of server data loses a segment
	reorderRate = 0.25  // chance a multi-segment flight from the client arrives out of order
	delayedACK  = 40 * ms
	minRTO      = 200 * ms
	serverPort  = 9988
	closedPort  = 9989
)

func (c *conn) float() float64 { return float64(c.rng.Uint64()>>11) * 0x1p-53 }

func (c *conn) intn(n int) int { return int(c.rng.Uint64() % uint64(n)) }

func (c *conn) between(lo, hi int) int { return lo + c.intn(hi-lo+1) }

func (c *conn) chance(p float64) bool { return c.float() < p }

// exp draws from an exponential distribution with the given mean.
func (c *conn) exp(mean int64) int64 { return int64(-math.Log(1-c.float()) * float64(mean)) }

func (c *conn) wait(d int64) { c.t += d }

// proc is how long the server takes to answer a segment.
func (c *conn) proc() int64 { return 15*us + int64(c.intn(60))*us }

// respond waits for dir's answer to the last packet as the capture (at the
// server) sees it: at once from the server, a round trip later from the client.
func (c *conn) respond(dir int) {
	if dir == s2c {
		c.wait(c.proc())
	} else {
		c.wait(c.rtt + int64(c.intn(200))*us/10)
	}
}

// send adds a segment from dir at the current time, without delivering it.
func (c *conn) send(dir int, flags uint8, n int) *pkt {
	opt := c.dataOpt
	if flags&flagSYN != 0 {
		opt = optSYN
	}
	c.pkts = append(c.pkts, pkt{t: c.t, seq: c.snd[dir], ack: c.rcv[dir], plen: uint16(n), dir: uint8(dir), flags: flags, opt: opt})
	c.snd[dir] += uint32(n)
	if flags&(flagSYN|flagFIN) != 0 {
		c.snd[dir]++
	}
	return &c.pkts[len(c.pkts)-1]
}

// deliver makes everything dir has sent arrive at its peer.
func (c *conn) deliver(dir int) { c.rcv[1-dir] = c.snd[dir] }

// tx sends and delivers.
func (c *conn) tx(dir int, flags uint8, n int) {
	c.send(dir, flags, n)
	c.deliver(dir)
}

// resend adds a copy of packet i at the current time.
func (c *conn) resend(i int) {
	p := c.pkts[i]
	p.t = c.t
	c.pkts = append(c.pkts, p)
}

// script builds the connection's packets and returns its lifecycle.
func (c *conn) script(st *Stats) Lifecycle {
	c.rtt = c.drawRTT()
	lc := c.drawLifecycle()
	switch lc {
	case Unanswered:
		c.send(c2s, flagSYN, 0)
		c.wait(1 * sec)
		c.resend(0)
		c.wait(2 * sec)
		c.resend(0)
		st.SYNRetransmits += 2
		return lc
	case Refused:
		c.sport = closedPort
		c.isn[s2c] = 0
		c.tx(c2s, flagSYN, 0)
		c.respond(s2c)
		c.send(s2c, flagRST|flagACK, 0).opt = optNone
		return lc
	}

	// Handshake.
	c.tx(c2s, flagSYN, 0)
	if c.chance(lateSYN) {
		c.wait(1 * sec)
		c.resend(0)
		st.SYNRetransmits++
		st.LateSYN++
	}
	c.respond(s2c)
	c.tx(s2c, flagSYN|flagACK, 0)
	c.respond(c2s)
	c.tx(c2s, flagACK, 0)
	c.wait(int64(5+c.intn(40)) * us)

	rounds := c.drawRounds()
	if lc == HalfClose && rounds > 0 {
		rounds-- // the last request is sent before the FIN, below
	}
	for r := 0; r < rounds; r++ {
		c.round(st, r == 0)
	}
	if rounds > 0 {
		c.wait(c.exp(500 * ms)) // idle until one side closes
	}

	first := c2s
	if lc != HalfClose && !c.chance(clientFirst) {
		first = s2c
	}
	other := 1 - first
	switch lc {
	case FourSegment:
		c.tx(first, flagFIN|flagACK, 0)
		c.respond(other)
		c.tx(other, flagACK, 0)
		c.wait(30*us + c.exp(2*ms)) // until the other application closes too
		c.tx(other, flagFIN|flagACK, 0)
		c.respond(first)
		c.tx(first, flagACK, 0)
	case ThreeSegment:
		c.tx(first, flagFIN|flagACK, 0)
		c.respond(other)
		c.tx(other, flagFIN|flagACK, 0)
		c.respond(first)
		c.tx(first, flagACK, 0)
	case SimultaneousClose:
		// Each FIN leaves before the other arrives.
		c.send(s2c, flagFIN|flagACK, 0)
		c.wait(int64(1+c.intn(int(c.rtt/us/2+1))) * us)
		c.send(c2s, flagFIN|flagACK, 0)
		c.deliver(s2c)
		c.deliver(c2s)
		c.wait(c.proc())
		c.tx(s2c, flagACK, 0)
		c.wait(c.rtt / 2)
		c.tx(c2s, flagACK, 0)
	case HalfClose:
		// The client sends its request and shuts down writing; the server
		// answers after the FIN.
		c.wait(c.exp(50 * ms))
		c.transfer(st, c2s, c.requestSize(), false)
		c.wait(int64(5+c.intn(30)) * us)
		c.tx(c2s, flagFIN|flagACK, 0)
		c.respond(s2c)
		c.tx(s2c, flagACK, 0)
		c.wait(c.serverThink())
		c.transfer(st, s2c, c.responseSize()+1, true)
		c.wait(c.proc())
		c.tx(s2c, flagFIN|flagACK, 0)
		c.respond(c2s)
		c.tx(c2s, flagACK, 0)
	case AbortRST:
		c.send(first, flagRST|flagACK, 0)
	}
	if lc == SimultaneousClose {
		return lc
	}
	if first == c2s {
		st.ClientFirst++
	} else {
		st.ServerFirst++
	}
	return lc
}

// bulk is one upload of n segments in all (Config.Transfer): the
// handshake, full-size data segments from the client each followed by
// the server's ACK of every second one, and a four-segment close the
// client starts. With reorder, every eighth pair of data segments
// arrives swapped.
func (c *conn) bulk(st *Stats, n int, reorder bool) Lifecycle {
	c.rtt = c.drawRTT()
	c.tx(c2s, flagSYN, 0)
	c.respond(s2c)
	c.tx(s2c, flagSYN|flagACK, 0)
	c.respond(c2s)
	c.tx(c2s, flagACK, 0)
	size := c.seg[c2s]
	for left, pair := n-MinTransfer, 0; left > 0; pair++ {
		segs := min(left, 2)
		c.wait(gap(size))
		if segs == 2 && reorder && pair%8 == 7 {
			c.snd[c2s] += uint32(size)
			c.send(c2s, flagACK, size)
			c.snd[c2s] -= 2 * uint32(size)
			c.wait(gap(size))
			c.send(c2s, flagACK, size)
			c.snd[c2s] += uint32(size)
			st.OutOfOrder++
		} else {
			for k := range segs {
				if k > 0 {
					c.wait(gap(size))
				}
				c.send(c2s, flagACK, size)
			}
		}
		c.deliver(c2s)
		if left -= segs; left > 0 {
			c.wait(c.proc())
			c.tx(s2c, flagACK, 0)
			left--
		}
	}
	c.wait(c.exp(5 * ms))
	c.tx(c2s, flagFIN|flagACK, 0)
	c.respond(s2c)
	c.tx(s2c, flagACK, 0)
	c.wait(30*us + c.exp(2*ms))
	c.tx(s2c, flagFIN|flagACK, 0)
	c.respond(c2s)
	c.tx(c2s, flagACK, 0)
	st.ClientFirst++
	return FourSegment
}

func (c *conn) drawLifecycle() Lifecycle {
	n := c.intn(1000)
	for l, w := range mix {
		if n < w {
			return Lifecycle(l)
		}
		n -= w
	}
	return FourSegment
}

// drawRTT: a quarter of clients nearby, half regional, a quarter far away.
func (c *conn) drawRTT() int64 {
	switch n := c.intn(4); {
	case n == 0:
		return int64(200+c.intn(1800)) * us
	case n < 3:
		return int64(5000+c.intn(35000)) * us
	}
	return int64(60000+c.intn(190000)) * us
}

// drawRounds is the number of request/response exchanges.
func (c *conn) drawRounds() int {
	switch n := c.intn(100); {
	case n < 8:
		return 0
	case n < 56:
		return 1
	case n < 76:
		return 2
	case n < 88:
		return 3
	}
	return 4 + c.intn(5)
}

func (c *conn) requestSize() int {
	if c.chance(0.02) { // an upload
		return c.between(1500, 8000)
	}
	return c.between(60, 420)
}

func (c *conn) responseSize() int {
	switch n := c.intn(1000); {
	case n < 780:
		return c.between(40, 600)
	case n < 950:
		return c.between(650, 2400)
	case n < 990:
		return c.between(2400, 7000)
	}
	return c.between(7000, 29000)
}

// serverThink is how long the server takes to produce a response.
func (c *conn) serverThink() int64 {
	if c.chance(0.08) {
		return 50*ms + c.exp(200*ms)
	}
	return 30*us + c.exp(3*ms)
}

// round is one request from the client and the server's response.
func (c *conn) round(st *Stats, first bool) {
	if !first {
		c.wait(c.exp(300 * ms))
	}
	think := c.serverThink()
	// A quick server piggybacks its ACK of the request on the response.
	c.transfer(st, c2s, c.requestSize(), think >= delayedACK)
	c.wait(think)
	c.transfer(st, s2c, c.responseSize(), true)
}

// gap is the time a segment of n bytes takes on a 1 Gb/s link.
func gap(n int) int64 { return int64(n+80)*8 + 500 }

// transfer sends n bytes from dir in flights that grow as in slow start;
// the receiver acknowledges every second segment, and the last one when
// ackLast. Server flights may lose a segment, which is then retransmitted;
// client flights may arrive out of order.
func (c *conn) transfer(st *Stats, dir, n int, ackLast bool) {
	r := 1 - dir
	ackDelay, nextDelay := c.rtt, c.proc() // the capture is at the server
	if dir == c2s {
		ackDelay, nextDelay = c.proc(), c.rtt
	}
	flight := 10
	for n > 0 {
		// The flight, in the order it is sent.
		c.segs = c.segs[:0]
		t := c.t
		for k := 0; k < flight && n > 0; k++ {
			size := min(c.seg[dir], n)
			n -= size
			fl := uint8(flagACK)
			if n == 0 || k == flight-1 {
				fl |= flagPSH
			}
			c.segs = append(c.segs, pkt{t: t, seq: c.snd[dir], ack: c.rcv[dir], plen: uint16(size), dir: uint8(dir), flags: fl, opt: c.dataOpt})
			c.snd[dir] += uint32(size)
			t += gap(size)
		}
		segs := c.segs
		lost := -1
		if dir == s2c && c.chance(lossRate) {
			lost = c.intn(len(segs))
			st.Retransmits++
		}
		if dir == c2s && len(segs) >= 2 && c.chance(reorderRate) {
			k := c.intn(len(segs) - 1)
			segs[k].t, segs[k+1].t = segs[k+1].t, segs[k].t
			segs[k], segs[k+1] = segs[k+1], segs[k]
			st.OutOfOrder++
		}

		// The receiver's ACKs, in the order the segments reach it.
		c.acks = c.acks[:0]
		cum := c.rcv[r]
		var holdL, holdR uint32
		held, count, dups := false, 0, 0
		for k := range segs {
			s := &segs[k]
			if k == lost {
				continue
			}
			end := s.seq + uint32(s.plen)
			ack := false
			if s.seq == cum {
				cum = end
				count++
				if held && holdL == cum {
					cum, held = holdR, false
					ack = true
				}
				last := n == 0 && k == len(segs)-1
				ack = ack || (count%2 == 0 && !last) || (last && ackLast) || (k == len(segs)-1 && !last)
			} else {
				if !held {
					holdL = s.seq
				}
				holdR, held = end, true
				ack = true
				dups++
			}
			if ack {
				a := pkt{t: s.t + ackDelay, seq: c.snd[r], ack: cum, dir: uint8(r), flags: flagACK, opt: c.dataOpt}
				if held {
					a.sackL, a.sackR = holdL, holdR
				}
				c.acks = append(c.acks, a)
			}
		}
		end := c.merge()
		c.rcv[r] = cum
		c.t = end

		if lost >= 0 {
			// Fast retransmit after three duplicate ACKs, else the timer.
			if dups >= 3 {
				c.wait(c.proc())
			} else {
				c.t = max(c.t, segs[lost].t+max(minRTO, c.rtt+minRTO/2))
			}
			re := segs[lost]
			re.t = c.t
			re.ack = c.rcv[dir]
			c.pkts = append(c.pkts, re)
			cum = segs[lost].seq + uint32(segs[lost].plen)
			if held && holdL == cum {
				cum = holdR
			}
			c.wait(ackDelay)
			c.rcv[r] = cum
			c.send(r, flagACK, 0)
		}
		if n > 0 {
			c.wait(nextDelay)
		}
		flight = min(2*flight, 64)
	}
}

// merge appends c.segs and c.acks to the script in time order and returns
// the time of the last packet.
func (c *conn) merge() int64 {
	s, a := c.segs, c.acks
	for len(s) > 0 || len(a) > 0 {
		if len(a) == 0 || (len(s) > 0 && s[0].t <= a[0].t) {
			c.pkts = append(c.pkts, s[0])
			s = s[1:]
		} else {
			c.pkts = append(c.pkts, a[0])
			a = a[1:]
		}
	}
	return c.pkts[len(c.pkts)-1].t
}
