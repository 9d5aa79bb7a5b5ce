package capture

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"synfin/filter"
	"synfin/wire"
)

// Options say what to capture.
type Options struct {
	Interface string // network interface; "" or "any" for all of them
	Snaplen   int    // bytes kept of each packet; 0 for DefaultSnaplen
	NoPromisc bool   // leave the interface's promiscuous mode alone (-p)
	Filter    string // pcap-filter expression; "" for everything
	// BufferSize is the kernel ring in bytes; 0 for libpcap's default, 2 MiB.
	BufferSize int
	// Idle, if set, is called from Next each time a poll interval (about
	// 100 ms) passes without a packet: a moment to flush output.
	Idle func()
}

// Stats are tcpdump's three summary numbers.
type Stats struct {
	Captured uint64 // handed out by Next
	Received uint64 // passed the kernel filter ("received by filter")
	Dropped  uint64 // dropped by the kernel for lack of ring space
}

// Handle is an open capture.
type Handle struct {
	tp       *afpacket.TPacket
	name     string
	link     wire.LinkType
	snaplen  int
	any      bool
	user     *filter.Filter // filter run here when the kernel cannot run it
	buf      []byte         // an SLL2 frame for "any"
	ifaces   map[int]iface
	captured uint64
	closed   bool
	idle     func()
}

type iface struct {
	hatype uint16
	mac    net.HardwareAddr
	loop   bool
}

// ErrPermission is returned when the process may not open packet sockets.
var ErrPermission = errors.New("capture: no permission to capture packets (CAP_NET_RAW is needed): run with sudo, or grant it once with: sudo setcap cap_net_raw+ep $(which synfin)")

// Open starts a capture.
func Open(opt Options) (*Handle, error) {
	if opt.Snaplen <= 0 || opt.Snaplen > DefaultSnaplen {
		opt.Snaplen = DefaultSnaplen
	}
	if opt.BufferSize <= 0 {
		opt.BufferSize = 2 << 20
	}
	name := opt.Interface
	h := &Handle{name: name, snaplen: opt.Snaplen, ifaces: map[int]iface{}, idle: opt.Idle}
	if name == "" || name == "any" {
		h.name, h.any, h.link = "any", true, wire.LinkSLL2
	} else {
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("capture: %s: no such interface (see 'ip link')", name)
		}
		if t := hatype(ifc); t != unix.ARPHRD_ETHER && t != unix.ARPHRD_LOOPBACK {
			return nil, fmt.Errorf("capture: %s has hardware type %d; only Ethernet-like interfaces and \"any\" are supported", name, t)
		}
		// The ring would open, then fail its first poll with an unhelpful
		// error; libpcap refuses a down interface too.
		if ifc.Flags&net.FlagUp == 0 {
			return nil, errDown(name)
		}
		h.link = wire.LinkEthernet
	}
	// The filter is compiled before touching the network so that a typo
	// is reported as such, with or without privileges.
	flt, err := filter.CompileSnaplen(opt.Filter, h.link, uint32(opt.Snaplen))
	if err != nil {
		return nil, err
	}
	if err := checkPermission(); err != nil {
		return nil, err
	}
	block := 1 << 18
	if opt.BufferSize < block {
		block = opt.BufferSize &^ (os.Getpagesize() - 1)
	}
	iname := h.name
	if h.any {
		iname = ""
	}
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(iname),
		afpacket.OptTPacketVersion(afpacket.TPacketVersion3),
		afpacket.SocketRaw,
		afpacket.OptBlockSize(block),
		afpacket.OptFrameSize(1<<16),
		afpacket.OptNumBlocks(max(opt.BufferSize/block, 1)),
		afpacket.OptBlockTimeout(50*time.Millisecond),
		afpacket.OptPollTimeout(100*time.Millisecond),
		afpacket.OptAddVLANHeader(true),
	)
	if err != nil {
		if isPerm(err) {
			return nil, ErrPermission
		}
		return nil, fmt.Errorf("capture: %s: %w", h.name, err)
	}
	h.tp = tp
	// Learn the interfaces now: Next may run on a thread in another
	// network namespace than the one the socket was opened in.
	if ifs, err := net.Interfaces(); err == nil {
		for i := range ifs {
			h.ifaces[ifs[i].Index] = iface{hatype: hatype(&ifs[i]), mac: ifs[i].HardwareAddr, loop: ifs[i].Flags&net.FlagLoopback != 0}
		}
	}
	if err := h.setFilter(flt); err != nil {
		tp.Close()
		return nil, err
	}
	if !opt.NoPromisc && !h.any {
		if err := tp.SetPromiscuous(true); err != nil {
			tp.Close()
			return nil, fmt.Errorf("capture: promiscuous mode on %s: %w", h.name, err)
		}
	}
	if err := tp.InitSocketStats(); err != nil {
		tp.Close()
		return nil, fmt.Errorf("capture: %w", err)
	}
	return h, nil
}

// setFilter attaches what the kernel can run. Loopback packets pass the
// packet socket twice, outgoing and incoming; like libpcap, keep only the
// incoming copy. With "any" the frames differ per interface, and VLAN tags
// are stripped before the socket filter runs, so in those cases the
// kernel only applies the loopback rule and the snap length, and the
// expression runs here on the frame as it will be written.
func (h *Handle) setFilter(flt *filter.Filter) error {
	lo, err := loopbackIndex()
	if err != nil {
		return err
	}
	var prefix []bpf.Instruction
	switch {
	case h.any:
		prefix = []bpf.Instruction{
			bpf.LoadExtension{Num: bpf.ExtType},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipFalse: 3},
			bpf.LoadExtension{Num: bpf.ExtInterfaceIndex},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(lo), SkipFalse: 1},
			bpf.RetConstant{Val: 0},
		}
	case isLoopback(h.name):
		prefix = []bpf.Instruction{
			bpf.LoadExtension{Num: bpf.ExtType},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipFalse: 1},
			bpf.RetConstant{Val: 0},
		}
	}
	raw, err := bpf.Assemble(prefix)
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	if h.any || flt.UsesVLAN() {
		h.user = flt
		all, _ := filter.CompileSnaplen("", h.link, uint32(h.snaplen))
		raw = append(raw, all.Program()...)
	} else {
		raw = append(raw, flt.Program()...)
	}
	if err := h.tp.SetBPF(raw); err != nil {
		return fmt.Errorf("capture: attaching the filter: %w", err)
	}
	return nil
}

// LinkType is the link type of the frames Next returns.
func (h *Handle) LinkType() wire.LinkType { return h.link }

// Snaplen is the snapshot length.
func (h *Handle) Snaplen() int { return h.snaplen }

// Interface is the interface name ("any" for all).
func (h *Handle) Interface() string { return h.name }

// Next waits for the next packet and fills f; f.Data is valid until the
// next call. It returns ctx.Err() once ctx is done.
func (h *Handle) Next(ctx context.Context, f *wire.Frame) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, ci, err := h.tp.ZeroCopyReadPacketData()
		if errors.Is(err, afpacket.ErrTimeout) {
			if h.idle != nil {
				h.idle()
			}
			continue
		}
		if err != nil {
			if errors.Is(err, afpacket.ErrPoll) && !h.any && !isUp(h.name) {
				return errDown(h.name)
			}
			return fmt.Errorf("capture: %w", err)
		}
		wireLen := ci.Length
		if h.any {
			data, wireLen = h.sll2(data, ci.InterfaceIndex, wireLen)
		}
		if h.user != nil && !h.user.MatchLen(data, wireLen) {
			continue
		}
		h.captured++
		*f = wire.Frame{
			Index:     int(h.captured),
			Time:      ci.Timestamp.UnixNano(),
			CapLen:    len(data),
			WireLen:   wireLen,
			Link:      h.link,
			Interface: ci.InterfaceIndex,
			Data:      data,
		}
		return nil
	}
}

// sll2 turns a frame as seen on interface ifindex into the Linux cooked
// v2 frame libpcap writes for "any". The socket hands out each
// interface's own link header; the SLL2 header is rebuilt from it and
// from the interface's hardware type and address.
func (h *Handle) sll2(data []byte, ifindex, wireLen int) ([]byte, int) {
	ifc, ok := h.ifaces[ifindex]
	if !ok {
		ifc = lookupIface(ifindex)
		h.ifaces[ifindex] = ifc
	}
	b := h.buf[:0]
	b = append(b, make([]byte, 20)...)
	binary.BigEndian.PutUint32(b[4:], uint32(ifindex))
	binary.BigEndian.PutUint16(b[8:], ifc.hatype)
	payload := data
	hdr := 0
	switch ifc.hatype {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
		if len(data) >= 14 {
			hdr = 14
			copy(b[0:2], data[12:14])
			b[10] = pktType(data, ifc)
			b[11] = 6
			copy(b[12:18], data[6:12])
			payload = data[14:]
		}
	default:
		// No link header: tell IPv4 from IPv6 by the version.
		if len(data) > 0 {
			switch data[0] >> 4 {
			case 4:
				binary.BigEndian.PutUint16(b[0:], wire.EtherTypeIPv4)
			case 6:
				binary.BigEndian.PutUint16(b[0:], wire.EtherTypeIPv6)
			}
		}
	}
	// Keep within the snap length, as libpcap does with the SLL2 header.
	n := min(len(payload), h.snaplen-20)
	b = append(b, payload[:max(n, 0)]...)
	h.buf = b
	return b, wireLen - hdr + 20
}

// pktType guesses the packet type Linux would put in sockaddr_ll, from
// the addresses: the socket does not expose it.
func pktType(eth []byte, ifc iface) byte {
	dst, src := eth[0:6], eth[6:12]
	switch {
	case ifc.loop:
		return unix.PACKET_HOST // outgoing copies were dropped in the kernel
	case len(ifc.mac) == 6 && string(src) == string(ifc.mac):
		return unix.PACKET_OUTGOING
	case string(dst) == "\xff\xff\xff\xff\xff\xff":
		return unix.PACKET_BROADCAST
	case dst[0]&1 != 0:
		return unix.PACKET_MULTICAST
	case len(ifc.mac) == 6 && string(dst) == string(ifc.mac):
		return unix.PACKET_HOST
	}
	return unix.PACKET_OTHERHOST
}

// Stats returns the counts so far.
func (h *Handle) Stats() (Stats, error) {
	s := Stats{Captured: h.captured}
	if h.tp == nil {
		return s, nil
	}
	_, v3, err := h.tp.SocketStats()
	if err != nil {
		return s, fmt.Errorf("capture: statistics: %w", err)
	}
	// The kernel counts dropped packets in tp_packets as well.
	s.Received, s.Dropped = uint64(v3.Packets()), uint64(v3.Drops())
	return s, nil
}

// Close ends the capture. Stats may still be called.
func (h *Handle) Close() error {
	if !h.closed && h.tp != nil {
		h.closed = true
		h.tp.Close()
	}
	return nil
}

func checkPermission() error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if isPerm(err) {
			return ErrPermission
		}
		return fmt.Errorf("capture: packet socket: %w", err)
	}
	unix.Close(fd)
	return nil
}

func isPerm(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) ||
		strings.Contains(err.Error(), "operation not permitted")
}

func hatype(ifc *net.Interface) uint16 {
	b, err := os.ReadFile("/sys/class/net/" + ifc.Name + "/type")
	if err != nil {
		if ifc.Flags&net.FlagLoopback != 0 {
			return unix.ARPHRD_LOOPBACK
		}
		return unix.ARPHRD_ETHER
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return uint16(n)
}

func lookupIface(index int) iface {
	ifc, err := net.InterfaceByIndex(index)
	if err != nil {
		return iface{hatype: unix.ARPHRD_ETHER}
	}
	return iface{hatype: hatype(ifc), mac: ifc.HardwareAddr, loop: ifc.Flags&net.FlagLoopback != 0}
}

func errDown(name string) error {
	return fmt.Errorf("capture: %s is down (bring it up with: ip link set %s up)", name, name)
}

func isUp(name string) bool {
	ifc, err := net.InterfaceByName(name)
	return err == nil && ifc.Flags&net.FlagUp != 0
}

func isLoopback(name string) bool {
	ifc, err := net.InterfaceByName(name)
	return err == nil && ifc.Flags&net.FlagLoopback != 0
}

func loopbackIndex() (int, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return 0, fmt.Errorf("capture: listing interfaces: %w", err)
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 {
			return ifc.Index, nil
		}
	}
	return 0, nil
}
