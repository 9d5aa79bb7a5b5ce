package tcpstate

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"time"

	"synfin/internal/snapshot"
)

// Brief is what a table of connections shows of one, and what orders it
// among the others: less than a Conn, and cheap to keep. A tracker with
// track.Config.Brief and no Done keeps a brief with each connection it
// holds as a snapshot and hands that out, so a connection that waits out
// 2MSL as a snapshot is never read back.
type Brief struct {
	ID             uint64
	End            End
	Client, Server netip.AddrPort
	ClientState    State // final states, as in Conn.Client.State
	ServerState    State
	Pattern        Pattern
	Duration       time.Duration
	ClientBytes    uint64 // as in Conn.Client.Bytes
	ServerBytes    uint64
	Last           SegRef
	Prev           uint64 // Conn.Reuse.Prev
	// Anomalies has every anomaly counted, Counts their counts (the
	// others' are zero).
	Anomalies Anomalies
	Counts    [NumAnomalies]int
}

// Brief fills b with c's brief.
func (c *Conn) Brief(b *Brief) {
	*b = Brief{
		ID: c.ID, End: c.End, Client: c.Client.AddrPort(), Server: c.Server.AddrPort(),
		ClientState: c.Client.State, ServerState: c.Server.State, Pattern: c.Teardown.Pattern,
		Duration: c.Duration(), ClientBytes: c.Client.Bytes, ServerBytes: c.Server.Bytes,
		Last: c.Last, Prev: c.Reuse.Prev,
	}
	for a := range c.Anomalies {
		if n := c.Anomalies[a].Count; n != 0 {
			b.Anomalies |= 1 << a
			b.Counts[a] = n
		}
	}
}

// AppendBrief appends to b the brief c will have when handed out for why,
// without finishing c, for a tracker to keep with c's snapshot (after
// its key, before its state) and hand out, read by Brief.Load, without
// reading the state back. Only what Finish settles
// can differ from c's fields now, and for the connections each store
// holds it does not depend on the moment or, within the reasons that
// store's connections are handed out for, on why: a closed connection
// (the ice) always settles as EndClosed does, an open one (cold) as any
// other reason does. TestBriefBeforeFinish checks both.
//
// The brief is a section of its own, its length first in two bytes, so
// that reading the state after it skips it without decoding it.
func (c *Analyzer) AppendBrief(b []byte, why End) []byte {
	w := snapshot.Writer{B: b}
	at := len(w.B)
	w.B = append(w.B, 0, 0)
	client, server := c.adoptedFinals()
	if c.pendingListen {
		server = Unknown
	}
	_, pattern := c.teardown(why)
	w.Bools(c.clientIsLower())
	w.Uint(uint64(client))
	w.Uint(uint64(server))
	w.Uint(uint64(pattern))
	w.Int(c.Last.Time - c.First.Time)
	w.Uint(c.sent(C2S))
	w.Uint(c.sent(S2C))
	w.Uint(c.Reuse.Prev)
	w.Uint(uint64(c.anoms))
	for m := c.anoms; m != 0; m &= m - 1 {
		w.Uint(uint64(c.Anomalies[bits.TrailingZeros32(uint32(m))].Count))
	}
	// What Finish settles on the clock at hand-out: Load takes it.
	w.Int(c.giveUpBy())
	binary.LittleEndian.PutUint16(w.B[at:], uint16(len(w.B)-at-2))
	return w.B
}

// Load fills b from data, a brief that AppendBrief wrote, without its
// two bytes of length, for the connection between lower and upper (the
// endpoints in netip.AddrPort.Compare order), handed out at now on the
// capture's clock (which settles a client's SYN given up, as Finish
// does). ID, End and Last are left for the caller, which keeps them
// anyway.
func (b *Brief) Load(data []byte, lower, upper netip.AddrPort, now int64) error {
	r := snapshot.Reader{B: data}
	var clientIsLower bool
	r.Bools(&clientIsLower)
	*b = Brief{Client: lower, Server: upper}
	if !clientIsLower {
		b.Client, b.Server = b.Server, b.Client
	}
	b.ClientState = State(r.Uint())
	b.ServerState = State(r.Uint())
	b.Pattern = Pattern(r.Uint())
	b.Duration = time.Duration(r.Int())
	b.ClientBytes = r.Uint()
	b.ServerBytes = r.Uint()
	b.Prev = r.Uint()
	b.Anomalies = Anomalies(r.Uint())
	for m := b.Anomalies; m != 0; m &= m - 1 {
		if a := bits.TrailingZeros32(uint32(m)); a < int(NumAnomalies) {
			b.Counts[a] = int(r.Uint())
		}
	}
	if by := r.Int(); by != 0 && now > by {
		b.ClientState = Closed
	}
	return r.Err
}
