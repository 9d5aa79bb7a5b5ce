package fault

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Router is what a router between the two ends of a path does besides
// dropping segments.
type Router struct {
	// Masquerade is the interface whose address replaces the source
	// address of what leaves through it (nft's masquerade); "": none.
	Masquerade string
	// ClampMSS sets the MSS option of every SYN and SYN-ACK forwarded
	// to this value (nft's tcp option maxseg size set); 0: not.
	ClampMSS uint16
}

// InstallRouter creates the table in a namespace that forwards between
// two links: rules drop on the forward hook, then r's MSS clamping and
// masquerading apply.
func InstallRouter(nsFd int, rules []Rule, r Router) (*Table, error) {
	if len(r.Masquerade) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("fault: interface name %q is too long", r.Masquerade)
	}
	return install(nsFd, rules, nftables.ChainHookForward, func(c *nftables.Conn, t *Table) {
		if r.ClampMSS != 0 {
			c.AddRule(&nftables.Rule{Table: t.table, Chain: t.chain, Exprs: []expr.Any{
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
				&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{0x02}, Xor: []byte{0}},
				&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0}},
				&expr.Immediate{Register: 1, Data: binary.BigEndian.AppendUint16(nil, r.ClampMSS)},
				&expr.Exthdr{SourceRegister: 1, Type: 2, Offset: 2, Len: 2, Op: expr.ExthdrOpTcpopt},
			}})
		}
		if r.Masquerade != "" {
			nat := c.AddChain(&nftables.Chain{
				Name:     "postrouting",
				Table:    t.table,
				Type:     nftables.ChainTypeNAT,
				Hooknum:  nftables.ChainHookPostrouting,
				Priority: nftables.ChainPriorityNATSource,
			})
			name := make([]byte, unix.IFNAMSIZ)
			copy(name, r.Masquerade)
			c.AddRule(&nftables.Rule{Table: t.table, Chain: nat, Exprs: []expr.Any{
				&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name},
				&expr.Masq{},
			}})
		}
	})
}
