package kernel

import (
	"fmt"
	"strings"
)

// State is a kernel TCP state (include/net/tcp_states.h numbering).
type State uint8

// The kernel's TCP states.
const (
	Established State = 1 + iota
	SynSent
	SynRecv
	FinWait1
	FinWait2
	TimeWait
	Close
	CloseWait
	LastAck
	Listen
	Closing
	NewSynRecv
)

var states = [...]struct{ kernel, rfc, ss string }{
	Established: {"TCP_ESTABLISHED", "ESTABLISHED", "ESTAB"},
	SynSent:     {"TCP_SYN_SENT", "SYN-SENT", "SYN-SENT"},
	SynRecv:     {"TCP_SYN_RECV", "SYN-RECEIVED", "SYN-RECV"},
	FinWait1:    {"TCP_FIN_WAIT1", "FIN-WAIT-1", "FIN-WAIT-1"},
	FinWait2:    {"TCP_FIN_WAIT2", "FIN-WAIT-2", "FIN-WAIT-2"},
	TimeWait:    {"TCP_TIME_WAIT", "TIME-WAIT", "TIME-WAIT"},
	Close:       {"TCP_CLOSE", "CLOSED", "UNCONN"},
	CloseWait:   {"TCP_CLOSE_WAIT", "CLOSE-WAIT", "CLOSE-WAIT"},
	LastAck:     {"TCP_LAST_ACK", "LAST-ACK", "LAST-ACK"},
	Listen:      {"TCP_LISTEN", "LISTEN", "LISTEN"},
	Closing:     {"TCP_CLOSING", "CLOSING", "CLOSING"},
	// A request socket: RFC 9293's SYN-RECEIVED before the final ACK.
	NewSynRecv: {"TCP_NEW_SYN_RECV", "SYN-RECEIVED", "NEW-SYN-RECV"},
}

func (s State) valid() bool { return s >= Established && int(s) < len(states) }

// String returns the kernel's name, for example "TCP_SYN_RECV".
func (s State) String() string {
	if !s.valid() {
		return fmt.Sprintf("TCP_STATE(%d)", uint8(s))
	}
	return states[s].kernel
}

// RFC returns the RFC 9293 name, for example "SYN-RECEIVED" for both
// TCP_SYN_RECV and TCP_NEW_SYN_RECV, and "CLOSED" for TCP_CLOSE.
func (s State) RFC() string {
	if !s.valid() {
		return "UNKNOWN"
	}
	return states[s].rfc
}

// SS returns the name ss(8) prints, for example "ESTAB".
func (s State) SS() string {
	if !s.valid() {
		return "UNKNOWN"
	}
	return states[s].ss
}

// ParseState reads a kernel name ("TCP_FIN_WAIT1", with or without the
// prefix).
func ParseState(name string) (State, error) {
	n := strings.TrimPrefix(strings.ToUpper(name), "TCP_")
	for i := range states {
		s := State(i)
		if s.valid() && states[i].kernel[4:] == n {
			return s, nil
		}
	}
	return 0, fmt.Errorf("kernel: unknown TCP state %q", name)
}
