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
	// The link types of wire's encapsulations (PPP, IPoIB, NFLOG ...)
	// have no filter code yet: refuse them rather than match nothing.
	if _, ok := linkNames[link]; !ok {
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
