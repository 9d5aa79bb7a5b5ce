package tcpstate

import "fmt"

// State is an endpoint's connection state, RFC 9293 section 3.3.2, plus
// Unknown for an endpoint whose state the capture cannot tell (seen only
// mid-stream).
type State uint8

// The states. Closed is the zero value.
const (
	Closed State = iota
	Listen
	SynSent
	SynReceived
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait
	Unknown
	numStates
)

var stateNames = [numStates]string{
	"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED",
	"FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK",
	"TIME-WAIT", "UNKNOWN",
}

// String returns RFC 9293's name, e.g. "SYN-RECEIVED".
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// closedOrWaiting reports whether an endpoint in s has nothing left to
// send or receive on the connection.
func (s State) closedOrWaiting() bool { return s == Closed || s == TimeWait || s == Listen }
