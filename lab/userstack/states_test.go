package userstack

import (
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// TestRFCName checks the RFC 9293 name of every netstack state, written
// out here as section 3.3.2 names them.
func TestRFCName(t *testing.T) {
	tests := []struct {
		s    tcp.EndpointState
		want string
	}{
		{tcp.StateEstablished, "ESTABLISHED"},
		{tcp.StateSynSent, "SYN-SENT"},
		{tcp.StateSynRecv, "SYN-RECEIVED"},
		{tcp.StateFinWait1, "FIN-WAIT-1"},
		{tcp.StateFinWait2, "FIN-WAIT-2"},
		{tcp.StateTimeWait, "TIME-WAIT"},
		{tcp.StateClose, "CLOSED"},
		{tcp.StateCloseWait, "CLOSE-WAIT"},
		{tcp.StateLastAck, "LAST-ACK"},
		{tcp.StateListen, "LISTEN"},
		{tcp.StateClosing, "CLOSING"},
		{tcp.StateInitial, "CLOSED"},
		{tcp.StateBound, "CLOSED"},
		{tcp.StateConnecting, "CLOSED"},
		{tcp.StateError, "CLOSED"},
	}
	for _, tt := range tests {
		if got := rfcName(tt.s); got != tt.want {
			t.Errorf("rfcName(%s) = %q, want %q", tt.s, got, tt.want)
		}
	}
}
