package tcpdumptext

import (
	"net/netip"

	"synfin/seqnum"
	"synfin/wire"
)

// SeqNumbers says whether the text's sequence numbers are absolute (-S).
type SeqNumbers int

const (
	// SeqAuto decides from the numbers themselves.
	SeqAuto SeqNumbers = iota
	SeqRelative
	SeqAbsolute
)

// convKey is print-tcp.c's tcp_seq_hash key: the addresses and ports
// ordered so that both directions share one entry.
type convKey struct {
	a, b netip.Addr
	port uint32
}

// convBase is a tcp_seq_hash entry: the numbers relative ones count from.
type convBase struct{ seq, ack uint32 }

type dirKey struct {
	src, dst     netip.Addr
	sport, dport uint16
}

// dirState remembers what a direction last showed, to estimate the
// sequence number of pure ACKs, which tcpdump does not print.
type dirState struct {
	nxt, ack       uint32
	hasNxt, hasAck bool
}

// maxConvs bounds the tables; past it they start afresh (a long-running
// pipe must not grow without bound).
const maxConvs = 1 << 18

// key orders the endpoints as print-tcp.c does: reversed when the source
// port is higher, or on equal ports when the source address compares
// higher byte by byte.
func key(s *segment) (convKey, bool) {
	rev := s.sport > s.dport
	if s.sport == s.dport {
		rev = s.src.Compare(s.dst) > 0
	}
	if rev {
		return convKey{s.dst, s.src, uint32(s.dport)<<16 | uint32(s.sport)}, true
	}
	return convKey{s.src, s.dst, uint32(s.sport)<<16 | uint32(s.dport)}, false
}

// absolute makes s's sequence numbers absolute, inverting tcpdump's
// relative numbering (print-tcp.c, tcp_seq_hash): relative numbers appear
// only on ACK-bearing packets; the first ACK-bearing packet of a
// conversation, and any SYN, records the bases and is printed absolute.
func (r *Reader) absolute(s *segment) {
	if s.quiet {
		return
	}
	if len(r.convs) > maxConvs || len(r.dirs) > maxConvs {
		clear(r.convs)
		clear(r.dirs)
	}
	dk := dirKey{s.src, s.dst, s.sport, s.dport}
	rk := dirKey{s.dst, s.src, s.dport, s.sport}
	if !s.hasSeq {
		if d, ok := r.dirs[dk]; ok && d.hasNxt {
			s.seq = d.nxt
		} else if p, ok := r.dirs[rk]; ok && p.hasAck {
			s.seq = p.ack
		}
	}
	if s.flags&wire.ACK != 0 {
		k, rev := key(s)
		th, found := r.convs[k]
		if !found || s.flags&wire.SYN != 0 {
			if rev {
				th = convBase{seq: s.ack - 1, ack: s.seq}
			} else {
				th = convBase{seq: s.seq, ack: s.ack - 1}
			}
			r.convs[k] = th
		} else {
			sb, ab := th.seq, th.ack
			if rev {
				sb, ab = th.ack, th.seq
			}
			if r.relative(s, sb, ab) {
				if s.hasSeq {
					s.seq += sb
				}
				s.ack += ab
			}
		}
		// SACK edges are relative to the peer's base whenever the packet
		// carries ACK; pick whichever reading lies nearer the ack.
		base := th.ack
		if rev {
			base = th.seq
		}
		ack := seqnum.Value(s.ack)
		for _, at := range s.sacks {
			v := be32(s.opts[at:])
			c := v + base
			if r.seqMode == SeqRelative || (r.seqMode == SeqAuto && seqnum.Value(c).Distance(ack) < seqnum.Value(v).Distance(ack)) {
				putBE32(s.opts[at:], c)
			}
		}
	}
	d := r.dirs[dk]
	n := s.seq + uint32(s.length)
	if s.flags&wire.SYN != 0 {
		n++
	}
	if s.flags&wire.FIN != 0 {
		n++
	}
	if s.hasSeq || !d.hasNxt || seqnum.Value(d.nxt).LessThan(seqnum.Value(n)) {
		d.nxt, d.hasNxt = n, true
	}
	if s.flags&wire.ACK != 0 {
		d.ack, d.hasAck = s.ack, true
	}
	r.dirs[dk] = d
}

// relative reports whether the printed numbers of s are relative to the
// bases sb and ab. -S is a global flag, so the first clear answer decides
// for the whole input.
func (r *Reader) relative(s *segment, sb, ab uint32) bool {
	switch r.seqMode {
	case SeqRelative:
		return true
	case SeqAbsolute:
		return false
	}
	var dRel, dAbs uint64
	if s.hasSeq {
		dRel += uint64(seqnum.Value(s.seq).Distance(0))
		dAbs += uint64(seqnum.Value(s.seq).Distance(seqnum.Value(sb)))
	}
	dRel += uint64(seqnum.Value(s.ack).Distance(0))
	dAbs += uint64(seqnum.Value(s.ack).Distance(seqnum.Value(ab)))
	switch {
	case dRel*16 < dAbs && dAbs > 1<<16:
		r.seqMode = SeqRelative
	case dAbs*16 < dRel && dRel > 1<<16:
		r.seqMode = SeqAbsolute
	}
	return dRel < dAbs
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func putBE32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}
