package userstack

import (
	"fmt"

	"synfin/lab"
)

// unsupported says, per lab scenario, why netstack cannot show it.
var unsupported = map[string]string{
	// Netstack has no delayed ACK: it acknowledges a FIN at once, so the
	// close takes four segments, which RFC 9293 equally allows.
	"three-segment-close": "it needs a delayed ACK, and netstack acknowledges a FIN at once, so the close would take four segments",
	// The client's ACK from CLOSING carries a sequence number one past
	// the server's RCV.NXT (the lost FIN's); RFC 9293 accepts it.
	"simultaneous-close": "netstack answers the ACK sent from CLOSING with RST once the server has closed, where RFC 9293 accepts it",
	"time-wait-reuse":    "taking over a TIME-WAIT port with a new connect is a Linux rule that netstack does not follow",
	// The old SYN is injected through a raw socket of the kernel.
	"old-duplicate-syn": "the old SYN is sent through a raw socket into the kernel's network namespace, which this stack does not have",
}

// UnsupportedError says that a lab scenario cannot run on netstack.
type UnsupportedError struct {
	Scenario string
	Reason   string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("userstack: scenario %s cannot run on gVisor netstack: %s", e.Scenario, e.Reason)
}

// Unsupported returns why netstack cannot run the lab scenario named
// name, or "" if it can.
func Unsupported(name string) string { return unsupported[name] }

// FromLab takes what to run from a kernel lab scenario; what the
// scenario expects stays with it. It returns an *UnsupportedError for a
// scenario netstack cannot show.
func FromLab(sc *lab.Scenario) (Scenario, error) {
	if why := Unsupported(sc.Name); why != "" {
		return Scenario{}, &UnsupportedError{Scenario: sc.Name, Reason: why}
	}
	out := Scenario{Name: sc.Name, IPv6: sc.IPv6, Server: sc.Server}
	for _, c := range sc.Clients {
		out.Clients = append(out.Clients, ClientRun{Pause: c.Pause, Steps: c.Steps, SamePort: c.SamePort, SynRetries: c.SynRetries})
	}
	for _, f := range sc.Faults {
		out.Faults = append(out.Faults, Fault{From: Role(f.From), Rule: f.Rule})
	}
	return out, nil
}
