package gen

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"time"
)

// Client address space: connection i comes from host i mod clientHosts
// (scrambled) and takes that host's (i / clientHosts)-th ephemeral port
// (scrambled), so no two connections share a 4-tuple.
const (
	clientHosts    = 4096
	ephemeralBase  = 32768 // Linux's default ip_local_port_range
	ephemeralPorts = 28232
)

// Payload bytes come from one random block; a segment's bytes depend on
// its sequence number, so a retransmission repeats them.
const payloadBlock = 1 << 16

// bufSize is how much output is gathered before each write.
const bufSize = 1 << 20

// maxRecord bounds one record: pcapng block header and trailer, Ethernet,
// IPv6, TCP with options, a full segment and padding.
const maxRecord = 2048

type generator struct {
	seed     uint64
	pcapng   bool
	transfer int // segments of the one connection, or 0
	reorder  bool
	w        io.Writer
	out      []byte
	err      error
	st       Stats
	pay      []byte
	arr      rand.PCG // connection arrivals
	open     []*conn  // min-heap by (at, id)
	free     []*conn

	scratch, acks, segs []pkt             // where scripts are built
	slabs               [numSlabs][][]pkt // finished scripts' memory, by size class

	first, last int64 // Unix ns of the first and last packets
	extras      int64 // ingredients' connections begun
}

// Write writes the capture cfg describes to w and returns what it wrote.
func Write(w io.Writer, cfg Config) (Stats, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Stats{}, err
	}
	g := &generator{
		seed:     cfg.Seed,
		pcapng:   cfg.PcapNG,
		transfer: cfg.Transfer,
		reorder:  cfg.Reorder,
		w:        w,
		out:      make([]byte, 0, bufSize),
		pay:      make([]byte, payloadBlock+maxRecord),
	}
	g.arr.Seed(mix64(cfg.Seed^0x6172726976616c73), mix64(cfg.Seed+1))
	var pr rand.PCG
	pr.Seed(mix64(cfg.Seed^0x7061796c6f616473), mix64(cfg.Seed+2))
	for i := 0; i < len(g.pay); i += 8 {
		binary.LittleEndian.PutUint64(g.pay[i:], pr.Uint64())
	}
	g.fileHeader()
	for k, n := range cfg.Extra {
		g.st.Extra[k] = int64(n)
	}

	total := int64(cfg.Conns) * int64(cfg.Scale)
	meanGap := 1e9 / cfg.Rate
	arrival := cfg.Start.UnixNano()
	extras := extraArrivals(cfg)
	for i := int64(0); ; {
		if len(extras) > 0 && (i >= total || extras[0].at < arrival) && (len(g.open) == 0 || extras[0].at <= g.open[0].at) {
			e := extras[0]
			extras = extras[1:]
			g.push(g.newExtra(total+g.extras, e))
			g.extras++
			continue
		}
		if i < total && (len(g.open) == 0 || arrival <= g.open[0].at) {
			g.push(g.newConn(i, arrival))
			i++
			arrival += int64(-math.Log(1-float64(g.arr.Uint64()>>11)*0x1p-53) * meanGap)
			continue
		}
		if len(g.open) == 0 {
			break
		}
		c := g.open[0]
		g.emit(c, &c.pkts[c.next])
		if g.err != nil {
			return g.st, g.err
		}
		c.next++
		if c.next == len(c.pkts) {
			g.pop()
			g.release(c)
		} else {
			c.at = c.start + c.pkts[c.next].t
			g.down(0)
		}
	}
	g.flush()
	if g.st.Packets > 0 {
		g.st.First, g.st.Last = stamp(g.first), stamp(g.last)
	}
	return g.st, g.err
}

// mix64 is splitmix64's finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

var (
	serverV4 = [2][4]byte{{192, 168, 0, 10}, {192, 168, 0, 11}}
	serverV6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 0x10}
)

// newConn sets up connection i starting at Unix ns start and builds its script.
func (g *generator) newConn(i, start int64) *conn {
	c := g.setup(i, start)
	var lc Lifecycle
	if g.transfer > 0 {
		lc = c.bulk(&g.st, g.transfer, g.reorder)
	} else {
		lc = c.script(&g.st)
	}
	g.st.Lifecycles[lc]++
	g.st.Conns++
	return g.keep(c)
}

// setup draws connection i's hosts and stacks, starting at Unix ns start.
func (g *generator) setup(i, start int64) *conn {
	var c *conn
	if n := len(g.free); n > 0 {
		c = g.free[n-1]
		g.free = g.free[:n-1]
	} else {
		c = new(conn)
	}
	// The script is built in the generator's scratch space, then copied to
	// a pooled slab of just the right size class.
	*c = conn{id: i, start: start, at: start, pkts: g.scratch[:0], acks: g.acks[:0], segs: g.segs[:0]}
	c.rng.Seed(mix64(g.seed+uint64(i)*0x9e3779b97f4a7c15), mix64(^g.seed^uint64(i)))

	// The host: odd multipliers permute host numbers and ports.
	h := (uint64(i)%clientHosts*2654435761 + g.seed) % clientHosts
	q := uint64(i) / clientHosts
	hh := mix64(h ^ g.seed<<1)
	c.v6 = hh%5 == 0
	c.windows = hh>>8%10 == 0
	hops := uint8(2 + hh>>16%18)
	c.cport = uint16(ephemeralBase + (q*7919+h*131)%ephemeralPorts)
	c.sport = serverPort
	if c.v6 {
		c.cli = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0x00, 0xc0, byte(h >> 8), byte(h)}
		binary.BigEndian.PutUint64(c.cli[8:], mix64(hh)&^(1<<57)) // a random interface ID
		c.srv = serverV6
		g.st.IPv6++
	} else {
		a := uint32(10)<<24 | uint32(h*0x9e3779+g.seed*0x1000)&0xffffff
		binary.BigEndian.PutUint32(c.cli[:], a)
		copy(c.srv[:], serverV4[c.intn(2)][:])
		g.st.IPv4++
	}

	// The stacks: Linux servers; Linux clients, a tenth of hosts Windows.
	c.ts = !c.windows
	c.dataOpt = optNone
	if c.ts {
		c.dataOpt = optTS
	}
	c.ttl = [2]uint8{64 - hops, 64}
	c.win = [2]uint16{uint16(501 + c.intn(4)*64), 509}
	c.wscale = [2]uint8{7, 7}
	c.mss = [2]uint16{1460, 1460}
	c.synWin = [2]uint16{64240, 65160}
	if c.v6 {
		c.mss = [2]uint16{1440, 1440}
		c.synWin = [2]uint16{64800, 64260}
	}
	if c.windows {
		c.ttl[c2s] = 128 - hops
		c.win[c2s] = 1026
		c.wscale[c2s] = 8
	}
	if hh>>24%8 == 0 { // behind a tunnel
		c.mss[c2s] -= 60
	}
	for d := range 2 {
		c.isn[d] = uint32(c.rng.Uint64())
		c.ipid[d] = uint16(c.rng.Uint64())
		c.flow[d] = uint32(c.rng.Uint64()) & 0xfffff
		c.tsBase[d] = uint32(c.rng.Uint64())
		c.payOff[d] = c.intn(payloadBlock)
		c.seg[d] = int(min(c.mss[c2s], c.mss[s2c]))
		if c.ts {
			c.seg[d] -= 12
		}
	}

	return c
}

// keep moves c's script from the scratch space to a pooled slab.
func (g *generator) keep(c *conn) *conn {
	g.scratch, g.acks, g.segs = c.pkts[:0], c.acks[:0], c.segs[:0]
	s := g.slab(len(c.pkts))
	copy(s, c.pkts)
	c.pkts, c.acks, c.segs = s, nil, nil
	return c
}

// Script slabs come in power-of-two size classes from minSlab up.
const (
	minSlab  = 4
	numSlabs = 13
)

func slabClass(n int) int { return max(bits.Len(uint(n-1)), minSlab) }

// slab returns a script slice of length n from the pool.
func (g *generator) slab(n int) []pkt {
	k := slabClass(n)
	if k < numSlabs {
		if l := g.slabs[k]; len(l) > 0 {
			s := l[len(l)-1]
			g.slabs[k] = l[:len(l)-1]
			return s[:n]
		}
	}
	return make([]pkt, n, 1<<k)
}

// release returns a finished connection and its script to the pools.
func (g *generator) release(c *conn) {
	if k := slabClass(cap(c.pkts)); k < numSlabs {
		g.slabs[k] = append(g.slabs[k], c.pkts[:0])
	}
	c.pkts = nil
	g.free = append(g.free, c)
}

func (g *generator) less(i, j int) bool {
	a, b := g.open[i], g.open[j]
	return a.at < b.at || a.at == b.at && a.id < b.id
}

func (g *generator) push(c *conn) {
	g.open = append(g.open, c)
	g.st.MaxOpen = max(g.st.MaxOpen, len(g.open))
	for i := len(g.open) - 1; i > 0; {
		p := (i - 1) / 2
		if !g.less(i, p) {
			break
		}
		g.open[i], g.open[p] = g.open[p], g.open[i]
		i = p
	}
}

func (g *generator) pop() {
	n := len(g.open) - 1
	g.open[0] = g.open[n]
	g.open[n] = nil
	g.open = g.open[:n]
	g.down(0)
}

func (g *generator) down(i int) {
	n := len(g.open)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && g.less(r, l) {
			m = r
		}
		if !g.less(m, i) {
			return
		}
		g.open[i], g.open[m] = g.open[m], g.open[i]
		i = m
	}
}

// flush writes the pending output.
func (g *generator) flush() {
	if g.err != nil || len(g.out) == 0 {
		return
	}
	n, err := g.w.Write(g.out)
	g.st.Bytes += int64(n)
	if err != nil {
		g.err = fmt.Errorf("gen: %w", err)
	}
	g.out = g.out[:0]
}

// stamp is a packet time as the file records it (microseconds).
func stamp(at int64) time.Time { return time.Unix(0, at/1000*1000).UTC() }
