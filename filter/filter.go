package filter

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/bpf"

	"synfin/wire"
)

// DefaultSnaplen is what a matching packet's program returns unless
// CompileSnaplen says otherwise: tcpdump's default snapshot length.
const DefaultSnaplen = 262144

// ErrRejectsAll is returned for an expression no packet of the link type
// can match, as tcpdump refuses it ("expression rejects all packets").
var ErrRejectsAll = errors.New("filter: expression rejects all packets")

// Filter is a compiled expression.
type Filter struct {
	expr string
	prog []bpf.RawInstruction
	ins  []bpf.Instruction
	vlan bool
}

// Compile compiles a pcap-filter expression for frames of link type link.
// An empty expression matches every frame.
func Compile(expr string, link wire.LinkType) (*Filter, error) {
	return CompileSnaplen(expr, link, DefaultSnaplen)
}

// CompileSnaplen is Compile with the value a matching program returns
// (the snapshot length of the capture, as libpcap uses it).
func CompileSnaplen(expr string, link wire.LinkType, snaplen uint32) (*Filter, error) {
	if !link.Supported() {
		return nil, fmt.Errorf("filter: link type %d is not supported", uint32(link))
	}
	if snaplen == 0 {
		snaplen = DefaultSnaplen
	}
	f := &Filter{expr: strings.TrimSpace(expr)}
	root := pTrue
	if f.expr != "" {
		toks, err := lex(expr)
		if err != nil {
			return nil, err
		}
		p := &parser{toks: toks, link: link}
		root, err = p.parseExpr()
		if err != nil {
			return nil, err
		}
		if t := p.peek(); t.kind != tEOF {
			if t.text == ")" {
				return nil, errAt(t.pos, "unbalanced ')'")
			}
			return nil, errAt(t.pos, "unexpected %s", describe(t))
		}
		f.vlan = p.usesVLAN
		if root.kind == pConst && !root.val {
			return nil, ErrRejectsAll
		}
	}
	var a assembler
	acc, rej := a.newLabel(), a.newLabel()
	a.gen(root, acc, rej)
	a.place(acc)
	a.items = append(a.items, item{ins: bpf.RetConstant{Val: snaplen}})
	a.place(rej)
	a.items = append(a.items, item{ins: bpf.RetConstant{Val: 0}})
	ins, err := a.assemble()
	if err != nil {
		return nil, err
	}
	// A program that accepts everything has no use for "ret #0".
	if root.kind == pConst {
		ins = ins[:1]
	}
	raw, err := bpf.Assemble(ins)
	if err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	if err := Validate(raw); err != nil {
		return nil, err
	}
	f.prog, f.ins = raw, ins
	return f, nil
}

// Match reports whether the frame passes the filter, taking the frame's
// length as its length on the wire.
func (f *Filter) Match(frame []byte) bool {
	return run(f.prog, frame, uint32(len(frame))) != 0
}

// MatchLen is Match for a frame cut short by the snapshot length: "len",
// "greater" and "less" test wireLen, as libpcap does.
func (f *Filter) MatchLen(frame []byte, wireLen int) bool {
	if wireLen < len(frame) {
		wireLen = len(frame)
	}
	return run(f.prog, frame, uint32(wireLen)) != 0
}

// Program returns the classic BPF program, for SO_ATTACH_FILTER.
func (f *Filter) Program() []bpf.RawInstruction {
	return append([]bpf.RawInstruction(nil), f.prog...)
}

// UsesVLAN reports whether the expression tests VLAN tags, which a Linux
// socket filter cannot see in the frame: the kernel strips them first.
func (f *Filter) UsesVLAN() bool { return f.vlan }

// String returns the expression.
func (f *Filter) String() string { return f.expr }

// Dump lists a program the way "tcpdump -d" does.
func Dump(prog []bpf.RawInstruction) string {
	var b strings.Builder
	for i, r := range prog {
		op, arg := disasm(r)
		if r.Op&0x07 == clsJMP && r.Op&0xf0 != jmpJA {
			fmt.Fprintf(&b, "(%03d) %-8s %-16s jt %d\tjf %d\n", i, op, arg, i+1+int(r.Jt), i+1+int(r.Jf))
		} else if r.Op&0x07 == clsJMP {
			fmt.Fprintf(&b, "(%03d) %-8s %d\n", i, op, i+1+int(r.K))
		} else {
			fmt.Fprintf(&b, "(%03d) %-8s %s\n", i, op, strings.TrimRight(arg, " "))
		}
	}
	return b.String()
}

func disasm(r bpf.RawInstruction) (string, string) {
	size := map[uint16]string{0x00: "", 0x08: "h", 0x10: "b"}[r.Op&0x18]
	switch r.Op & 0x07 {
	case clsLD, clsLDX:
		dst := "ld"
		if r.Op&0x07 == clsLDX {
			dst = "ldx"
		}
		switch r.Op & 0xe0 {
		case modeIMM:
			return dst, fmt.Sprintf("#0x%x", r.K)
		case modeABS:
			if r.K >= skfADOff {
				return dst, fmt.Sprintf("#ext%d", r.K-skfADOff)
			}
			return dst + size, fmt.Sprintf("[%d]", r.K)
		case modeIND:
			return dst + size, fmt.Sprintf("[x + %d]", r.K)
		case modeMEM:
			return dst, fmt.Sprintf("M[%d]", r.K)
		case modeLEN:
			return dst, "#pktlen"
		case modeMSH:
			return "ldxb", fmt.Sprintf("4*([%d]&0xf)", r.K)
		}
	case clsST:
		return "st", fmt.Sprintf("M[%d]", r.K)
	case clsSTX:
		return "stx", fmt.Sprintf("M[%d]", r.K)
	case clsALU:
		name := map[uint16]string{0x00: "add", 0x10: "sub", 0x20: "mul", 0x30: "div", 0x40: "or",
			0x50: "and", 0x60: "lsh", 0x70: "rsh", 0x80: "neg", 0x90: "mod", 0xa0: "xor"}[r.Op&0xf0]
		if r.Op&0xf0 == 0x80 {
			return name, ""
		}
		if r.Op&0x08 != 0 {
			return name, "x"
		}
		return name, fmt.Sprintf("#0x%x", r.K)
	case clsJMP:
		name := map[uint16]string{0x00: "ja", 0x10: "jeq", 0x20: "jgt", 0x30: "jge", 0x40: "jset"}[r.Op&0xf0]
		if r.Op&0x08 != 0 {
			return name, "x"
		}
		return name, fmt.Sprintf("#0x%x", r.K)
	case clsRET:
		if r.Op&0x18 == 0x10 {
			return "ret", "a"
		}
		return "ret", fmt.Sprintf("#%d", r.K)
	case clsMISC:
		if r.Op&0xf8 == 0x80 {
			return "txa", ""
		}
		return "tax", ""
	}
	return "unknown", fmt.Sprintf("0x%04x", r.Op)
}
