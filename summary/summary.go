package summary

import (
	"cmp"
	"net/netip"
	"slices"

	"synfin/tcpstate"
)

// Bounds of what a summary keeps and shows.
const (
	TopN        = 10   // entries of each top list
	MaxEvidence = 20   // connection ids a finding lists (the lowest)
	MaxFindings = 100  // findings of one kind
	topCapacity = 8192 // addresses each top list counts exactly (see topk)
)

// Summary is what a capture's connections add up to. It encodes as JSON
// (Write's --json form) for other renderers, such as the HTML report.
type Summary struct {
	Conns        int            `json:"conns"`
	Teardown     []Count        `json:"teardown"`
	Final        []Count        `json:"final"` // "client/server" final states
	Anomalies    []AnomalyCount `json:"anomalies"`
	HandshakeRTT Dist           `json:"handshake_rtt"` // of complete handshakes
	Duration     Dist           `json:"duration"`
	Clients      Top            `json:"clients"` // by address
	Servers      Top            `json:"servers"` // by address and port
	Findings     []Finding      `json:"findings"`
	// LeftOut counts findings not listed, past MaxFindings of a kind.
	LeftOut int `json:"left_out,omitempty"`
	// Skipped counts connections the detectors had no room for (past
	// their memory bound); the counts above have every connection.
	Skipped int `json:"skipped,omitempty"`
}

// Count is how many connections have a name (a pattern, a pair of states).
type Count struct {
	Name  string `json:"name"`
	Conns int    `json:"conns"`
}

// AnomalyCount is how many connections show an anomaly, and how often.
type AnomalyCount struct {
	Name  string `json:"name"`
	Conns int    `json:"conns"`
	Count int    `json:"count"`
}

// Dist sums up durations, in seconds: nearest-rank percentiles within
// 0.4% (see hist) and the exact maximum.
type Dist struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Top lists the busiest hosts by connections and by failures (handshakes
// that never completed: refused, rejected or unanswered).
type Top struct {
	ByConns    []Host `json:"by_conns"`
	ByFailures []Host `json:"by_failures"`
}

// Host is an address (and port, for a server) with a count; Over is how
// much of it may belong to others (0: exact; see topk).
type Host struct {
	Addr  string `json:"addr"`
	Conns int    `json:"conns"`
	Over  int    `json:"over,omitempty"`
}

// Collector adds connections up into a Summary. Its memory is bounded:
// fixed-size counters and histograms, top lists of at most topCapacity
// addresses each, and the detectors' buckets (see detector).
type Collector struct {
	n            int
	pattern      [tcpstate.PatternRefused + 1]int
	final        map[[2]tcpstate.State]int
	anom         [tcpstate.NumAnomalies][2]int
	rtt, dur     hist
	cli, cliFail *topk[netip.Addr]
	srv, srvFail *topk[netip.AddrPort]
	det          detector
}

// New returns an empty Collector.
func New() *Collector {
	return &Collector{
		final: make(map[[2]tcpstate.State]int),
		cli:   newTopk[netip.Addr](topCapacity), cliFail: newTopk[netip.Addr](topCapacity),
		srv: newTopk[netip.AddrPort](topCapacity), srvFail: newTopk[netip.AddrPort](topCapacity),
		det: newDetector(),
	}
}

// Add counts a finished connection (as track.Config.Done hands it out);
// c is not kept.
func (s *Collector) Add(c *tcpstate.Conn) {
	s.n++
	s.pattern[c.Teardown.Pattern]++
	s.final[[2]tcpstate.State{c.Client.State, c.Server.State}]++
	for a := range c.Anomalies {
		if n := c.Anomalies[a].Count; n > 0 {
			s.anom[a][0]++
			s.anom[a][1] += n
		}
	}
	if h := &c.Handshake; h.SYN.Seen() && h.SYNACK.Seen() && h.ACK.Seen() {
		s.rtt.add(int64(h.RTT()))
	}
	s.dur.add(int64(c.Duration()))
	s.cli.add(c.Client.Addr)
	s.srv.add(c.Server.AddrPort())
	if failed(c) {
		s.cliFail.add(c.Client.Addr)
		s.srvFail.add(c.Server.AddrPort())
	}
	s.det.add(c)
}

// failed: the handshake never completed.
func failed(c *tcpstate.Conn) bool {
	p := c.Teardown.Pattern
	return p == tcpstate.PatternNone || p == tcpstate.PatternRefused
}

// Summary returns the sum of the connections added so far.
func (s *Collector) Summary() *Summary {
	out := &Summary{Conns: s.n, HandshakeRTT: s.rtt.dist(), Duration: s.dur.dist(),
		Teardown: []Count{}, Final: []Count{}, Anomalies: []AnomalyCount{}}
	for p, n := range s.pattern {
		if n > 0 {
			out.Teardown = append(out.Teardown, Count{tcpstate.Pattern(p).String(), n})
		}
	}
	for k, n := range s.final {
		out.Final = append(out.Final, Count{k[0].String() + "/" + k[1].String(), n})
	}
	slices.SortFunc(out.Final, func(a, b Count) int { return cmp.Or(-cmp.Compare(a.Conns, b.Conns), cmp.Compare(a.Name, b.Name)) })
	for a, n := range s.anom {
		if n[0] > 0 {
			out.Anomalies = append(out.Anomalies, AnomalyCount{tcpstate.Anomaly(a).String(), n[0], n[1]})
		}
	}
	addr := func(a netip.Addr) string { return a.String() }
	ap := func(a netip.AddrPort) string { return a.String() }
	out.Clients = Top{s.cli.top(TopN, addr), s.cliFail.top(TopN, addr)}
	out.Servers = Top{s.srv.top(TopN, ap), s.srvFail.top(TopN, ap)}
	out.Findings, out.LeftOut = s.det.findings()
	out.Skipped = s.det.skipped
	return out
}
