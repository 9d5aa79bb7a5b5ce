package filter

import (
	"golang.org/x/net/bpf"
)

// arith is an arithmetic expression: code that leaves its value in A,
// guarded by the conditions under which its loads make sense (for
// "tcp[13]": an IPv4 packet carrying TCP, first fragment).
type arith struct {
	stmts   []bpf.Instruction
	guard   *pred
	isConst bool
	k       uint32
}

// named are pcap-filter's named constants.
var named = map[string]uint32{
	"tcpflags": 13, "tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08,
	"tcp-ack": 0x10, "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80,
	"icmptype": 0, "icmpcode": 1,
	"icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4, "icmp-redirect": 5,
	"icmp-echo": 8, "icmp-routeradvert": 9, "icmp-routersolicit": 10, "icmp-timxceed": 11,
	"icmp-paramprob": 12, "icmp-tstamp": 13, "icmp-tstampreply": 14, "icmp-ireq": 15,
	"icmp-ireqreply": 16, "icmp-maskreq": 17, "icmp-maskreply": 18,
	"icmp6type": 0, "icmp6code": 1,
	"icmp6-destinationunreach": 1, "icmp6-packettoobig": 2, "icmp6-timeexceeded": 3,
	"icmp6-parameterproblem": 4, "icmp6-echo": 128, "icmp6-echoreply": 129,
	"icmp6-multicastlistenerquery": 130, "icmp6-multicastlistenerreportv1": 131,
	"icmp6-multicastlistenerdone": 132, "icmp6-routersolicit": 133, "icmp6-routeradvert": 134,
	"icmp6-neighborsolicit": 135, "icmp6-neighboradvert": 136, "icmp6-redirect": 137,
}

func isArithName(w string) bool { _, ok := named[w]; return ok }

const memWords = 16 // BPF_MEMWORDS

func (p *parser) slot(pos int) (uint32, error) {
	if p.mem >= memWords {
		return 0, errAt(pos, "expression too complex: more than %d scratch registers", memWords)
	}
	p.mem++
	return uint32(p.mem - 1), nil
}

var relops = map[string]bool{">": true, ">=": true, "<": true, "<=": true, "=": true, "==": true, "!=": true}

// parseRelation parses "arith relop arith".
func (p *parser) parseRelation() (*pred, error) {
	p.last.ok = false
	l, err := p.parseArith(0)
	if err != nil {
		return nil, err
	}
	op := p.peek()
	if op.kind != tPunct || !relops[op.text] {
		return nil, errAt(op.pos, "expected a comparison (=, !=, <, <=, >, >=), found %s", describe(op))
	}
	p.i++
	var s uint32
	if !p.peekConst() {
		if s, err = p.slot(op.pos); err != nil {
			return nil, err
		}
		defer func() { p.mem-- }()
	}
	r, err := p.parseArith(0)
	if err != nil {
		return nil, err
	}
	var test bpf.JumpTest
	neg := false
	switch op.text {
	case ">":
		test = bpf.JumpGreaterThan
	case ">=":
		test = bpf.JumpGreaterOrEqual
	case "=", "==":
		test = bpf.JumpEqual
	case "!=":
		test, neg = bpf.JumpEqual, true
	case "<":
		test, neg = bpf.JumpGreaterOrEqual, true
	case "<=":
		test, neg = bpf.JumpGreaterThan, true
	}
	var c *pred
	switch {
	case l.isConst && r.isConst:
		var v bool
		switch test {
		case bpf.JumpGreaterThan:
			v = l.k > r.k
		case bpf.JumpGreaterOrEqual:
			v = l.k >= r.k
		default:
			v = l.k == r.k
		}
		c = constPred(v)
	case r.isConst:
		c = cmp(test, r.k, l.stmts...)
	default:
		stmts := append(append([]bpf.Instruction{}, l.constOrStmts()...), bpf.StoreScratch{Src: bpf.RegA, N: int(s)})
		stmts = append(stmts, r.constOrStmts()...)
		stmts = append(stmts, bpf.TAX{}, bpf.LoadScratch{Dst: bpf.RegA, N: int(s)})
		c = &pred{kind: pCmp, test: test, useX: true, stmts: stmts}
	}
	if neg {
		c = not(c)
	}
	return and(and(l.guardOrTrue(), r.guardOrTrue()), c), nil
}

// peekConst reports whether the next token starts a plain number, so that
// "x > 5" does not reserve a scratch register it will not use.
func (p *parser) peekConst() bool {
	t := p.peek()
	if t.kind != tWord {
		return false
	}
	if _, ok := parseNum(t.text); !ok && !isArithName(t.text) {
		return false
	}
	n := p.toks[p.i+1]
	return n.kind == tEOF || n.kind == tWord || n.text == ")"
}

func (a *arith) constOrStmts() []bpf.Instruction {
	if a.isConst {
		return []bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegA, Val: a.k}}
	}
	return a.stmts
}

func (a *arith) guardOrTrue() *pred {
	if a.guard == nil {
		return pTrue
	}
	return a.guard
}

// Binary operator precedence, as in libpcap's grammar.
var binops = map[string]struct {
	prec int
	op   bpf.ALUOp
}{
	"|": {1, bpf.ALUOpOr}, "^": {1, bpf.ALUOpXor}, "&": {2, bpf.ALUOpAnd},
	"<<": {3, bpf.ALUOpShiftLeft}, ">>": {3, bpf.ALUOpShiftRight},
	"+": {4, bpf.ALUOpAdd}, "-": {4, bpf.ALUOpSub},
	"*": {5, bpf.ALUOpMul}, "/": {5, bpf.ALUOpDiv}, "%": {5, bpf.ALUOpMod},
}

func (p *parser) parseArith(minPrec int) (arith, error) {
	l, err := p.parseUnary()
	if err != nil {
		return l, err
	}
	for {
		t := p.peek()
		b, ok := binops[t.text]
		if t.kind != tPunct || !ok || b.prec <= minPrec {
			return l, nil
		}
		p.i++
		var s uint32
		needSlot := !p.peekConst()
		if needSlot {
			if s, err = p.slot(t.pos); err != nil {
				return l, err
			}
		}
		r, err := p.parseArith(b.prec)
		if needSlot {
			p.mem--
		}
		if err != nil {
			return l, err
		}
		if r.isConst && r.k == 0 && (b.op == bpf.ALUOpDiv || b.op == bpf.ALUOpMod) {
			return l, errAt(t.pos, "division by zero")
		}
		switch {
		case l.isConst && r.isConst:
			l.k = fold(b.op, l.k, r.k)
		case r.isConst:
			l.stmts = append(l.stmts, bpf.ALUOpConstant{Op: b.op, Val: r.k})
		default:
			if !needSlot {
				s, _ = p.slot(t.pos) // cannot fail: peekConst was wrong only for "( n )"
				p.mem--
			}
			stmts := append(append([]bpf.Instruction{}, l.constOrStmts()...), bpf.StoreScratch{Src: bpf.RegA, N: int(s)})
			stmts = append(stmts, r.constOrStmts()...)
			stmts = append(stmts, bpf.TAX{}, bpf.LoadScratch{Dst: bpf.RegA, N: int(s)}, bpf.ALUOpX{Op: b.op})
			l = arith{stmts: stmts, guard: and(l.guardOrTrue(), r.guardOrTrue())}
		}
	}
}

func fold(op bpf.ALUOp, a, b uint32) uint32 {
	switch op {
	case bpf.ALUOpOr:
		return a | b
	case bpf.ALUOpXor:
		return a ^ b
	case bpf.ALUOpAnd:
		return a & b
	case bpf.ALUOpShiftLeft:
		return a << (b & 31)
	case bpf.ALUOpShiftRight:
		return a >> (b & 31)
	case bpf.ALUOpAdd:
		return a + b
	case bpf.ALUOpSub:
		return a - b
	case bpf.ALUOpMul:
		return a * b
	case bpf.ALUOpDiv:
		return a / b
	case bpf.ALUOpMod:
		return a % b
	}
	return 0
}

func (p *parser) parseUnary() (arith, error) {
	t := p.next()
	switch {
	case t.kind == tPunct && t.text == "-":
		x, err := p.parseUnary()
		if err != nil {
			return x, err
		}
		if x.isConst {
			x.k = -x.k
			return x, nil
		}
		x.stmts = append(x.stmts, bpf.NegateA{})
		return x, nil
	case t.kind == tPunct && t.text == "(":
		x, err := p.parseArith(0)
		if err != nil {
			return x, err
		}
		return x, p.expect(")")
	case t.kind == tWord && t.text == "len":
		return arith{stmts: []bpf.Instruction{bpf.LoadExtension{Num: bpf.ExtLen}}}, nil
	case t.kind == tWord && protoWords[t.text] && p.isPunct("["):
		return p.parseLoad(t)
	case t.kind == tWord:
		if n, ok := parseNum(t.text); ok {
			return arith{isConst: true, k: n}, nil
		}
		if n, ok := named[t.text]; ok {
			return arith{isConst: true, k: n}, nil
		}
		if unsupported[t.text] {
			return arith{}, errAt(t.pos, "%q is outside the filter subset synfin supports", t.text)
		}
		return arith{}, errAt(t.pos, "unknown word %q", t.text)
	}
	return arith{}, errAt(t.pos, "expected a number, len or PROTO[OFFSET], found %s", describe(t))
}

// parseLoad parses "proto[index]" or "proto[index:size]".
func (p *parser) parseLoad(proto token) (arith, error) {
	p.i++ // "["
	idx, err := p.parseArith(0)
	if err != nil {
		return idx, err
	}
	size := 1
	if p.isPunct(":") {
		p.i++
		t := p.next()
		n, ok := parseNum(t.text)
		if !ok || (n != 1 && n != 2 && n != 4) {
			return idx, errAt(t.pos, "data size must be 1, 2, or 4")
		}
		size = int(n)
	}
	if err := p.expect("]"); err != nil {
		return idx, err
	}
	nl := p.nl()
	var guard *pred
	var base uint32
	transport := false
	switch proto.text {
	case "ether", "link":
		base, guard = 0, pTrue
	case "ip":
		base, guard = nl, p.mustLink(0x800)
	case "ip6":
		base, guard = nl, p.mustLink(0x86dd)
	case "arp":
		base, guard = nl, p.mustLink(0x806)
	case "rarp":
		base, guard = nl, p.mustLink(0x8035)
	case "tcp", "udp", "icmp", "igmp", "sctp":
		n := map[string]uint32{"tcp": 6, "udp": 17, "icmp": 1, "igmp": 2, "sctp": 132}[proto.text]
		// Only IPv4, only the first fragment: what libpcap does.
		base, guard, transport = nl, and(p.ipProto(n), p.notFrag()), true
	case "icmp6":
		// libpcap assumes a 40-byte IPv6 header directly followed by ICMPv6.
		base, guard = nl+40, and(p.mustLink(0x86dd), eq(58, ldb(nl+6)))
	default:
		return idx, errAt(proto.pos, "%s[...] is not supported", proto.text)
	}
	guard = and(idx.guardOrTrue(), guard)
	var stmts []bpf.Instruction
	switch {
	case idx.isConst && transport:
		stmts = []bpf.Instruction{bpf.LoadMemShift{Off: nl}, bpf.LoadIndirect{Off: base + idx.k, Size: size}}
	case idx.isConst:
		stmts = []bpf.Instruction{bpf.LoadAbsolute{Off: base + idx.k, Size: size}}
	case transport:
		s, err := p.slot(proto.pos)
		if err != nil {
			return idx, err
		}
		p.mem--
		stmts = append(append([]bpf.Instruction{}, idx.stmts...),
			bpf.StoreScratch{Src: bpf.RegA, N: int(s)}, bpf.LoadMemShift{Off: nl},
			bpf.LoadScratch{Dst: bpf.RegA, N: int(s)}, bpf.ALUOpX{Op: bpf.ALUOpAdd}, bpf.TAX{},
			bpf.LoadIndirect{Off: base, Size: size})
	default:
		stmts = append(append([]bpf.Instruction{}, idx.stmts...), bpf.TAX{}, bpf.LoadIndirect{Off: base, Size: size})
	}
	return arith{stmts: stmts, guard: guard}, nil
}
