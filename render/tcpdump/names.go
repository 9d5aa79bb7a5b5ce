package tcpdump

// Names tcpdump gives numbers (its tok tables).

import (
	"strconv"

	"synfin/wire"
)

// etherTypeNames is tcpdump 4.99.3's ethertype_values.
var etherTypeNames = map[uint16]string{
	0x0800: "IPv4",
	0x8847: "MPLS unicast",
	0x8848: "MPLS multicast",
	0x86dd: "IPv6",
	0x8100: "802.1Q",
	0x9100: "802.1Q-9100",
	0x88a8: "802.1Q-QinQ",
	0x9200: "802.1Q-9200",
	0x88e5: "802.1AE MACsec",
	0x0200: "PUP",
	0x0806: "ARP",
	0x8035: "Reverse ARP",
	0x0600: "NS",
	0x0500: "Sprite",
	0x1000: "Trail",
	0x6001: "MOP DL",
	0x6002: "MOP RC",
	0x6003: "DN",
	0x6004: "LAT",
	0x6007: "SCA",
	0x6558: "TEB",
	0x8038: "Lanbridge",
	0x803c: "DEC DNS",
	0x803e: "DEC DTS",
	0x805b: "VEXP",
	0x805c: "VPROD",
	0x809b: "Appletalk",
	0x80f3: "Appletalk ARP",
	0x8137: "IPX",
	0x880b: "PPP",
	0x8808: "MPCP",
	0x8809: "Slow Protocols",
	0x8863: "PPPoE D",
	0x8864: "PPPoE S",
	0x888e: "EAPOL",
	0x8899: "Realtek protocols",
	0x886f: "MS NLB heartbeat",
	0x8870: "Jumbo",
	0x894f: "NSH",
	0x9000: "Loopback",
	0xfefe: "OSI",
	0x00fe: "GRE-OSI",
	0xabcd: "CFM (old)",
	0x8902: "CFM",
	0x893a: "IEEE1905.1",
	0x88cc: "LLDP",
	0x88ca: "TIPC",
	0x0707: "GeoNet (old)",
	0x8947: "GeoNet",
	0x1111: "CALM FAST",
	0x88a2: "AoE",
	0x88f7: "PTP",
	0xd28b: "Arista Vendor Specific Protocol",
}

func etherTypeName(t uint16) string {
	if n, ok := etherTypeNames[t]; ok {
		return n
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
