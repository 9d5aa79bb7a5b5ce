package filter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// pred is a boolean condition before layout: a constant, a combination,
// or a comparison of the accumulator (computed by stmts) with a constant
// or with X. Combinations fold constants, so a test a link type can never
// or always pass disappears, as libpcap's optimizer makes it disappear.
type pred struct {
	kind  predKind
	val   bool // pConst
	a, b  *pred
	stmts []bpf.Instruction
	test  bpf.JumpTest // JumpEqual, JumpGreaterThan, JumpGreaterOrEqual or JumpBitsSet
	k     uint32
	useX  bool
}

type predKind uint8

const (
	pConst predKind = iota
	pAnd
	pOr
	pNot
	pCmp
)

var (
	pTrue  = &pred{kind: pConst, val: true}
	pFalse = &pred{kind: pConst, val: false}
)

func constPred(v bool) *pred {
	if v {
		return pTrue
	}
	return pFalse
}

func and(a, b *pred) *pred { return join(pAnd, false, a, b) }

func or(a, b *pred) *pred { return join(pOr, true, a, b) }

// join combines a and b with kind (pAnd or pOr), folding constants:
// decides is the constant that settles the combination alone (false for
// and, true for or); the other constant leaves the other side.
func join(kind predKind, decides bool, a, b *pred) *pred {
	switch {
	case a.kind == pConst && a.val == decides, b.kind == pConst && b.val == decides:
		return constPred(decides)
	case a.kind == pConst:
		return b
	case b.kind == pConst:
		return a
	}
	return &pred{kind: kind, a: a, b: b}
}

func not(a *pred) *pred {
	switch a.kind {
	case pConst:
		return constPred(!a.val)
	case pNot:
		return a.a
	}
	return &pred{kind: pNot, a: a}
}

// cmp compares what stmts leave in A with k.
func cmp(test bpf.JumpTest, k uint32, stmts ...bpf.Instruction) *pred {
	return &pred{kind: pCmp, test: test, k: k, stmts: stmts}
}

func eq(k uint32, stmts ...bpf.Instruction) *pred { return cmp(bpf.JumpEqual, k, stmts...) }

// masked compares (A & mask) == k, leaving out the AND for a full mask.
func masked(ld bpf.Instruction, mask, k uint32) *pred {
	if mask == 0xffffffff {
		return eq(k, ld)
	}
	return eq(k, ld, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask})
}

func ldb(off uint32) bpf.Instruction { return bpf.LoadAbsolute{Off: off, Size: 1} }
func ldh(off uint32) bpf.Instruction { return bpf.LoadAbsolute{Off: off, Size: 2} }
func ldw(off uint32) bpf.Instruction { return bpf.LoadAbsolute{Off: off, Size: 4} }

// item is one instruction before layout, or a label.
type item struct {
	ins   bpf.Instruction // a straight-line instruction, or nil
	label int             // > 0: this item is a label
	cond  bool            // conditional jump to t/f
	ja    bool            // unconditional jump to t
	test  bpf.JumpTest
	k     uint32
	useX  bool
	t, f  int // target labels
	dead  bool
}

type assembler struct {
	items  []item
	labels int
}

func (a *assembler) newLabel() int { a.labels++; return a.labels }

func (a *assembler) place(l int) { a.items = append(a.items, item{label: l}) }

// gen emits code for p that continues at label t when p holds and at f
// when it does not. Every jump goes forward, as classic BPF requires.
func (a *assembler) gen(p *pred, t, f int) {
	switch p.kind {
	case pConst:
		target := f
		if p.val {
			target = t
		}
		a.items = append(a.items, item{ja: true, t: target})
	case pAnd:
		m := a.newLabel()
		a.gen(p.a, m, f)
		a.place(m)
		a.gen(p.b, t, f)
	case pOr:
		m := a.newLabel()
		a.gen(p.a, t, m)
		a.place(m)
		a.gen(p.b, t, f)
	case pNot:
		a.gen(p.a, f, t)
	case pCmp:
		for _, s := range p.stmts {
			a.items = append(a.items, item{ins: s})
		}
		a.items = append(a.items, item{cond: true, test: p.test, k: p.k, useX: p.useX, t: t, f: f})
	}
}

// assemble lays the items out: it drops jumps to the next instruction and
// routes conditional jumps longer than 255 instructions through a "ja".
func (a *assembler) assemble() ([]bpf.Instruction, error) {
	for {
		pos := make([]int, len(a.items))    // position of each item
		at := make(map[int]int, a.labels+1) // position of each label
		n := 0
		for i, it := range a.items {
			pos[i] = n
			switch {
			case it.label > 0:
				at[it.label] = n
			case !it.dead:
				n++
			}
		}
		changed := false
		for i := range a.items {
			it := &a.items[i]
			if it.dead || it.label > 0 {
				continue
			}
			if it.ja && at[it.t] == pos[i]+1 {
				it.dead, changed = true, true
				break
			}
			if it.cond {
				far := func(l int) bool { return at[l]-pos[i]-1 > 255 }
				if far(it.t) || far(it.f) {
					// jt → a fresh "ja t", jf → a fresh "ja f" (dropped
					// again if it turns out to be the next instruction).
					lt, lf := a.newLabel(), a.newLabel()
					tramp := []item{{label: lt}, {ja: true, t: it.t}, {label: lf}, {ja: true, t: it.f}}
					it.t, it.f = lt, lf
					a.items = append(a.items[:i+1], append(tramp, a.items[i+1:]...)...)
					changed = true
					break
				}
			}
		}
		if changed {
			continue
		}
		var out []bpf.Instruction
		for i, it := range a.items {
			if it.dead || it.label > 0 {
				continue
			}
			p := pos[i]
			switch {
			case it.ja:
				out = append(out, bpf.Jump{Skip: uint32(at[it.t] - p - 1)})
			case it.cond:
				jt, jf := uint8(at[it.t]-p-1), uint8(at[it.f]-p-1)
				if it.useX {
					out = append(out, bpf.JumpIfX{Cond: it.test, SkipTrue: jt, SkipFalse: jf})
				} else {
					out = append(out, bpf.JumpIf{Cond: it.test, Val: it.k, SkipTrue: jt, SkipFalse: jf})
				}
			default:
				out = append(out, it.ins)
			}
		}
		if len(out) > bpfMaxInsns {
			return nil, fmt.Errorf("filter: program of %d instructions is longer than the kernel's limit of %d", len(out), bpfMaxInsns)
		}
		return out, nil
	}
}

// bpfMaxInsns is BPF_MAXINSNS in the Linux kernel.
const bpfMaxInsns = 4096
