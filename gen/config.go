package gen

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config says what to generate. The zero value is the reference workload.
type Config struct {
	Conns  int       // connections at scale 1; 0 means DefaultConns
	Scale  int       // multiplies Conns; the capture gets longer, not denser; 0 means 1
	Seed   uint64    // the same seed gives the same bytes
	PcapNG bool      // write pcapng instead of pcap
	Rate   float64   // new connections per second; 0 means DefaultRate
	Start  time.Time // time of the first SYN; zero means DefaultStart

	// Transfer, when positive, makes the capture one connection of
	// Transfer segments in all instead (Conns, Scale and Rate are then
	// unused): the handshake, an upload of full-size segments from the
	// client with the server's ACK after every second one, and a
	// four-segment close the client starts.
	Transfer int
	// Reorder, with Transfer, swaps every eighth pair of data segments,
	// so that the second arrives first (out of order).
	Reorder bool
	// Extra adds each ingredient's population (see Ingredient) to the
	// reference connections.
	Extra [NumIngredients]int
}

// MinTransfer is the fewest segments a Transfer has: the handshake's
// three and the close's four.
const MinTransfer = 7

// Defaults of the reference workload.
const (
	DefaultConns = 200_000
	DefaultRate  = 2_000
)

// DefaultStart is the time the reference capture starts.
var DefaultStart = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// maxConns bounds the total so that every connection gets its own 4-tuple
// (clientHosts hosts × the ephemeral port range).
const maxConns = clientHosts * ephemeralPorts

func (c Config) withDefaults() (Config, error) {
	if c.Conns == 0 {
		c.Conns = DefaultConns
	}
	if c.Scale == 0 {
		c.Scale = 1
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	if c.Transfer > 0 {
		c.Conns, c.Scale = 1, 1
	}
	if err := checkExtra(c.Extra); err != nil {
		return c, err
	}
	switch {
	case c.Conns < 0:
		return c, errors.New("gen: negative number of connections")
	case c.Scale < 0:
		return c, errors.New("gen: negative scale")
	case c.Rate < 0:
		return c, errors.New("gen: negative rate")
	case c.Transfer < 0 || c.Transfer > 0 && c.Transfer < MinTransfer:
		return c, fmt.Errorf("gen: a transfer needs at least %d segments (handshake and close), not %d", MinTransfer, c.Transfer)
	case c.Conns > maxConns/c.Scale:
		// Compared by division: the product of two large values overflows
		// (2^32 × 2^32 is 0 in 64 bits).
		if c.Scale == 1 || c.Conns <= maxConns && c.Scale <= maxConns {
			return c, fmt.Errorf("gen: %d connections is more than the %d with distinct addresses and ports", int64(c.Conns)*int64(c.Scale), maxConns)
		}
		return c, fmt.Errorf("gen: %d connections at scale %d is more than the %d with distinct addresses and ports", c.Conns, c.Scale, maxConns)
	}
	return c, nil
}

// Lifecycle is how a connection ends. The names are the teardown patterns
// synfin reports.
type Lifecycle uint8

// The lifecycles Write generates.
const (
	FourSegment       Lifecycle = iota // FIN, ACK, FIN, ACK
	ThreeSegment                       // FIN, FIN-ACK, ACK
	SimultaneousClose                  // both FINs cross, then both ACKs
	HalfClose                          // data flows after the first FIN
	AbortRST                           // established, then RST
	Refused                            // SYN answered by RST-ACK
	Unanswered                         // SYN sent three times, never answered
	NumLifecycles
)

var lifecycleNames = [NumLifecycles]string{
	"four-segment", "three-segment", "simultaneous-close", "half-close",
	"abort-rst", "refused", "none",
}

func (l Lifecycle) String() string {
	if l < NumLifecycles {
		return lifecycleNames[l]
	}
	return fmt.Sprintf("Lifecycle(%d)", uint8(l))
}

// Stats is what Write wrote and what it meant to show.
type Stats struct {
	Conns        int64 // connections (each has its own 4-tuple)
	Packets      int64
	Bytes        int64 // bytes written, file headers included
	PayloadBytes int64 // TCP payload bytes, retransmissions included
	IPv4, IPv6   int64 // connections by IP version

	// Lifecycles counts connections by how they end.
	Lifecycles [NumLifecycles]int64
	// ClientFirst and ServerFirst count who starts the teardown of
	// four-segment, three-segment, half-close and abort-rst connections.
	ClientFirst, ServerFirst int64

	SYNRetransmits int64 // SYNs sent again (twice per unanswered connection)
	LateSYN        int64 // connections established after a retransmitted SYN
	Retransmits    int64 // data segments sent again after a loss
	OutOfOrder     int64 // data segments that arrive before an earlier one
	MaxOpen        int   // most connections open at once
	// Extra is each ingredient's population, as Config.Extra asked; its
	// connections are in Conns, not in Lifecycles.
	Extra [NumIngredients]int64

	First, Last time.Time // time stamps of the first and last packets
}

// Report is what Write wrote, in three lines each starting with prefix,
// elapsed being the time it took.
func (st Stats) Report(prefix string, elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%swrote %d connections, %d packets, %.1f MB in %.2fs (%s of traffic, at most %d open at once)\n",
		prefix, st.Conns, st.Packets, float64(st.Bytes)/1e6, elapsed.Seconds(), st.Last.Sub(st.First).Round(time.Second), st.MaxOpen)
	fmt.Fprintf(&b, "%sIPv4 %d, IPv6 %d;", prefix, st.IPv4, st.IPv6)
	for l := range NumLifecycles {
		fmt.Fprintf(&b, " %s %d", l, st.Lifecycles[l])
	}
	fmt.Fprintf(&b, "\n%sclient-first %d, server-first %d; SYN retransmits %d, data retransmits %d, out-of-order %d\n",
		prefix, st.ClientFirst, st.ServerFirst, st.SYNRetransmits, st.Retransmits, st.OutOfOrder)
	if st.Extra != [NumIngredients]int64{} {
		b.WriteString(prefix + "ingredients:")
		for k, n := range st.Extra {
			if n > 0 {
				fmt.Fprintf(&b, " %s %d", Ingredient(k), n)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
