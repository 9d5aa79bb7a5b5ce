package filter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// Classic BPF opcode fields.
const (
	clsLD   = 0x00
	clsLDX  = 0x01
	clsST   = 0x02
	clsSTX  = 0x03
	clsALU  = 0x04
	clsJMP  = 0x05
	clsRET  = 0x06
	clsMISC = 0x07

	sizeW = 0x00
	sizeH = 0x08
	sizeB = 0x10

	modeIMM = 0x00
	modeABS = 0x20
	modeIND = 0x40
	modeMEM = 0x60
	modeLEN = 0x80
	modeMSH = 0xa0

	jmpJA = 0x00

	srcX = 0x08
)

// run executes prog over pkt the way libpcap's bpf_filter does: a load
// past the captured bytes rejects the packet, as does a division by zero,
// and "len" is the length on the wire. It does not allocate.
func run(prog []bpf.RawInstruction, pkt []byte, wireLen uint32) uint32 {
	var a, x uint32
	var mem [memWords]uint32
	n := uint64(len(pkt))
	for pc := 0; pc < len(prog); pc++ {
		ins := &prog[pc]
		k := ins.K
		switch ins.Op & 0x07 {
		case clsLD, clsLDX:
			ld := ins.Op&0x07 == clsLD
			var v uint32
			switch mode := ins.Op & 0xe0; {
			case mode == modeIMM:
				v = k
			case mode == modeLEN:
				v = wireLen
			case mode == modeMEM:
				v = mem[k&(memWords-1)]
			case ld && (mode == modeABS || mode == modeIND):
				off := uint64(k)
				if mode == modeIND {
					off += uint64(x)
				}
				var ok bool
				if v, ok = load(pkt, n, off, ins.Op&0x18); !ok {
					return 0
				}
			case !ld && mode == modeMSH:
				if uint64(k) >= n {
					return 0
				}
				v = uint32(pkt[k]&0xf) << 2
			default:
				return 0
			}
			if ld {
				a = v
			} else {
				x = v
			}
		case clsST:
			mem[k&(memWords-1)] = a
		case clsSTX:
			mem[k&(memWords-1)] = x
		case clsALU:
			v := k
			if ins.Op&srcX != 0 {
				v = x
			}
			switch ins.Op & 0xf0 {
			case 0x00:
				a += v
			case 0x10:
				a -= v
			case 0x20:
				a *= v
			case 0x30:
				if v == 0 {
					return 0
				}
				a /= v
			case 0x40:
				a |= v
			case 0x50:
				a &= v
			case 0x60:
				if v >= 32 {
					a = 0
				} else {
					a <<= v
				}
			case 0x70:
				if v >= 32 {
					a = 0
				} else {
					a >>= v
				}
			case 0x80:
				a = -a
			case 0x90:
				if v == 0 {
					return 0
				}
				a %= v
			case 0xa0:
				a ^= v
			default:
				return 0
			}
		case clsJMP:
			op := ins.Op & 0xf0
			if op == jmpJA {
				pc += int(k)
				continue
			}
			v := k
			if ins.Op&srcX != 0 {
				v = x
			}
			var c bool
			switch op {
			case 0x10:
				c = a == v
			case 0x20:
				c = a > v
			case 0x30:
				c = a >= v
			case 0x40:
				c = a&v != 0
			default:
				return 0
			}
			if c {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case clsRET:
			if ins.Op&0x18 == 0x10 {
				return a
			}
			return k
		case clsMISC:
			if ins.Op&0xf8 == 0x80 {
				a = x
			} else {
				x = a
			}
		}
	}
	return 0
}

func load(pkt []byte, n, off uint64, size uint16) (uint32, bool) {
	switch size {
	case sizeW:
		if off+4 > n {
			return 0, false
		}
		b := pkt[off : off+4]
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
	case sizeH:
		if off+2 > n {
			return 0, false
		}
		return uint32(pkt[off])<<8 | uint32(pkt[off+1]), true
	case sizeB:
		if off >= n {
			return 0, false
		}
		return uint32(pkt[off]), true
	}
	return 0, false
}

// Validate checks a program the way the kernel's sk_chk_filter does: known
// opcodes, jumps that stay inside the program, scratch registers in range,
// no constant division by zero, and a return at the end.
func Validate(prog []bpf.RawInstruction) error {
	if len(prog) == 0 || len(prog) > bpfMaxInsns {
		return fmt.Errorf("filter: program has %d instructions (1 to %d allowed)", len(prog), bpfMaxInsns)
	}
	for pc, ins := range prog {
		bad := func(why string) error {
			return fmt.Errorf("filter: instruction %d (opcode 0x%02x): %s", pc, ins.Op, why)
		}
		rest := len(prog) - pc - 1
		switch ins.Op & 0x07 {
		case clsLD, clsLDX:
			mode := ins.Op & 0xe0
			if mode == modeMEM && ins.K >= memWords {
				return bad("scratch register out of range")
			}
			if mode == modeMSH && ins.Op&0x07 != clsLDX || mode > modeMSH {
				return bad("unknown load mode")
			}
			if ins.Op&0x18 == 0x18 {
				return bad("unknown load size")
			}
		case clsST, clsSTX:
			if ins.K >= memWords {
				return bad("scratch register out of range")
			}
		case clsALU:
			op := ins.Op & 0xf0
			if op > 0xa0 {
				return bad("unknown ALU operation")
			}
			if (op == 0x30 || op == 0x90) && ins.Op&srcX == 0 && ins.K == 0 {
				return bad("division by zero")
			}
		case clsJMP:
			op := ins.Op & 0xf0
			switch {
			case op == jmpJA:
				if uint64(ins.K) >= uint64(rest) {
					return bad("jump past the end")
				}
			case op <= 0x40:
				if int(ins.Jt) >= rest || int(ins.Jf) >= rest {
					return bad("jump past the end")
				}
			default:
				return bad("unknown jump")
			}
		}
	}
	if last := prog[len(prog)-1]; last.Op&0x07 != clsRET {
		return fmt.Errorf("filter: program does not end with a return")
	}
	return nil
}
