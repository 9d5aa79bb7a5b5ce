package wire_test

import (
	"encoding/hex"
	"fmt"

	"synfin/wire"
)

// Example decodes a SYN captured as raw IP (LINKTYPE_RAW), lists its TCP
// options and verifies its checksum.
func Example() {
	frame, _ := hex.DecodeString("4500002c0000400040064e95c0000201c6336402" + // IPv4
		"9c400050000003e8000000006002faf010860000" + // TCP
		"020405b4") // option: MSS 1460
	var p wire.Packet
	if err := p.Decode(wire.LinkRaw, frame); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v.%d > %v.%d: flags %v, seq %d, win %d, length %d\n",
		p.Src, p.SrcPort, p.Dst, p.DstPort, p.Flags, p.Seq, p.Window, p.PayloadLen)
	it := wire.IterOptions(p.Options)
	for o, ok := it.Next(); ok; o, ok = it.Next() {
		fmt.Printf("option %d, value %x\n", o.Kind, o.Data)
	}
	seg := frame[p.TransOff:]
	src, dst := p.Src.As4(), p.Dst.As4()
	sum := wire.Checksum(seg, wire.PseudoHeaderChecksum(p.Proto, src[:], dst[:], len(seg)))
	fmt.Println("checksum correct:", sum == 0xffff)
	// Output:
	// 192.0.2.1.40000 > 198.51.100.2.80: flags S, seq 1000, win 64240, length 0
	// option 2, value 05b4
	// checksum correct: true
}
