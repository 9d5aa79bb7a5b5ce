package gen

import (
	"encoding/binary"
	"fmt"
)

// Ingredient is a kind of trouble Write can add to the workload, each
// with a population Config.Extra sets, so that a finding of synfin's
// summary can be checked against what was put in. Each ingredient plays
// out in a second of its own, from 0.2 s into second k+1 of the capture
// (k its number), beside the reference connections.
type Ingredient uint8

// The ingredients; N is Config.Extra's count.
const (
	// SYNFlood: N SYNs from N spoofed sources (198.18.0.0/15) to the
	// server's port 9988 within 0.6 s; the server answers each with a
	// SYN-ACK, sent again after 1 s and 3 s, and no source ever answers.
	SYNFlood Ingredient = iota
	// Scan: one source (203.0.113.7, one source port) sends a SYN to N
	// closed ports of 192.168.0.11 (from port 1 up, 2 ms apart); each is
	// refused with RST-ACK.
	Scan
	// AcceptQueueFull: N clients connect to 192.168.0.12:8080 within
	// 0.1 s; its accept queue (listen backlog 10, so 11 handshakes) is
	// full and never drained: the first 11 complete their handshake, the
	// others' SYNs go unanswered, sent again after 1 s and 3 s.
	AcceptQueueFull
	// ResetStorm: N connections from distinct clients to the server's
	// port 9988 exchange a request and an answer; then the server resets
	// all N within 0.1 s.
	ResetStorm
	// ZeroWindow: N uploads to port 9988 stall on the server's zero
	// window for 0.5 s, until its window update; then the client closes.
	ZeroWindow
	// TimeWaitReuse: N clients each connect to port 9988 and close first
	// (so they hold TIME-WAIT), then connect again from the same port
	// 0.3 s later: 2N connections, N of them reusing a TIME-WAIT tuple.
	TimeWaitReuse
	// LostLastACK: N connections to port 9988 whose client closes first;
	// its last ACK is lost past the capture point, so the server sends its
	// FIN again and the client answers it from TIME-WAIT.
	LostLastACK
	NumIngredients
)

// IngredientNames are the ingredients' names, gen's option names too.
var IngredientNames = [NumIngredients]string{
	"synflood", "scan", "accept-queue-full", "reset-storm", "zero-window",
	"time-wait-reuse", "lost-last-ack",
}

func (k Ingredient) String() string { return IngredientNames[k] }

// backlog is the full listener's listen backlog, the seed's; Linux
// completes one handshake more than it.
const backlog = 10

// maxExtra bounds each ingredient's population by the addresses it has.
var maxExtra = [NumIngredients]int{
	SYNFlood: 1<<17 - 2, Scan: 65000, AcceptQueueFull: 1<<16 - 1, ResetStorm: 1<<16 - 1,
	ZeroWindow: 1<<16 - 1, TimeWaitReuse: 1<<16 - 1, LostLastACK: 1<<16 - 1,
}

func checkExtra(extra [NumIngredients]int) error {
	for k, n := range extra {
		if n < 0 || n > maxExtra[k] {
			return fmt.Errorf("gen: %s takes 0 to %d, not %d", IngredientNames[k], maxExtra[k], n)
		}
	}
	return nil
}

// extra is one ingredient connection to start.
type extra struct {
	at   int64 // Unix ns of its first packet
	kind Ingredient
	j, n int   // its number within the ingredient, and how many it has
	mark int64 // Unix ns of the ingredient's common moment (a reset storm's)
}

// extraArrivals lists the ingredients' connections in order of start.
func extraArrivals(cfg Config) []extra {
	var out []extra
	for k := range NumIngredients {
		n := cfg.Extra[k]
		base := cfg.Start.UnixNano() + int64(k+1)*sec + 200*ms
		spread := map[Ingredient]int64{SYNFlood: 600 * ms, Scan: 600 * ms, AcceptQueueFull: 100 * ms}[k]
		if spread == 0 {
			spread = 300 * ms
		}
		for j := range n {
			out = append(out, extra{at: base + spread*int64(j)/int64(n), kind: k, j: j, n: n, mark: base + 400*ms})
		}
	}
	// Each ingredient keeps to a second of its own, in order.
	return out
}

// newExtra sets up an ingredient's connection with number i.
func (g *generator) newExtra(i int64, e extra) *conn {
	c := g.setup(i, e.at)
	if c.v6 { // the ingredients are IPv4
		g.st.IPv6--
		g.st.IPv4++
		c.v6 = false
		c.mss = [2]uint16{1460, 1460}
		c.synWin = [2]uint16{64240, 65160}
		c.seg = [2]int{int(c.mss[c2s]), int(c.mss[c2s])}
		if c.ts {
			c.seg = [2]int{c.seg[0] - 12, c.seg[1] - 12}
		}
	}
	c.cli, c.srv = [16]byte{}, [16]byte{}
	copy(c.srv[:], serverV4[0][:])
	c.rtt = 1 * ms
	host := func(a, b byte) { c.cli = [16]byte{a, b, byte((e.j + 1) >> 8), byte(e.j + 1)} }
	g.st.Conns++
	switch e.kind {
	case SYNFlood:
		binary.BigEndian.PutUint32(c.cli[:], 198<<24|18<<16+uint32(e.j+1)) // 198.18.0.0/15
		c.tx(c2s, flagSYN, 0)
		c.respond(s2c)
		c.send(s2c, flagSYN|flagACK, 0)
		for _, d := range []int64{1 * sec, 2 * sec} {
			c.wait(d)
			c.resend(1)
		}
	case Scan:
		c.cli = [16]byte{203, 0, 113, 7}
		c.srv = [16]byte{192, 168, 0, 11}
		c.cport = 61000
		c.sport = uint16(1 + e.j)
		if c.sport >= serverPort {
			c.sport += 2 // past the open port and the reference's closed one
		}
		c.isn[s2c] = 0
		c.tx(c2s, flagSYN, 0)
		c.respond(s2c)
		c.send(s2c, flagRST|flagACK, 0).opt = optNone
	case AcceptQueueFull:
		host(172, 20)
		c.srv = [16]byte{192, 168, 0, 12}
		c.sport = 8080
		if e.j <= backlog {
			c.handshake()
			break
		}
		c.send(c2s, flagSYN, 0)
		c.wait(1 * sec)
		c.resend(0)
		c.wait(2 * sec)
		c.resend(0)
	case ResetStorm:
		host(172, 21)
		c.handshake()
		c.tx(c2s, flagPSH|flagACK, 200)
		c.respond(s2c)
		c.tx(s2c, flagPSH|flagACK, 300)
		c.respond(c2s)
		c.tx(c2s, flagACK, 0)
		c.t = max(c.t, e.mark-e.at+int64(e.j)*100*ms/int64(e.n))
		c.send(s2c, flagRST|flagACK, 0).opt = optNone
	case ZeroWindow:
		host(172, 22)
		c.handshake()
		for range 4 {
			c.wait(gap(c.seg[c2s]))
			c.send(c2s, flagACK, c.seg[c2s])
		}
		c.deliver(c2s)
		c.respond(s2c)
		c.send(s2c, flagACK, 0).zwin = true
		c.wait(500 * ms)
		c.send(s2c, flagACK, 0) // the window update
		c.respond(c2s)
		c.closeFrom(c2s)
	case TimeWaitReuse:
		host(172, 23)
		c.handshake()
		c.closeFrom(c2s)
		c.wait(300 * ms)
		c.snd[c2s] += 1 << 20 // new initial sequence numbers
		c.snd[s2c] += 1 << 24
		c.handshake()
		c.closeFrom(c2s)
		g.st.Conns++
	case LostLastACK:
		host(172, 24)
		c.handshake()
		c.closeFrom(c2s)
		n := len(c.pkts)
		c.wait(minRTO)
		c.resend(n - 2) // the server's FIN
		c.respond(c2s)
		c.resend(n - 1) // the client's ACK, from TIME-WAIT
	}
	return g.keep(c)
}

// handshake is a three-way handshake.
func (c *conn) handshake() {
	c.tx(c2s, flagSYN, 0)
	c.respond(s2c)
	c.tx(s2c, flagSYN|flagACK, 0)
	c.respond(c2s)
	c.tx(c2s, flagACK, 0)
}

// closeFrom is a four-segment close that first starts.
func (c *conn) closeFrom(first int) {
	other := 1 - first
	c.tx(first, flagFIN|flagACK, 0)
	c.respond(other)
	c.tx(other, flagACK, 0)
	c.wait(30 * us)
	c.tx(other, flagFIN|flagACK, 0)
	c.respond(first)
	c.tx(first, flagACK, 0)
}
