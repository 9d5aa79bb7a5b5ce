package summary

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"synfin/tcpstate"
)

// Kind is what a finding names.
type Kind uint8

// Kinds of findings, with the names of watch's where they share one.
const (
	SYNFlood        Kind = iota // many half-open handshakes (SYNs answered or not) to one listener from many sources in a second
	Scan                        // one source, many ports, refused or rejected handshakes within a minute
	AcceptQueueFull             // a listener answered some SYNs while others were retransmitted unanswered, in one second
	LostLastACK                 // a FIN sent again after its ACK was captured, answered from TIME-WAIT
	TimeWaitReuse               // a new SYN on the 4-tuple of a connection still in TIME-WAIT
	ResetStorm                  // one host reset many connections in a second
	ZeroWindowStall             // a receiver advertised a zero window
	NumKinds
)

var kindNames = [NumKinds]string{"syn-flood", "scan", "accept-queue-full", "lost-last-ack",
	"time-wait-reuse", "reset-storm", "zero-window-stall"}

func (k Kind) String() string { return kindNames[k] }

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error {
	i := slices.Index(kindNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("summary: unknown kind of finding %q", b)
	}
	*k = Kind(i)
	return nil
}

// Thresholds. The reference workload (gen) stays below each with a wide
// margin: at its 2,000 new connections a second it has no half-open
// handshake, no source refused on more than one port, about 7% of a
// listener's SYNs retransmitted in a second, and at most about 50
// connections reset by one host in a second.
const (
	floodMin      = 50  // half-open handshakes to a listener in a second
	floodSources  = 20  // from at least this many addresses
	scanPorts     = 20  // ports refused or rejected for one source in a minute
	queueMin      = 3   // SYNs retransmitted unanswered at a listener in a second
	queueShare    = 5   // ... being at least 1/queueShare of its SYNs then
	stormMin      = 100 // connections one host reset in a second
	distinctCap   = 1024
	horizon       = int64(6 * time.Minute) // how late a connection is handed out after its last segment (idle timeout and 2MSL)
	pruneAt       = 1 << 14                // buckets before old ones are settled
	maxBuckets    = 1 << 18                // buckets at most; past it a connection is left out of the windowed detectors
	sec           = int64(time.Second)
	minute        = 60 * sec
	perConnection = -1 // a bucket's slot for findings over the whole capture
)

// Finding is a cause the connections point at, with the evidence: the
// ids conns gives the connections that show it.
type Finding struct {
	Kind Kind   `json:"kind"`
	Addr string `json:"addr,omitempty"` // the listener, source or sender
	// T and Span are the interval, in Unix seconds, of a finding about
	// one (0 for one over the whole capture).
	T     int64 `json:"t,omitempty"`
	Span  int64 `json:"span,omitempty"`
	Count int   `json:"count"` // connections that show it
	// Answered: SYNs the listener answered (accept-queue-full); segments
	// with a zero window (zero-window-stall).
	Answered int `json:"answered,omitempty"`
	// Distinct: sources (syn-flood) or ports (scan), counted up to 1024.
	Distinct int      `json:"distinct,omitempty"`
	Conns    []uint64 `json:"conns"`
	More     int      `json:"more"` // connections not in Conns
	Text     string   `json:"text,omitempty"`
}

type bkey struct {
	kind Kind
	addr netip.AddrPort
	slot int64
}

type bucket struct {
	n, a     int
	ids      []uint64 // the lowest MaxEvidence ids
	distinct map[netip.AddrPort]struct{}
}

func (b *bucket) add(id uint64) {
	b.n++
	i, _ := slices.BinarySearch(b.ids, id)
	if i < MaxEvidence {
		if len(b.ids) == MaxEvidence {
			b.ids = b.ids[:MaxEvidence-1]
		}
		b.ids = slices.Insert(b.ids, i, id)
	}
}

func (b *bucket) see(k netip.AddrPort) {
	if b.distinct == nil {
		b.distinct = make(map[netip.AddrPort]struct{})
	}
	if len(b.distinct) < distinctCap {
		b.distinct[k] = struct{}{}
	}
}

// detector counts what the findings need by (kind, address, interval),
// in buckets: an interval's bucket is settled (found or dropped) once the
// capture's clock is past it by more than a connection can be handed out
// late, so that memory follows the traffic of the last minutes, not the
// capture's length.
type detector struct {
	b       map[bkey]*bucket
	now     int64
	settled []Finding
	skipped int // connections (or parts of them) past maxBuckets
	limit   int
	// tw holds, for each connection handed out because a new SYN reused
	// its tuple while it was in TIME-WAIT, when that TIME-WAIT ends, until
	// the new connection is handed out too.
	tw map[uint64]int64
}

func newDetector() detector {
	return detector{b: make(map[bkey]*bucket), tw: make(map[uint64]int64), limit: pruneAt}
}

func (d *detector) bucket(kind Kind, addr netip.AddrPort, slot int64) *bucket {
	k := bkey{kind, addr, slot}
	b := d.b[k]
	if b == nil {
		if len(d.b) >= d.limit {
			d.prune()
		}
		if len(d.b) >= maxBuckets {
			d.skipped++
			return &bucket{} // counted nowhere: past the bound
		}
		b = &bucket{}
		d.b[k] = b
	}
	return b
}

func (d *detector) add(c *tcpstate.Conn) {
	d.now = max(d.now, c.Last.Time)
	h := &c.Handshake
	syn := h.SYN.Time
	server, client := c.Server.AddrPort(), netip.AddrPortFrom(c.Client.Addr, 0)
	if h.SYN.Seen() && c.Role == tcpstate.RoleSYN && !h.Refused && !h.Rejected {
		q := d.bucket(AcceptQueueFull, server, syn/sec)
		switch {
		case len(h.SYNRetransmits) > 0 && (!h.SYNACK.Seen() || h.SYNRetransmits[0].Time < h.SYNACK.Time):
			q.add(c.ID)
		case h.SYNACK.Seen():
			q.a++
		}
		// Half-open: the client sent nothing but its SYN, answered or
		// not: a spoofed source never goes on, and a listener whose SYN
		// queue the flood filled answers no more SYNs. An unanswered
		// SYN sent again is a real client's (its retransmission timer,
		// RFC 6298), which the accept queue's finding counts.
		if c.Client.Pkts == uint64(1+len(h.SYNRetransmits)) && (h.SYNACK.Seen() || len(h.SYNRetransmits) == 0) {
			f := d.bucket(SYNFlood, server, syn/sec)
			f.add(c.ID)
			f.see(client)
		}
	}
	if h.SYN.Seen() && (h.Refused || h.Rejected) {
		s := d.bucket(Scan, client, syn/minute)
		s.add(c.ID)
		s.see(netip.AddrPortFrom(netip.Addr{}, c.Server.Port))
	}
	if td := &c.Teardown; td.Pattern == tcpstate.PatternAbort && td.RST.Seen() {
		from := netip.AddrPortFrom(c.Endpoint(td.RST.From).Addr, 0)
		d.bucket(ResetStorm, from, td.RST.Time/sec).add(c.ID)
	}
	if n := c.Anomalies[tcpstate.ZeroWindow].Count; n > 0 {
		b := d.bucket(ZeroWindowStall, netip.AddrPort{}, perConnection)
		b.add(c.ID)
		b.a += n
	}
	if c.Anomalies[tcpstate.LostLastACK].Count > 0 {
		d.bucket(LostLastACK, netip.AddrPort{}, perConnection).add(c.ID)
	}
	if until, ok := d.tw[c.Reuse.Prev]; ok && c.Reuse.Prev != 0 {
		delete(d.tw, c.Reuse.Prev)
		if c.First.Time < until {
			d.bucket(TimeWaitReuse, netip.AddrPort{}, perConnection).add(c.ID)
		}
	}
	if tw := c.Teardown.TimeWait; c.End == tcpstate.EndReused && tw.Side != tcpstate.SideNone {
		d.tw[c.ID] = tw.Until()
	}
}

// prune settles the buckets the clock has passed.
func (d *detector) prune() {
	for k, b := range d.b {
		if k.slot != perConnection && (k.slot+1)*span(k.kind) < d.now-horizon {
			d.settle(k, b)
			delete(d.b, k)
		}
	}
	d.limit = max(pruneAt, 2*len(d.b))
}

func span(k Kind) int64 {
	if k == Scan {
		return minute
	}
	return sec
}

// settle keeps b's finding, if it is one.
func (d *detector) settle(k bkey, b *bucket) {
	var found bool
	switch k.kind {
	case SYNFlood:
		found = b.n >= floodMin && len(b.distinct) >= floodSources
	case Scan:
		found = len(b.distinct) >= scanPorts
	case AcceptQueueFull:
		found = b.n >= queueMin && b.a > 0 && queueShare*b.n >= b.n+b.a
	case ResetStorm:
		found = b.n >= stormMin
	default:
		found = b.n > 0
	}
	if !found {
		return
	}
	f := Finding{Kind: k.kind, Count: b.n, Answered: b.a, Distinct: len(b.distinct),
		Conns: slices.Clone(b.ids), More: b.n - len(b.ids)}
	if k.kind == Scan || k.kind == ResetStorm {
		f.Addr = k.addr.Addr().String()
	} else if k.addr.IsValid() {
		f.Addr = k.addr.String()
	}
	if k.slot != perConnection {
		f.T, f.Span = k.slot*span(k.kind)/sec, span(k.kind)/sec
	}
	d.settled = append(d.settled, f)
}

// findings returns the findings so far, in the order of Kind, time and
// address, at most MaxFindings of a kind, and how many more there were.
func (d *detector) findings() ([]Finding, int) {
	saved := d.settled
	for k, b := range d.b {
		d.settle(k, b)
	}
	all := d.settled
	d.settled = saved[:len(saved):len(saved)]
	slices.SortFunc(all, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.T, b.T), cmp.Compare(a.Addr, b.Addr))
	})
	out, left := []Finding{}, 0
	for i, f := range all {
		if i >= MaxFindings && all[i-MaxFindings].Kind == f.Kind {
			left++
			continue
		}
		out = append(out, f)
	}
	return out, left
}
