package vantage

// Report is what Compare found. Times are seconds, delays milliseconds.
type Report struct {
	A           Point    `json:"a"`
	B           Point    `json:"b"`
	Clock       Clock    `json:"clock"`
	Connections []Conn   `json:"connections"`
	OnlyA       []string `json:"only_a"` // connections seen at A only
	OnlyB       []string `json:"only_b"`
	Warnings    []string `json:"warnings,omitempty"`
}

// Point is one capture.
type Point struct {
	Name     string `json:"name"`
	Segments int    `json:"segments"`
}

// Clock is the offset between the two captures' clocks: B's time minus
// A's for the same instant, from the segments seen at both.
type Clock struct {
	// Known: segments crossed both ways, so offset and delay can be
	// told apart (on the assumption that the least delay is the same
	// each way, as NTP assumes); Spread is then how far the true offset
	// can be from Offset.
	Known   bool    `json:"known"`
	Offset  float64 `json:"offset"`
	Spread  float64 `json:"spread"`
	Samples int     `json:"samples"`
	// Applied: the raw time stamps put some segment's arrival before
	// its sending, so B's times are corrected by Offset; otherwise
	// the delays are the raw differences of the time stamps.
	Applied bool `json:"applied"`
}

// Conn is one connection seen at both points.
type Conn struct {
	ID         int    `json:"id"`
	A          Tuple  `json:"a"`
	B          Tuple  `json:"b"`
	ClientSide string `json:"client_side"` // "A" or "B": the point nearer the client
	// MatchedBy names what the two captures' connections share: "isn",
	// "timestamps", "4-tuple", "timing".
	MatchedBy []string `json:"matched_by"`
	// Changes is what the path changed, translation first.
	Changes []Change `json:"changes"`
	// SeqOffset is the client's (index 0) and the server's (1)
	// sequence numbers at B minus those at A: not zero where a firewall
	// rewrote them.
	SeqOffset [2]int64        `json:"seq_offset"`
	Delay     map[string]Dist `json:"delay"`  // by direction, "c2s" and "s2c"
	Counts    map[string]int  `json:"counts"` // segments by status
	Segments  []Seg           `json:"segments"`
}

// Tuple is a connection's ends as one point saw them.
type Tuple struct {
	Client string `json:"client"`
	Server string `json:"server"`
}

// Dist sums up one-way delays (ms).
type Dist struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Max    float64 `json:"max"`
}

// The statuses of a segment.
const (
	Both        = "both"        // seen at both points
	Lost        = "lost"        // seen at the sender's side only, while the other point captured
	Resegmented = "resegmented" // its bytes crossed in other segments (TSO/GRO): not a loss
	FarOnly     = "far-only"    // seen at the receiver's side only
	Unobserved  = "unobserved"  // sent while the other point was not capturing
)

// Seg is one segment of a connection, at one point or both.
type Seg struct {
	Dir    string  `json:"dir"` // "c2s" or "s2c"
	FrameA int     `json:"frame_a,omitempty"`
	FrameB int     `json:"frame_b,omitempty"`
	T      float64 `json:"t"` // on A's clock, from the connection's first segment
	Flags  string  `json:"flags"`
	Seq    uint32  `json:"seq"` // relative, as at the sender's side
	Ack    uint32  `json:"ack"`
	Len    int     `json:"len"`
	Status string  `json:"status"`
	Delay  float64 `json:"delay,omitempty"` // ms, when seen at both
	// Retransmits is the sender's-side frame of the segment this one
	// sends again, OriginalStatus what became of that one, and AckLost
	// the receiver's-side frame of an acknowledgment of it lost on the
	// way back.
	Retransmits    int    `json:"retransmits,omitempty"`
	OriginalStatus string `json:"original_status,omitempty"`
	AckLost        int    `json:"ack_lost,omitempty"`
}

// Change is one thing the path changed in a connection's segments.
type Change struct {
	// What: "client", "server" (address and port translated), "isn"
	// (sequence numbers shifted), "mss", "wscale-removed",
	// "sackok-removed", "timestamps-removed", "ttl", "dscp", "ecn",
	// "resegmented".
	What string `json:"what"`
	Dir  string `json:"dir,omitempty"` // "c2s", "s2c"
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	N    int    `json:"n,omitempty"` // segments it was seen on
}
