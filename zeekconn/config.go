package zeekconn

import "time"

// PortSet is a set of TCP ports, Zeek's likely_server_ports.
type PortSet [65536 / 64]uint64

// Add adds ports to the set.
func (s *PortSet) Add(ports ...uint16) {
	for _, p := range ports {
		s[p/64] |= 1 << (p % 64)
	}
}

// Has reports whether p is in the set. A nil set is empty.
func (s *PortSet) Has(p uint16) bool { return s != nil && s[p/64]&(1<<(p%64)) != 0 }

// Config holds the Zeek settings that change conn.log. The zero value is
// Zeek run with -C and no protocol scripts loaded (an empty
// likely_server_ports).
type Config struct {
	// LikelyServerPorts decides which side of a connection first seen
	// without a SYN is the responder. Zeek fills it from the protocol
	// scripts it loads; DefaultServerPorts holds the set of a default
	// (non -b) run.
	LikelyServerPorts *PortSet

	// VerifyChecksums drops segments with a bad TCP checksum (recording
	// C/c in the history) and packets with a bad IPv4 header checksum,
	// as Zeek does unless run with -C.
	VerifyChecksums bool

	// ReportGapsForPartial counts content gaps in missed_bytes even when
	// the connection was not cleanly established (Zeek's
	// report_gaps_for_partial).
	ReportGapsForPartial bool

	// SplitRows ends a row and starts another on the same tuple where
	// Zeek would end the connection and start a new one: when its timers
	// (the timers below) have removed it by the next packet, or that
	// packet is a SYN that reuses the tuple. The rows before the last
	// are Earlier's. Without it a tracker's connection is one row, as if
	// Zeek's timers never ran.
	SplitRows bool

	// Timers; zero means Zeek's default.
	InactivityTimeout time.Duration // tcp_inactivity_timeout, 5 min
	HandshakeTimeout  time.Duration // inactivity timeout before the handshake completes (udp_inactivity_timeout), 1 min
	AttemptDelay      time.Duration // tcp_attempt_delay, 5 s
	CloseDelay        time.Duration // tcp_close_delay, 5 s
	ConnectionLinger  time.Duration // tcp_connection_linger, 5 s
	SessionTimer      time.Duration // tcp_session_timer, 6 s
	SYNTimeout        time.Duration // tcp_SYN_timeout, 5 s
}

// timers are the resolved timer settings in nanoseconds.
type timers struct {
	inactivity, handshake, attempt, closeDelay, linger, session, syn int64
}

func (c *Config) timers() timers {
	d := func(v, def time.Duration) int64 {
		if v <= 0 {
			v = def
		}
		return int64(v)
	}
	return timers{
		inactivity: d(c.InactivityTimeout, 5*time.Minute),
		handshake:  d(c.HandshakeTimeout, time.Minute),
		attempt:    d(c.AttemptDelay, 5*time.Second),
		closeDelay: d(c.CloseDelay, 5*time.Second),
		linger:     d(c.ConnectionLinger, 5*time.Second),
		session:    d(c.SessionTimer, 6*time.Second),
		syn:        d(c.SYNTimeout, 5*time.Second),
	}
}

// DefaultServerPorts returns the TCP part of likely_server_ports as Zeek's
// default scripts (run without -b) fill it.
func DefaultServerPorts() *PortSet {
	var s PortSet
	for _, ports := range ProtocolPorts {
		s.Add(ports...)
	}
	return &s
}

// ProtocolPorts lists, per Zeek protocol script (base/protocols/NAME), the
// TCP ports it adds to likely_server_ports. A run with -b that loads some
// of these scripts has the union of their ports.
var ProtocolPorts = map[string][]uint16{
	"dce-rpc":    {135},
	"dnp3":       {20000},
	"dns":        {53},
	"finger":     {79},
	"ftp":        {21, 2811},
	"http":       {80, 81, 631, 1080, 3128, 8000, 8080, 8888},
	"imap":       {143},
	"irc":        {6666, 6667, 6668, 6669},
	"krb":        {88},
	"ldap":       {389, 3268},
	"modbus":     {502},
	"mqtt":       {1883},
	"pop3":       {110},
	"postgresql": {5432},
	"rdp":        {3389},
	"redis":      {6379},
	"smb":        {139, 445},
	"smtp":       {25, 587},
	"socks":      {1080},
	"ssh":        {22},
	"ssl":        {443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223},
	"xmpp":       {5222, 5269},
}
