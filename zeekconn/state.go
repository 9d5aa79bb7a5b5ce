package zeekconn

// EndpointState is Zeek's view of one endpoint (TCP_ENDPOINT_*). The
// numeric values are Zeek's, as printed in c$orig$state.
type EndpointState uint8

// Zeek's endpoint states.
const (
	Inactive    EndpointState = iota // nothing seen from this side
	SynSent                          // SYN seen, no ack
	SynAckSent                       // SYN-ACK seen, no initial SYN
	Partial                          // data seen but no SYN
	Established                      // handshake seen (implicitly for a responder)
	Closed                           // FIN seen
	Reset                            // RST seen
)

var stateNames = [...]string{"INACTIVE", "SYN_SENT", "SYN_ACK_SENT", "PARTIAL", "ESTABLISHED", "CLOSED", "RESET"}

func (s EndpointState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// handshake reports whether s is one of the states before a connection
// counts as set up; leaving them switches the inactivity timeout.
func (s EndpointState) handshake() bool { return s == Inactive || s == SynSent || s == SynAckSent }

// ConnState returns the conn_state value Zeek's conn scripts derive from
// the two endpoint states, their sizes and the history string.
func ConnState(orig, resp EndpointState, origSize, respSize uint64, history string) string {
	oInactive := orig == Inactive || orig == Partial
	rInactive := resp == Inactive || resp == Partial
	switch {
	case resp == Reset:
		if orig == SynSent || orig == SynAckSent || (orig == Reset && origSize == 0 && respSize == 0) {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case orig == Reset:
		if rInactive {
			if looksLikeSynThenReset(history) {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case resp == Closed && orig == Closed:
		return "SF"
	case orig == Closed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case resp == Closed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case orig == SynSent && resp == Inactive:
		return "S0"
	case orig == Established && resp == Established:
		return "S1"
	}
	return "OTH"
}

// looksLikeSynThenReset matches the whole history against Zeek's pattern
// /\^?S[^HAFGIQ]*R.*/: the originator's SYN, then its RST, with no sign of
// an answer or of data in between.
func looksLikeSynThenReset(h string) bool {
	i := 0
	if i < len(h) && h[i] == '^' {
		i++
	}
	if i >= len(h) || h[i] != 'S' {
		return false
	}
	for i++; i < len(h); i++ {
		switch h[i] {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}
