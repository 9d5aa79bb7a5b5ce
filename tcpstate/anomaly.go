package tcpstate

import "fmt"

// Anomaly names something unusual about a segment. The first group follows
// Wireshark's tcp.analysis definitions (epan/dissectors/packet-tcp.c); the
// rest are synfin's own checks of the handshake and teardown.
type Anomaly uint8

// Anomalies.
const (
	Retransmission         Anomaly = iota // tcp.analysis.retransmission (generic)
	FastRetransmission                    // tcp.analysis.fast_retransmission
	SpuriousRetransmission                // tcp.analysis.spurious_retransmission
	OutOfOrder                            // tcp.analysis.out_of_order
	PrevSegmentNotCaptured                // tcp.analysis.lost_segment
	ACKedUnseenSegment                    // tcp.analysis.ack_lost_segment
	DuplicateACK                          // tcp.analysis.duplicate_ack
	ZeroWindow                            // tcp.analysis.zero_window
	ZeroWindowProbe                       // tcp.analysis.zero_window_probe
	WindowUpdate                          // tcp.analysis.window_update
	WindowFull                            // tcp.analysis.window_full
	KeepAlive                             // tcp.analysis.keep_alive
	KeepAliveACK                          // tcp.analysis.keep_alive_ack

	SYNRetransmit    // the client sent its SYN again
	SYNACKRetransmit // the server sent its SYN-ACK again
	BadHandshakeACK  // an acknowledgment in the handshake is not the peer's ISN + 1
	FINRetransmit    // a FIN sent again
	BadFINACK        // an acknowledgment past a FIN that is not FIN seq + 1
	RSTAfterFIN      // reset after a FIN was sent
	LostLastACK      // a FIN retransmitted after the peer acknowledged it
	PortReuse        // a new SYN on a tuple still known (closed or TIME-WAIT)
	NumAnomalies
)

var anomalyNames = [NumAnomalies]string{
	"retransmission", "fast-retransmission", "spurious-retransmission", "out-of-order",
	"previous-segment-not-captured", "acked-unseen-segment", "duplicate-ack",
	"zero-window", "zero-window-probe", "window-update", "window-full",
	"keep-alive", "keep-alive-ack",
	"syn-retransmit", "syn-ack-retransmit", "bad-handshake-ack", "fin-retransmit",
	"bad-fin-ack", "rst-after-fin", "lost-last-ack", "port-reuse",
}

// String returns the anomaly's name, e.g. "duplicate-ack".
func (a Anomaly) String() string {
	if a < NumAnomalies {
		return anomalyNames[a]
	}
	return fmt.Sprintf("Anomaly(%d)", uint8(a))
}

// Anomalies is a set of anomalies.
type Anomalies uint32

// Has reports whether a is in the set.
func (s Anomalies) Has(a Anomaly) bool { return s&(1<<a) != 0 }

// With returns the set with a added.
func (s Anomalies) With(a Anomaly) Anomalies { return s | 1<<a }

// List returns the anomalies in the set, in order.
func (s Anomalies) List() []Anomaly {
	var out []Anomaly
	for a := Anomaly(0); a < NumAnomalies; a++ {
		if s.Has(a) {
			out = append(out, a)
		}
	}
	return out
}

// MarshalJSON writes the set as an array of names.
func (s Anomalies) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	for i, a := range s.List() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, a.String()...)
		b = append(b, '"')
	}
	return append(b, ']'), nil
}

// AnomalyCount is how often one anomaly occurred in a connection.
type AnomalyCount struct {
	Anomaly Anomaly
	Count   int
	First   int // frame index of the first occurrence
}

// AnomalyCounts counts each anomaly of a connection.
type AnomalyCounts [NumAnomalies]struct {
	Count int
	First int
}

func (c *AnomalyCounts) add(a Anomaly, seg int) {
	if c[a].Count == 0 {
		c[a].First = seg
	}
	c[a].Count++
}

// List returns the anomalies that occurred, in Anomaly order.
func (c *AnomalyCounts) List() []AnomalyCount {
	var out []AnomalyCount
	for a := range c {
		if c[a].Count > 0 {
			out = append(out, AnomalyCount{Anomaly(a), c[a].Count, c[a].First})
		}
	}
	return out
}
