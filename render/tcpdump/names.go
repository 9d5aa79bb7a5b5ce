package tcpdump

// Names tcpdump gives numbers (its tok tables).

import (
	"strconv"

	"synfin/wire"
)

func etherTypeName(t uint16) string {
	switch t {
	case 0x0800:
		return "IPv4"
	case 0x86dd:
		return "IPv6"
	case 0x0806:
		return "ARP"
	case 0x8100:
		return "802.1Q"
	case 0x88a8:
		return "802.1Q-QinQ"
	case 0x9100:
		return "802.1Q-9100"
	case 0x9200:
		return "802.1Q-9200"
	case 0x8035:
		return "Reverse ARP"
	case 0x6558:
		return "TEB"
	case 0x8847:
		return "MPLS unicast"
	case 0x8848:
		return "MPLS multicast"
	}
	return "Unknown"
}

// appendProto appends an IP protocol's name and number: "TCP (6)".
func appendProto(b []byte, p uint8) []byte {
	b = append(b, ipProtoName(p)...)
	b = append(b, " ("...)
	b = appendUint(b, uint64(p))
	return append(b, ')')
}

func ipProtoName(p uint8) string {
	switch p {
	case 0:
		return "Options"
	case 1:
		return "ICMP"
	case 2:
		return "IGMP"
	case 4:
		return "IPIP"
	case 6:
		return "TCP"
	case 8:
		return "EGP"
	case 9:
		return "IGRP"
	case 17:
		return "UDP"
	case 33:
		return "DCCP"
	case 41:
		return "IPv6"
	case 43:
		return "Routing"
	case 44:
		return "Fragment"
	case 46:
		return "RSVP"
	case 47:
		return "GRE"
	case 50:
		return "ESP"
	case 51:
		return "AH"
	case 58:
		return "ICMPv6"
	case 59:
		return "NONE"
	case 60:
		return "DSTOPTS"
	case 103:
		return "PIM"
	case 112:
		return "VRRP"
	case 132:
		return "SCTP"
	}
	return "unknown"
}

// ouiName is tcpdump's oui_values, printed after MAC addresses under -e
// without -n.
func ouiName(oui uint32) string {
	switch oui {
	case 0x000000:
		return "Ethernet"
	case 0x00000c:
		return "Cisco"
	case 0x00005e:
		return "IANA"
	case 0x000081:
		return "Nortel Networks SONMP"
	case 0x0000f8:
		return "Cisco bridged"
	case 0x0080c2:
		return "Ethernet bridged"
	case 0x00a03e:
		return "ATM Forum"
	case 0x00e02f:
		return "DOCSIS Spanning Tree"
	case 0x080007:
		return "Appletalk"
	case 0x009069:
		return "Juniper"
	case 0x080009:
		return "Hewlett-Packard"
	case 0x00120f:
		return "IEEE 802.3 Private"
	case 0x0012bb:
		return "ANSI/TIA"
	case 0x001b21:
		return "DCBX"
	case 0x002320:
		return "Nicira Networks"
	case 0x5c16c7:
		return "Big Switch Networks"
	case 0xb0d2f5:
		return "Vello Systems"
	case 0x002481:
		return "HP"
	case 0x0004ea:
		return "HP-Labs"
	case 0x748771:
		return "Infoblox Inc"
	case 0xa42305:
		return "Open Networking Lab"
	case 0x00049f:
		return "Freescale"
	case 0x0015ad:
		return "Netronome"
	}
	return "Unknown"
}

// sllPacketType is print-sll.c's sll_pkttype_values.
func sllPacketType(t uint16) string {
	switch t {
	case 0:
		return "In"
	case 1:
		return "B"
	case 2:
		return "M"
	case 3:
		return "P"
	case 4:
		return "Out"
	}
	return "?"
}

// bsdAFName is print-null.c's bsd_af_values.
func bsdAFName(af uint32) string {
	switch af {
	case 2:
		return "IPv4"
	case 7:
		return "OSI"
	case 16:
		return "Appletalk"
	case 23:
		return "IPX"
	case 24, 28, 30:
		return "IPv6"
	}
	return "Unknown"
}

// LinkTypeName returns the name tcpdump gives link type l where it says
// what it listens on or reads ("link-type EN10MB (Ethernet)"): the DLT
// name and description of the link types a live capture gives, else the
// number.
func LinkTypeName(l wire.LinkType) string {
	switch l {
	case wire.LinkEthernet:
		return "EN10MB (Ethernet)"
	case wire.LinkSLL2:
		return "LINUX_SLL2 (Linux cooked v2)"
	}
	return strconv.FormatUint(uint64(l), 10)
}
