package lab

import (
	"errors"
	"fmt"
	"sync"

	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/net/bpf"

	"synfin/lab/netns"
	"synfin/wire"
)

// Recorder captures frames on one interface of a namespace.
type Recorder interface {
	// Start begins capturing on iface inside ns; it returns once frames
	// are being captured.
	Start(ns *netns.NS, iface string) error
	// Stop ends the capture and returns the frames, with Index from 1
	// and Data owned by the caller.
	Stop() ([]wire.Frame, wire.LinkType, error)
}

// AFPacket is a Recorder on an AF_PACKET socket (TPACKET_V2 ring). On a
// loopback interface it keeps one copy of each packet, as libpcap does:
// the kernel hands a packet socket every loopback packet twice, once
// outgoing and once incoming.
type AFPacket struct {
	Snaplen int // 0 means 262144

	tp     *afpacket.TPacket
	mu     sync.Mutex
	frames []wire.Frame
	err    error
	stop   chan struct{}
	done   chan struct{}
}

// packetOutgoing is PACKET_OUTGOING, the packet type of a sent packet.
const packetOutgoing = 4

func (r *AFPacket) Start(ns *netns.NS, iface string) error {
	snap := r.Snaplen
	if snap == 0 {
		snap = 262144
	}
	prog := []bpf.Instruction{bpf.RetConstant{Val: uint32(snap)}}
	if iface == "lo" {
		prog = []bpf.Instruction{
			bpf.LoadExtension{Num: bpf.ExtType},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: packetOutgoing, SkipTrue: 1},
			bpf.RetConstant{Val: uint32(snap)},
			bpf.RetConstant{Val: 0},
		}
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return fmt.Errorf("lab: capture filter: %w", err)
	}
	err = ns.Do(func() error {
		// The socket and the interface name both resolve in the
		// namespace of the creating thread.
		tp, err := afpacket.NewTPacket(
			afpacket.OptInterface(iface),
			afpacket.OptTPacketVersion(afpacket.TPacketVersion2),
			afpacket.OptPollTimeout(20e6), // 20ms, so Stop is prompt
		)
		if err != nil {
			return err
		}
		if err := tp.SetBPF(raw); err != nil {
			tp.Close()
			return err
		}
		r.tp = tp
		return nil
	})
	if err != nil {
		return fmt.Errorf("lab: capture on %s: %w", iface, err)
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go r.read(snap)
	return nil
}

func (r *AFPacket) read(snap int) {
	defer close(r.done)
	for {
		data, ci, err := r.tp.ReadPacketData()
		switch {
		case err == nil:
			if len(data) > snap {
				data = data[:snap]
			}
			r.mu.Lock()
			r.frames = append(r.frames, wire.Frame{
				Index:   len(r.frames) + 1,
				Time:    ci.Timestamp.UnixNano(),
				CapLen:  len(data),
				WireLen: ci.Length,
				Link:    wire.LinkEthernet,
				Data:    data,
			})
			r.mu.Unlock()
			continue
		case errors.Is(err, afpacket.ErrTimeout):
		default:
			r.mu.Lock()
			r.err = fmt.Errorf("lab: capture: %w", err)
			r.mu.Unlock()
			return
		}
		select {
		case <-r.stop:
			return
		default:
		}
	}
}

func (r *AFPacket) Stop() ([]wire.Frame, wire.LinkType, error) {
	if r.tp == nil {
		return nil, wire.LinkEthernet, nil
	}
	close(r.stop)
	<-r.done
	r.tp.Close()
	r.tp = nil
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames, wire.LinkEthernet, r.err
}
