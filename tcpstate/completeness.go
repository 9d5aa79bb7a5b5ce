package tcpstate

import "synfin/wire"

// Wireshark's conversation completeness bits (tcp.completeness).
const (
	CompleteSYN    uint8 = 1  // the conversation began with a SYN without ACK
	CompleteSYNACK uint8 = 2  // a SYN-ACK
	CompleteACK    uint8 = 4  // a segment with ACK, no SYN and no payload
	CompleteData   uint8 = 8  // a segment with ACK, no SYN and payload (or data on the first SYN)
	CompleteFIN    uint8 = 16 // a segment with FIN and ACK
	CompleteRST    uint8 = 32 // a segment with RST
)

// Completeness is Wireshark's tcp.completeness of the connection: 31 (or
// 63 with a reset) is a conversation seen whole from SYN to FIN.
//
// Wireshark (packet-tcp.c) sets SYN only when a conversation's first
// segment is a SYN without ACK (and DATA if that SYN carries payload, as
// with TCP Fast Open). Every other segment adds SYN-ACK for SYN+ACK; ACK
// or DATA, by payload, for ACK without SYN (so a FIN-ACK or RST-ACK
// without payload adds ACK); FIN for FIN+ACK; RST for RST. On its first
// pass it skips the first segment's other flags; once a file has been
// read (tshark -2, and what display filters on tcp.completeness see) they
// count too if the conversation has more segments. Completeness follows
// the latter.
//
// With track.Config.Segments the bits come from the segments and are
// exact. Without, they are worked out from the handshake, teardown and
// byte counts, which do not keep every segment's flags: a pure ACK outside
// the handshake and the acknowledgment of a FIN, or a FIN or reset's own
// flags, can be missed or guessed.
func (c *Conn) Completeness() uint8 {
	if len(c.Segments) > 0 && c.Segments[0].Index == c.First.Seg {
		return completenessOf(c.Segments)
	}
	return c.completenessFromSummary()
}

func completenessOf(segs []Segment) uint8 {
	if len(segs) == 0 {
		return 0
	}
	var bits uint8
	if first := &segs[0]; first.Flags&(wire.SYN|wire.ACK) == wire.SYN {
		bits |= CompleteSYN
		if first.Len > 0 {
			bits |= CompleteData
		}
	}
	if len(segs) == 1 {
		return bits
	}
	for i := range segs {
		s := &segs[i]
		f := s.Flags
		switch f & (wire.SYN | wire.ACK) {
		case wire.SYN | wire.ACK:
			bits |= CompleteSYNACK
		case wire.ACK:
			if s.Len > 0 {
				bits |= CompleteData
			} else {
				bits |= CompleteACK
			}
		}
		if f&(wire.FIN|wire.ACK) == wire.FIN|wire.ACK {
			bits |= CompleteFIN
		}
		if f&wire.RST != 0 {
			bits |= CompleteRST
		}
	}
	return bits
}

// completenessFromSummary approximates the bits from what a connection
// keeps without its segments.
func (c *Conn) completenessFromSummary() uint8 {
	var bits uint8
	h, td := &c.Handshake, &c.Teardown
	if h.SYN.Seen() && h.SYN.Seg == c.First.Seg && c.Role == RoleSYN {
		bits |= CompleteSYN
		if c.Client.Options.TFOData > 0 {
			bits |= CompleteData
		}
	}
	if c.Pkts < 2 {
		return bits
	}
	if h.SYNACK.Seen() {
		bits |= CompleteSYNACK
	}
	data := c.Client.Bytes+c.Server.Bytes > uint64(c.Client.Options.TFOData)
	switch {
	case h.ACK.Seen(), td.ClientFIN.Ack.Seen(), td.ServerFIN.Ack.Seen():
		bits |= CompleteACK
	case h.Refused: // answered with RST-ACK by every common stack
		bits |= CompleteACK
	case h.SYNACK.Seen() && c.Client.Pkts >= 2:
		bits |= CompleteACK // the client goes on after the SYN-ACK
	case data && c.Pkts >= 3:
		bits |= CompleteACK // data is acknowledged, at the latest at the end
	}
	// Stacks send a FIN with ACK once the handshake is done.
	if td.ClientFIN.Seen() || td.ServerFIN.Seen() {
		bits |= CompleteFIN | CompleteACK
	}
	if td.RST.Seen() {
		bits |= CompleteRST
	}
	if data {
		bits |= CompleteData
	}
	return bits
}
