package lab

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"
)

// SendOldSYN sends one SYN from from to to through a raw socket of the
// calling thread's network namespace, with a random sequence number and
// the options a Linux SYN carries, and returns that sequence number. It
// stands for a duplicate of an earlier connection's SYN: when no socket
// owns from, its kernel answers the SYN-ACK with a reset. It needs
// CAP_NET_RAW.
func SendOldSYN(from, to netip.AddrPort) (uint32, error) {
	if !from.Addr().Is4() || !to.Addr().Is4() {
		return 0, errors.New("lab: an old duplicate SYN is sent over IPv4 only")
	}
	var b [4]byte
	rand.Read(b[:])
	isn := binary.BigEndian.Uint32(b[:])
	src, dst := from.Addr().As4(), to.Addr().As4()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src[:], DstIP: dst[:]}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(from.Port()), DstPort: layers.TCPPort(to.Port()), Seq: isn, SYN: true, Window: 65495,
		// Linux's order without timestamps, twelve bytes with no padding.
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0xff, 0xd7}}, // 65495, lo's
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		}}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		return 0, err
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp); err != nil {
		return 0, err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return 0, fmt.Errorf("lab: raw socket for the old SYN: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, buf.Bytes(), 0, &unix.SockaddrInet4{Addr: dst, Port: 0}); err != nil {
		return 0, fmt.Errorf("lab: send the old SYN: %w", err)
	}
	return isn, nil
}
