package userstack

import (
	"fmt"
	"slices"

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

// check refuses a scenario netstack cannot show: one Unsupported names,
// or one with an old duplicate SYN, which only the kernel's raw socket
// can send.
func check(sc *lab.Scenario) error {
	why := Unsupported(sc.Name)
	if why == "" && slices.ContainsFunc(sc.Clients, func(c lab.ClientRun) bool { return c.OldSYN }) {
		why = unsupported["old-duplicate-syn"]
	}
	if why != "" {
		return &UnsupportedError{Scenario: sc.Name, Reason: why}
	}
	return nil
}
