package tcpdump

import (
	"io"
	"os"
	"sync"

	"synfin/internal/servicesfile"
)

// Services names TCP ports, as tcpdump's tcpport_string does without -n.
type Services struct {
	names map[uint16]string // TCP
	udp   map[uint16]string
}

// ParseServices reads a services(5) file. As with tcpdump (which fills its
// table from getservent), the first name listed for a TCP port wins.
func ParseServices(r io.Reader) (*Services, error) {
	s := &Services{names: make(map[uint16]string), udp: make(map[uint16]string)}
	err := servicesfile.Scan(r, func(port uint16, proto string, names []string) {
		m := s.names
		switch proto {
		case "tcp":
		case "udp":
			m = s.udp
		default:
			return
		}
		if _, dup := m[port]; !dup {
			m[port] = names[0]
		}
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Name returns the port's name, or "" when it has none.
func (s *Services) Name(port uint16) string {
	if s == nil {
		return ""
	}
	return s.names[port]
}

// UDPName returns the UDP port's name, or "".
func (s *Services) UDPName(port uint16) string {
	if s == nil {
		return ""
	}
	return s.udp[port]
}

var (
	sysOnce     sync.Once
	sysServices *Services
)

// SystemServices returns the names in /etc/services, or the built-in
// table when that file cannot be read.
func SystemServices() *Services {
	sysOnce.Do(func() {
		if f, err := os.Open("/etc/services"); err == nil {
			s, err := ParseServices(f)
			f.Close()
			if err == nil {
				sysServices = s
				return
			}
		}
		sysServices = BuiltinServices()
	})
	return sysServices
}

// BuiltinServices returns the fallback table: the TCP names of Debian's
// /etc/services that tcpdump users meet most, plus 9988 (nsesrvr), which
// older netbase releases list and the seed capture shows.
func BuiltinServices() *Services {
	s := &Services{names: make(map[uint16]string, len(builtin)), udp: map[uint16]string{
		53: "domain", 67: "bootps", 68: "bootpc", 69: "tftp", 123: "ntp",
		161: "snmp", 162: "snmp-trap", 514: "syslog",
	}}
	for p, n := range builtin {
		s.names[p] = n
	}
	return s
}

var builtin = map[uint16]string{
	1: "tcpmux", 7: "echo", 9: "discard", 11: "systat", 13: "daytime",
	15: "netstat", 17: "qotd", 19: "chargen", 20: "ftp-data", 21: "ftp",
	22: "ssh", 23: "telnet", 25: "smtp", 37: "time", 43: "whois",
	49: "tacacs", 53: "domain", 70: "gopher", 79: "finger", 80: "http",
	88: "kerberos", 102: "iso-tsap", 104: "acr-nema", 110: "pop3",
	111: "sunrpc", 113: "auth", 119: "nntp", 135: "epmap", 139: "netbios-ssn",
	143: "imap2", 161: "snmp", 162: "snmp-trap", 163: "cmip-man",
	164: "cmip-agent", 174: "mailq", 179: "bgp", 199: "smux", 209: "qmtp",
	210: "z3950", 213: "ipx", 345: "pawserv", 346: "zserv", 369: "rpc2portmap",
	370: "codaauth2", 371: "clearcase", 389: "ldap", 427: "svrloc",
	443: "https", 444: "snpp", 445: "microsoft-ds", 464: "kpasswd",
	465: "submissions", 487: "saft", 512: "exec", 513: "login", 514: "shell",
	515: "printer", 538: "gdomap", 540: "uucp", 543: "klogin", 544: "kshell",
	548: "afpovertcp", 554: "rtsp", 563: "nntps", 587: "submission",
	607: "nqs", 628: "qmqp", 631: "ipp", 636: "ldaps", 646: "ldp",
	655: "tinc", 706: "silc", 749: "kerberos-adm", 853: "domain-s",
	873: "rsync", 989: "ftps-data", 990: "ftps", 992: "telnets", 993: "imaps",
	995: "pop3s", 1080: "socks", 1093: "proofd", 1094: "rootd",
	1194: "openvpn", 1099: "rmiregistry", 1352: "lotusnote",
	1433: "ms-sql-s", 1434: "ms-sql-m", 1524: "ingreslock", 1645: "datametrics",
	1646: "sa-msg-port", 1649: "kermit", 1677: "groupwise", 1701: "l2f",
	1812: "radius", 1813: "radius-acct", 1863: "msnp", 1883: "mqtt",
	1957: "unix-status", 1958: "log-server", 1959: "remoteping",
	2000: "cisco-sccp", 2003: "cfinger", 2010: "search", 2049: "nfs",
	2086: "gnunet", 2101: "rtcm-sc104", 2119: "gsigatekeeper",
	2135: "gris", 2401: "cvspserver", 2430: "venus", 2431: "venus-se",
	2432: "codasrv", 2433: "codasrv-se", 2583: "mon", 2628: "dict",
	2792: "f5-globalsite", 2811: "gsiftp", 2947: "gpsd", 3050: "gds-db",
	3130: "icpv2", 3260: "iscsi-target", 3306: "mysql", 3493: "nut",
	3632: "distcc", 3689: "daap", 3690: "svn", 4031: "suucp",
	4094: "sysrqd", 4190: "sieve", 4369: "epmd", 4373: "remctl",
	4353: "f5-iquery", 4460: "ntske", 4569: "iax", 4691: "mtn",
	4899: "radmin-port", 5000: "rfe", 5002: "rfe", 5050: "mmcc",
	5060: "sip", 5061: "sip-tls", 5190: "aol", 5222: "xmpp-client",
	5269: "xmpp-server", 5308: "cfengine", 5353: "mdns", 5432: "postgresql",
	5556: "freeciv", 5671: "amqps", 5672: "amqp", 5688: "ggz",
	6000: "x11", 6001: "x11-1", 6002: "x11-2", 6003: "x11-3",
	6004: "x11-4", 6005: "x11-5", 6006: "x11-6", 6007: "x11-7",
	6346: "gnutella-svc", 6347: "gnutella-rtr", 6444: "sge-qmaster",
	6445: "sge-execd", 6446: "mysql-proxy", 6514: "syslog-tls",
	6566: "sane-port", 6667: "ircd", 6697: "ircs-u", 7000: "afs3-fileserver",
	7001: "afs3-callback", 7002: "afs3-prserver", 7003: "afs3-vlserver",
	7004: "afs3-kaserver", 7005: "afs3-volser", 7006: "afs3-errors",
	7007: "afs3-bos", 7008: "afs3-update", 7009: "afs3-rmtsys",
	7100: "font-service", 8080: "http-alt", 8081: "tproxy",
	8088: "omniorb", 8990: "clc-build-daemon", 9098: "xinetd",
	9101: "bacula-dir", 9102: "bacula-fd", 9103: "bacula-sd",
	9418: "git", 9667: "xmms2", 9673: "zope", 9988: "nsesrvr",
	10000: "webmin", 10050: "zabbix-agent", 10051: "zabbix-trapper",
	10080: "amanda", 10081: "kamanda", 10082: "amandaidx",
	10083: "amidxtape", 10809: "nbd", 11112: "dicom", 11201: "smsqp",
	11371: "hkp", 13720: "bprd", 13721: "bpdbm", 13722: "bpjava-msvc",
	13724: "vnetd", 13782: "bpcd", 13783: "vopied", 15345: "xpilot",
	17001: "sgi-cmsd", 17002: "sgi-crsd", 17003: "sgi-gcd",
	17004: "sgi-cad", 17500: "db-lsp", 20011: "isdnlog",
	20012: "vboxd", 22125: "dcap", 22128: "gsidcap", 22273: "wnn6",
	24554: "binkp", 27374: "asp", 30865: "csync2", 57000: "dircproxy",
	60177: "tfido", 60179: "fido",
}
