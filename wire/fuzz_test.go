package wire

import "testing"

// FuzzDecode feeds arbitrary frames of every link type to Decode: it must
// never panic, and what it reports must lie within the frame.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(0), benchSegment)
	f.Add(uint8(2), benchSegment[14:])
	f.Add(uint8(1), []byte{0x60, 0, 0, 0, 0, 8, 6, 64})
	links := []LinkType{LinkEthernet, LinkNull, LinkRaw, LinkLoop, LinkLinuxSLL, LinkSLL2, LinkIPv4, LinkIPv6, LinkRawDLT12,
		LinkPPP, LinkPPPoE, LinkPPPD, LinkNFLOG, LinkIPoIB}
	f.Fuzz(func(t *testing.T, l uint8, b []byte) {
		var p Packet
		lt := links[int(l)%len(links)]
		err := p.Decode(lt, b)
		if err != nil {
			return
		}
		if !p.HasTCP || p.TransOff+20 > len(b) || p.PayloadOff > len(b) || p.PayloadLen < 0 {
			t.Fatalf("inconsistent TCP packet: %+v", p)
		}
		if pl := p.Payload(); len(pl) > p.PayloadLen {
			t.Fatalf("payload %d bytes, PayloadLen %d", len(pl), p.PayloadLen)
		}
		it := IterOptions(p.Options)
		for {
			if _, ok := it.Next(); !ok {
				break
			}
		}
		_ = ParseOptions(p.Options)
		_ = AppendSACK(nil, p.Options)
	})
}
