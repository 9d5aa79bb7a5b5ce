package tcpdump

import (
	"net/netip"
	"time"
)

// Time stamp forms, by the number of -t flags.
const (
	TimeDefault    = 0 // HH:MM:SS.frac, local time
	TimeNone       = 1 // -t
	TimeUnix       = 2 // -tt: seconds since the epoch
	TimeDeltaPrev  = 3 // -ttt: since the previous packet printed
	TimeDate       = 4 // -tttt: date and local time
	TimeDeltaFirst = 5 // -ttttt: since the first packet printed
)

// Dump modes for packet bytes after the decoded line.
const (
	DumpNone  = iota
	DumpHex   // -x, -xx
	DumpHexA  // -X, -XX
	DumpASCII // -A, -AA
)

// Options are tcpdump's printing flags.
type Options struct {
	Numeric  bool // -n: addresses and ports as numbers
	Absolute bool // -S: absolute sequence numbers
	Time     int  // TimeDefault ... TimeDeltaFirst
	Nano     bool // --nano: nanosecond time stamps
	Verbose  int  // -v count
	Link     bool // -e: print the link-level header
	Quiet    bool // -q: "tcp N" instead of the TCP details
	Number   bool // -#: packet numbers
	Dump     int  // DumpHex, DumpHexA or DumpASCII
	DumpLink bool // -xx, -XX, -AA: dump the link header too

	// Location is the time zone of TimeDefault and TimeDate. nil means
	// time.Local (which honours TZ, as tcpdump's localtime does).
	Location *time.Location
	// Services names ports when !Numeric; nil means SystemServices().
	Services *Services
	// Hosts names addresses when !Numeric; nil prints them as numbers.
	Hosts HostNames
	// SeqTableSize bounds remembered conversations; 0 means SeqTableSize.
	SeqTableSize int
}

// Stateless reports whether, with these options, a packet's lines depend
// on that packet alone: absolute sequence numbers (no conversation table)
// and time stamps that are not deltas. Then several Printers may print
// parts of one capture side by side and their lines, put back in order,
// are what one Printer prints.
func (o Options) Stateless() bool {
	return o.Absolute && o.Time != TimeDeltaPrev && o.Time != TimeDeltaFirst
}

// HostNames names the addresses a Printer prints without -n, as tcpdump
// does through gethostbyaddr (the hosts file, then DNS). HostName returns
// the name and true, or false to print the address as a number; the name
// may be empty, as a hosts file line without one gives it. Printers side
// by side share one, so it must be safe for concurrent use; it is asked
// once per address printed, so it should remember its answers.
type HostNames interface {
	HostName(a netip.Addr) (string, bool)
}
