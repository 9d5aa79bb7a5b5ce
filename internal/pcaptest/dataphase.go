package pcaptest

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// DataPhase is the data phase of a capture's one connection as tcpdump
// and tshark show it, worked out from their output alone: it runs from
// the segment after the handshake (the SYN, the SYN-ACK and the client's
// first ACK after it) to the one before the first FIN or RST. Counts are
// by sender: [0] the client (the sender of the first SYN), [1] the server.
type DataPhase struct {
	First, Last int    // frame numbers, as tcpdump -# counts them
	Start, End  string // their times of day in UTC, to the microsecond
	Segments    [2]int
	Bytes       [2]int
	// Retransmissions are the segments tshark flags
	// tcp.analysis.retransmission.
	Retransmissions [2]int
	Frames          int // of the whole capture
}

// tcpdumpLine is a line of tcpdump -# -n -S -tt for TCP over IP or IPv6.
var tcpdumpLine = regexp.MustCompile(`^\s*(\d+)\s+(\d+)\.(\d{6}) IP6? \S+\.(\d+) > \S+\.(\d+): Flags \[([^\]]*)\].*, length (\d+)`)

// TcpdumpDataPhase reads the capture at path, which must hold one TCP
// connection that opens with a handshake, with tcpdump and tshark, and
// returns its data phase.
func TcpdumpDataPhase(tb testing.TB, tcpdump, tshark, path string) DataPhase {
	tb.Helper()
	out, err := (&exec.Cmd{Path: tcpdump, Args: []string{tcpdump, "-#", "-n", "-S", "-tt", "-r", path}}).Output()
	if err != nil {
		tb.Fatalf("tcpdump: %v", err)
	}
	type seg struct {
		frame, sport, length int
		flags, at            string
	}
	var segs []seg
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		m := tcpdumpLine.FindStringSubmatch(l)
		if m == nil {
			tb.Fatalf("tcpdump line not understood: %s", l)
		}
		n := func(s string) int { v, _ := strconv.Atoi(s); return v }
		at := time.Unix(int64(n(m[2])), int64(n(m[3]))*1000).UTC().Format("15:04:05.000000")
		segs = append(segs, seg{frame: n(m[1]), sport: n(m[4]), length: n(m[7]), flags: m[6], at: at})
	}
	if len(segs) < 4 || segs[0].flags != "S" {
		tb.Fatalf("%s: not one connection opening with a SYN", path)
	}
	client := segs[0].sport
	d := DataPhase{Frames: len(segs)}
	first, end := -1, len(segs) // the data phase is segs[first:end]
	synack := false
	for i, s := range segs {
		if strings.ContainsAny(s.flags, "FR") {
			end = i
			break
		}
		if strings.Contains(s.flags, "S") {
			synack = synack || s.sport != client
		} else if first < 0 && synack && s.sport == client {
			first = i + 1 // after the handshake's ACK
		}
	}
	last := end - 1
	if first < 0 || last < first {
		tb.Fatalf("%s: no data phase after a handshake", path)
	}
	for _, s := range segs[first : last+1] {
		dir := 0
		if s.sport != client {
			dir = 1
		}
		d.Segments[dir]++
		d.Bytes[dir] += s.length
	}
	d.First, d.Last = segs[first].frame, segs[last].frame
	d.Start, d.End = segs[first].at, segs[last].at

	out, err = (&exec.Cmd{Path: tshark, Args: []string{tshark, "-n", "-r", path, "-Y", "tcp.analysis.retransmission",
		"-T", "fields", "-e", "frame.number", "-e", "tcp.srcport"}}).Output()
	if err != nil {
		tb.Fatalf("tshark: %v", err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		frame, _ := strconv.Atoi(f[0])
		if frame < d.First || frame > d.Last {
			continue
		}
		if f[1] == strconv.Itoa(client) {
			d.Retransmissions[0]++
		} else {
			d.Retransmissions[1]++
		}
	}
	return d
}
