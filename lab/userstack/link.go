package userstack

import (
	"slices"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"synfin/lab/fault"
	"synfin/wire"
)

// link is the stack's only NIC: every packet written to it is recorded,
// possibly dropped, and otherwise handed straight back to the stack, as
// a loopback interface does. It deliberately does not claim
// CapabilityLoopback or checksum offload, so netstack fills in and
// verifies real IP and TCP checksums, as it would on a wire.
type link struct {
	mu         sync.Mutex
	dispatcher stack.NetworkDispatcher
	mtu        uint32
	addr       tcpip.LinkAddress

	rules    []fault.Rule
	counters []fault.Counter
	frames   []wire.Frame
	stopped  bool
	// sample is called before each recorded segment, so that a state the
	// sender entered just before sending it is seen even when it is brief.
	sample func()
	pkt    wire.Packet
}

func newLink(rules []fault.Rule) *link {
	l := &link{mtu: 65536, rules: rules}
	for _, r := range rules {
		l.counters = append(l.counters, fault.Counter{Rule: r})
	}
	return l
}

// stop ends recording and returns the frames and fault counters.
// Packets still flow afterwards, so the stack can be torn down.
func (l *link) stop() ([]wire.Frame, []fault.Counter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	return l.frames, slices.Clone(l.counters)
}

// record keeps a copy of the packet and reports whether it may pass.
func (l *link) record(data []byte) bool {
	if l.sample != nil {
		l.sample()
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return true
	}
	if err := l.pkt.Decode(wire.LinkRaw, data); err != nil || !l.pkt.HasTCP {
		// Only the experiment's TCP segments are shown; anything else
		// the stack says (there should be nothing) still passes.
		return true
	}
	ns := now.UnixNano()
	l.frames = append(l.frames, wire.Frame{
		Index:   len(l.frames) + 1,
		Time:    ns,
		Sec:     ns / 1e9,
		Frac:    uint32(ns % 1e9),
		Nano:    true,
		CapLen:  len(data),
		WireLen: len(data),
		Link:    wire.LinkRaw,
		Data:    slices.Clone(data),
	})
	// Like the kernel lab's input-hook faults, a dropped segment is on
	// the capture: it was sent, and lost on its way in.
	pass := true
	for i, r := range l.rules {
		if !matches(r, &l.pkt) {
			continue
		}
		c := &l.counters[i]
		c.Matched++
		if r.Nth == 0 || c.Matched == uint64(r.Nth) {
			c.Dropped++
			pass = false
		}
	}
	return pass
}

func matches(r fault.Rule, p *wire.Packet) bool {
	if r.SrcPort != 0 && r.SrcPort != p.SrcPort {
		return false
	}
	if r.DstPort != 0 && r.DstPort != p.DstPort {
		return false
	}
	return p.Flags&r.Mask == r.Flags
}

// WritePackets implements stack.LinkEndpoint.
func (l *link) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	l.mu.Lock()
	d := l.dispatcher
	l.mu.Unlock()
	for _, pkt := range pkts.AsSlice() {
		buf := pkt.ToBuffer()
		data := buf.Flatten()
		buf.Release()
		if !l.record(data) || d == nil {
			continue
		}
		in := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(data)})
		d.DeliverNetworkPacket(pkt.NetworkProtocolNumber, in)
		in.DecRef()
	}
	return pkts.Len(), nil
}

// Attach implements stack.LinkEndpoint.
func (l *link) Attach(d stack.NetworkDispatcher) {
	l.mu.Lock()
	l.dispatcher = d
	l.mu.Unlock()
}

// IsAttached implements stack.LinkEndpoint.
func (l *link) IsAttached() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dispatcher != nil
}

// MTU implements stack.LinkEndpoint.
func (l *link) MTU() uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mtu
}

// SetMTU implements stack.LinkEndpoint.
func (l *link) SetMTU(mtu uint32) {
	l.mu.Lock()
	l.mtu = mtu
	l.mu.Unlock()
}

// Capabilities implements stack.LinkEndpoint: none, see link.
func (*link) Capabilities() stack.LinkEndpointCapabilities { return 0 }

// MaxHeaderLength implements stack.LinkEndpoint: packets are raw IP.
func (*link) MaxHeaderLength() uint16 { return 0 }

// LinkAddress implements stack.LinkEndpoint.
func (l *link) LinkAddress() tcpip.LinkAddress {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addr
}

// SetLinkAddress implements stack.LinkEndpoint.
func (l *link) SetLinkAddress(a tcpip.LinkAddress) {
	l.mu.Lock()
	l.addr = a
	l.mu.Unlock()
}

// Wait implements stack.LinkEndpoint.
func (*link) Wait() {}

// ARPHardwareType implements stack.LinkEndpoint.
func (*link) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareNone }

// AddHeader implements stack.LinkEndpoint.
func (*link) AddHeader(*stack.PacketBuffer) {}

// ParseHeader implements stack.LinkEndpoint.
func (*link) ParseHeader(*stack.PacketBuffer) bool { return true }

// Close implements stack.LinkEndpoint.
func (*link) Close() {}

// SetOnCloseAction implements stack.LinkEndpoint.
func (*link) SetOnCloseAction(func()) {}
