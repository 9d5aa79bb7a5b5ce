package fault

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"synfin/wire"
)

// TableName is the nftables table synfin creates in a namespace.
const TableName = "synfin"

// Rule selects segments to drop.
type Rule struct {
	Name    string
	SrcPort uint16 // 0: any
	DstPort uint16 // 0: any
	// Flags must be set among the bits of Mask, and the other bits of
	// Mask clear: Flags SYN|ACK with Mask SYN|ACK|FIN|RST is a SYN-ACK.
	Flags, Mask wire.Flags
	// Nth drops the Nth matching segment (1-based); 0 drops them all.
	Nth int
}

// Common flag conditions.
var (
	SYN    = Rule{Flags: wire.SYN, Mask: wire.SYN | wire.ACK | wire.FIN | wire.RST}
	SYNACK = Rule{Flags: wire.SYN | wire.ACK, Mask: wire.SYN | wire.ACK | wire.FIN | wire.RST}
	// A bare ACK: no SYN, FIN, RST or PSH (a segment with data
	// usually carries PSH).
	ACK = Rule{Flags: wire.ACK, Mask: wire.SYN | wire.ACK | wire.FIN | wire.RST | wire.PSH}
	FIN = Rule{Flags: wire.FIN, Mask: wire.FIN | wire.SYN | wire.RST}
	RST = Rule{Flags: wire.RST, Mask: wire.RST}
)

// String describes the rule: "drop 1st SYN-ACK 9988>*".
func (r Rule) String() string {
	var b strings.Builder
	b.WriteString("drop ")
	if r.Nth == 0 {
		b.WriteString("every ")
	} else {
		b.WriteString(ordinal(r.Nth) + " ")
	}
	b.WriteString("[" + r.Flags.String())
	if extra := r.Mask &^ r.Flags; extra != 0 {
		b.WriteString(" not " + extra.String())
	}
	b.WriteString("] ")
	port := func(p uint16) string {
		if p == 0 {
			return "*"
		}
		return strconv.Itoa(int(p))
	}
	b.WriteString(port(r.SrcPort) + ">" + port(r.DstPort))
	return b.String()
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}

// Counter says how many segments matched a rule and how many it dropped.
type Counter struct {
	Rule    Rule
	Matched uint64
	Dropped uint64
}

// Table is the installed fault table of one namespace.
type Table struct {
	conn  *nftables.Conn
	table *nftables.Table
	chain *nftables.Chain
	rules []Rule
}

// Install creates the table with rules in the network namespace whose
// file descriptor is nsFd, on the input hook: segments are dropped on
// their way to a socket of the namespace.
func Install(nsFd int, rules []Rule) (*Table, error) {
	return install(nsFd, rules, nftables.ChainHookInput, nil)
}

// install creates the table with rules on hook; more adds other chains
// to the table before it is committed.
func install(nsFd int, rules []Rule, hook *nftables.ChainHook, more func(*nftables.Conn, *Table)) (*Table, error) {
	for i, r := range rules {
		if r.Nth < 0 {
			return nil, fmt.Errorf("fault: rule %d: Nth %d is negative", i+1, r.Nth)
		}
		if r.Flags&^r.Mask != 0 {
			return nil, fmt.Errorf("fault: rule %d: flags %s outside mask %s", i+1, r.Flags, r.Mask)
		}
		if r.Mask > 0xff {
			return nil, fmt.Errorf("fault: rule %d: only the eight classic flags can be matched", i+1)
		}
	}
	c, err := nftables.New(nftables.WithNetNSFd(nsFd))
	if err != nil {
		return nil, fmt.Errorf("fault: nftables: %w", err)
	}
	t := &Table{conn: c, rules: rules}
	t.table = c.AddTable(&nftables.Table{Name: TableName, Family: nftables.TableFamilyINet})
	name := "input"
	if hook == nftables.ChainHookForward {
		name = "forward"
	}
	t.chain = c.AddChain(&nftables.Chain{
		Name:     name,
		Table:    t.table,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  hook,
		Priority: nftables.ChainPriorityFilter,
	})
	for i, r := range rules {
		match := r.match()
		// Count every match; no verdict, so evaluation goes on.
		c.AddRule(&nftables.Rule{Table: t.table, Chain: t.chain, UserData: tag("seen", i),
			Exprs: append(append([]expr.Any{}, match...), &expr.Counter{})})
		drop := append([]expr.Any{}, match...)
		if r.Nth > 0 {
			// The generator only advances when the match above held.
			drop = append(drop,
				&expr.Numgen{Register: 1, Modulus: 1 << 31, Type: unix.NFT_NG_INCREMENTAL},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, uint32(r.Nth-1))})
		}
		drop = append(drop, &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})
		c.AddRule(&nftables.Rule{Table: t.table, Chain: t.chain, UserData: tag("drop", i), Exprs: drop})
	}
	if more != nil {
		more(c, t)
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("fault: install table: %w", err)
	}
	return t, nil
}

func tag(kind string, i int) []byte { return []byte(kind + ":" + strconv.Itoa(i)) }

// match returns the expressions that select the rule's segments.
func (r Rule) match() []expr.Any {
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
	}
	port := func(off uint32, p uint16) {
		e = append(e,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, p)})
	}
	if r.SrcPort != 0 {
		port(0, r.SrcPort)
	}
	if r.DstPort != 0 {
		port(2, r.DstPort)
	}
	if r.Mask != 0 {
		e = append(e,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{byte(r.Mask)}, Xor: []byte{0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(r.Flags)}})
	}
	return e
}

// Counters reads the rules' counters.
func (t *Table) Counters() ([]Counter, error) {
	rules, err := t.conn.GetRules(t.table, t.chain)
	if err != nil {
		return nil, fmt.Errorf("fault: read counters: %w", err)
	}
	out := make([]Counter, len(t.rules))
	for i, r := range t.rules {
		out[i].Rule = r
	}
	for _, nr := range rules {
		kind, idx, ok := strings.Cut(string(nr.UserData), ":")
		i, err := strconv.Atoi(idx)
		if !ok || err != nil || i < 0 || i >= len(out) {
			continue
		}
		for _, x := range nr.Exprs {
			if c, ok := x.(*expr.Counter); ok {
				if kind == "seen" {
					out[i].Matched = c.Packets
				} else {
					out[i].Dropped = c.Packets
				}
			}
		}
	}
	return out, nil
}

// Close deletes the table. It is safe to call more than once.
func (t *Table) Close() error {
	if t.table == nil {
		return nil
	}
	t.conn.DelTable(t.table)
	err := t.conn.Flush()
	t.table = nil
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("fault: delete table: %w", err)
	}
	return nil
}

// Tables lists the nftables tables in the namespace nsFd, as
// "family name" strings, to check that nothing is left behind.
func Tables(nsFd int) ([]string, error) {
	c, err := nftables.New(nftables.WithNetNSFd(nsFd))
	if err != nil {
		return nil, fmt.Errorf("fault: nftables: %w", err)
	}
	ts, err := c.ListTables()
	if err != nil {
		return nil, fmt.Errorf("fault: list tables: %w", err)
	}
	var out []string
	for _, t := range ts {
		out = append(out, familyName(t.Family)+" "+t.Name)
	}
	return out, nil
}

func familyName(f nftables.TableFamily) string {
	switch f {
	case nftables.TableFamilyINet:
		return "inet"
	case nftables.TableFamilyIPv4:
		return "ip"
	case nftables.TableFamilyIPv6:
		return "ip6"
	}
	return strconv.Itoa(int(f))
}
