//go:build linux

package cli

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"synfin/gen"
	"synfin/internal/corpus"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/lab/client"
	"synfin/lab/fault"
	"synfin/lab/server"
	"synfin/render/tsg"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// xplFlow is what tcptrace -G draws of one direction in its
// time-sequence graph (a2b_tsg.xpl ...), read back into the points
// render/tsg computes, in absolute sequence numbers and microseconds.
type xplFlow struct {
	from, to string
	segs     []string // "t lo hi" of each vertical segment line, "t lo X" for a zero-length one
	marks    []string // "t y label": R, O, P, R SYN, R FIN, Z
	acks     []string // "t ack"
	wins     []string // "t window end"
	sacks    []string // "t left right"
	tput     []string // "t bytes/s" from the matching _tput.xpl
}

// parseXPL reads one tsg.xpl file. tcptrace draws a segment as a
// vertical line in white (red when retransmitted, orange for SYN and FIN),
// a zero-length one as a down and an up arrow at one point; the ACK line
// (green) and the window line (yellow) as steps: a horizontal line from the
// previous acknowledgment to the time of the next, then a vertical line up
// to its value or a tick when it stayed; a SACK block as a purple vertical
// line; marks as text above a point (trace.c).
func parseXPL(t *testing.T, path string) xplFlow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var x xplFlow
	sc := bufio.NewScanner(f)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 3 {
		t.Fatalf("%s: too short", path)
	}
	title := strings.TrimSuffix(lines[2], " (time sequence graph)")
	from, to, _ := strings.Cut(title, "_==>_")
	x.from, x.to = normAddr(t, from), normAddr(t, to)
	color := ""
	var prev []string // the previous drawing command's fields
	// steps rebuilds a step line's points from its horizontal lines and
	// the vertical line or tick after each.
	step := func(pts *[]string, w []string) {
		switch {
		case w[0] == "line" && w[2] == w[4]:
			if len(*pts) == 0 {
				*pts = append(*pts, us(t, w[1])+" "+w[2])
			}
			*pts = append(*pts, us(t, w[3])+" "+w[4])
		case w[0] == "line":
			(*pts)[len(*pts)-1] = us(t, w[3]) + " " + w[4]
		}
	}
	for i := 0; i < len(lines); i++ {
		w := strings.Fields(lines[i])
		if len(w) == 1 {
			switch w[0] {
			case "white", "green", "yellow", "purple", "red", "orange", "blue", "pink", "magenta":
				color = w[0]
			}
			continue
		}
		if len(w) < 3 || strings.Contains(w[1], "time") {
			continue
		}
		c := color
		if len(w) == 4 && (w[0] != "line") || len(w) == 6 {
			c = w[len(w)-1] // a colour for this command only
		}
		switch {
		case strings.HasSuffix(w[0], "text"):
			i++
			switch lines[i] {
			case "R", "O", "P", "Z", "R SYN", "R FIN":
				x.marks = append(x.marks, us(t, w[1])+" "+w[2]+" "+lines[i])
			case "HD", "HD SYN", "HD FIN":
				// A "hardware duplicate" (the same IP ID and sequence
				// number again) is a retransmission to render/tsg.
				x.marks = append(x.marks, us(t, w[1])+" "+w[2]+" R"+lines[i][2:])
			}
		case w[0] == "line" && (c == "white" || c == "red" || c == "orange" || c == "blue") && w[1] == w[3]:
			x.segs = append(x.segs, us(t, w[1])+" "+w[2]+" "+w[4])
		case w[0] == "uarrow" && c != "green" && prev != nil && prev[0] == "darrow" && prev[1] == w[1] && prev[2] == w[2]:
			x.segs = append(x.segs, us(t, w[1])+" "+w[2]+" X")
		case c == "green":
			step(&x.acks, w)
		case c == "yellow" && w[0] != "diamond":
			step(&x.wins, w)
		case c == "purple" && w[0] == "line":
			x.sacks = append(x.sacks, us(t, w[1])+" "+w[2]+" "+w[4])
		}
		prev = w
	}
	x.tput = parseTput(t, strings.TrimSuffix(path, "_tsg.xpl")+"_tput.xpl")
	return x
}

// parseTput reads the instantaneous throughput (red dots) of a _tput.xpl
// file, if there is one.
func parseTput(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var pts []string
	color := ""
	for _, l := range strings.Split(string(b), "\n") {
		w := strings.Fields(l)
		switch {
		case len(w) == 1:
			color = w[0]
		case len(w) == 3 && w[0] == "dot" && color == "red":
			pts = append(pts, us(t, w[1])+" "+w[2])
		}
	}
	return pts
}

// normAddr writes tcptrace's host:port (IPv6 with zeros, no brackets) as
// netip does.
func normAddr(t *testing.T, s string) string {
	i := strings.LastIndexByte(s, ':')
	a, err := netip.ParseAddr(s[:i])
	if err != nil {
		t.Fatalf("tcptrace's address %q: %v", s, err)
	}
	p, err := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil {
		t.Fatalf("tcptrace's port %q: %v", s, err)
	}
	return netip.AddrPortFrom(a, uint16(p)).String()
}

// us turns tcptrace's seconds with six decimals into microseconds.
func us(t *testing.T, s string) string {
	sec, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 6 {
		t.Fatalf("time %q: want seconds with six decimals", s)
	}
	return sec + frac
}

// tsgPoints writes the points of f as parseXPL reads tcptrace's:
// absolute sequence numbers modulo 2^32, times in microseconds.
func tsgPoints(g *tsg.Graph, f *tsg.Flow, other *tsg.Flow) xplFlow {
	abs := func(v int64) string { return strconv.FormatUint(uint64(f.Base+uint32(v)), 10) }
	tm := func(t float64) string { // truncated to microseconds, as tcptrace's timeval
		return strconv.FormatInt((g.Start+int64(math.Round(t*1e9)))/1000, 10)
	}
	x := xplFlow{from: f.From, to: f.To}
	for _, s := range f.Segs {
		end := s.Lo + int64(s.Len)
		syn, fin := strings.Contains(s.Flags, "S"), strings.Contains(s.Flags, "F")
		switch {
		case syn:
			x.segs = append(x.segs, tm(s.T)+" "+abs(s.Lo)+" "+abs(s.Lo+1))
		case fin:
			if s.Len > 0 {
				x.segs = append(x.segs, tm(s.T)+" "+abs(s.Lo)+" "+abs(end))
			}
			x.segs = append(x.segs, tm(s.T)+" "+abs(end)+" "+abs(end+1))
		case s.Len > 0:
			x.segs = append(x.segs, tm(s.T)+" "+abs(s.Lo)+" "+abs(end))
		default:
			x.segs = append(x.segs, tm(s.T)+" "+abs(s.Lo)+" X")
		}
		if s.OutOfOrder {
			x.marks = append(x.marks, tm(s.T)+" "+abs(end)+" O")
		}
		switch {
		case s.Probe:
			x.marks = append(x.marks, tm(s.T)+" "+abs(end)+" P")
		case s.Retrans && syn:
			x.marks = append(x.marks, tm(s.T)+" "+abs(s.Lo+1)+" R SYN")
		case s.Retrans && fin:
			x.marks = append(x.marks, tm(s.T)+" "+abs(end+1)+" R FIN")
		case s.Retrans:
			x.marks = append(x.marks, tm(s.T)+" "+abs(end)+" R")
		}
	}
	for i, p := range f.ACKs {
		if i == 0 && len(f.ACKs) > 1 {
			// A SYN sets the ACK line tcptrace draws back to its
			// sequence number (trace.c: "bug fix for Rob Austein"),
			// which shows in where the line starts.
			for _, s := range f.Segs {
				if strings.Contains(s.Flags, "S") && s.T >= p.T && s.T <= f.ACKs[1].T {
					p.Seq = s.Lo
				}
			}
		}
		x.acks = append(x.acks, tm(p.T)+" "+abs(p.Seq))
		x.wins = append(x.wins, tm(p.T)+" "+abs(f.Windows[i].Seq))
	}
	for _, p := range f.Zero {
		x.marks = append(x.marks, tm(p.T)+" "+abs(p.Seq)+" Z")
	}
	for _, b := range f.SACKs {
		x.sacks = append(x.sacks, tm(b.T)+" "+abs(b.Lo)+" "+abs(b.Hi))
	}
	for _, v := range f.Throughput {
		// tcptrace's int overflows past 2 GiB/s, to 0x80000000 on x86.
		x.tput = append(x.tput, tm(v.T)+" "+strconv.FormatInt(min(int64(v.V), 1<<31), 10))
	}
	return x
}

// TestTSGAgreesWithTcptrace computes the time-sequence graph of every
// connection of captures with data as diagram --format tsg does (the same
// tracker configuration) and compares its points with what tcptrace -G
// draws in its xplot files: each segment's time and sequence range, the
// retransmission, out-of-order, probe and zero-window marks, every ACK and
// window point, every SACK block, and the throughput points of its
// _tput.xpl files.
func TestTSGAgreesWithTcptrace(t *testing.T) {
	tcptrace := testenv.NeedTool(t, "tcptrace")
	dir := t.TempDir()
	reorder := filepath.Join(dir, "reorder.pcap")
	f, err := os.Create(reorder)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Write(f, gen.Config{Transfer: 3000, Reorder: true, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	workload := filepath.Join(dir, "workload.pcap")
	if f, err = os.Create(workload); err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Write(f, gen.Config{Conns: 250, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	captures := []struct {
		name string
		path func(t *testing.T) string
		// marks tcptrace draws wrongly
		wrong []string
	}{
		{"gen transfer reordered", func(*testing.T) string { return reorder }, nil},
		{"gen workload", func(*testing.T) string { return workload }, nil},
		{"zeek wikipedia retransmissions", corpusFile("zeek", "core.tcp.rxmit-history-2", "wikipedia.pcap"), nil},
		// tcptrace's quadrant bookkeeping (rexmit.c) calls the first
		// segment past a gap across the wrap of the sequence space a
		// retransmission, though none of its bytes was sent before.
		{"zeek big transfer", corpusFile("zeek", "core.tcp.large-file-reassembly", "bigtransfer.pcap"), []string{"1395939541704156 238998 R"}},
		{"zeek m57 long download", corpusFile("zeek", "scripts.base.protocols.http.m57-long-download-windowsupdate-1", "m57-long-49583-80.pcap"), nil},
		{"zeek ssh", corpusFile("zeek", "scripts.base.protocols.ssh.basic", "ssh.pcap"), nil},
		{"zeek irc dcc send", corpusFile("zeek", "scripts.base.protocols.irc.basic", "irc-dcc-send.pcapng"), nil},
		{"kernel upload with a lost segment", kernelTransfer, nil},
		{"kernel download into a full receive buffer", kernelZeroWindow, nil},
	}
	for _, c := range captures {
		t.Run(c.name, func(t *testing.T) {
			path := c.path(t)
			out := t.TempDir()
			cmd := exec.Command(tcptrace, "-n", "-G", path)
			cmd.Dir = out
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("tcptrace: %v\n%s", err, b)
			}
			xpls, _ := filepath.Glob(filepath.Join(out, "*_tsg.xpl"))
			theirs := map[string]xplFlow{}
			for _, p := range xpls {
				x := parseXPL(t, p)
				theirs[x.from+" "+x.to] = x
			}
			var graphs []*tsg.Graph
			tuples := map[string]int{}
			env := &Env{Ctx: t.Context(), Stdout: os.Stdout, Stderr: os.Stderr, Stdin: strings.NewReader("")}
			err := trackFile(env, []string{path}, true, "", viewConfig(func(c *tcpstate.Conn) {
				graphs = append(graphs, tsg.Compute(c))
			}, track.DefaultMaxConns))
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range graphs {
				tuples[g.Flows[0].From+" "+g.Flows[0].To]++
			}
			compared, segs, sacks, tputs, wrongSeen := 0, 0, 0, 0, 0
			marks := map[string]int{}
			for _, g := range graphs {
				if tuples[g.Flows[0].From+" "+g.Flows[0].To] > 1 {
					continue // a tuple used again: tcptrace may split it elsewhere
				}
				for d := range g.Flows {
					f := &g.Flows[d]
					x, ok := theirs[f.From+" "+f.To]
					if !ok {
						t.Errorf("conn %d %s: tcptrace drew no graph of %s to %s", g.Conn, f.Dir, f.From, f.To)
						continue
					}
					ours := tsgPoints(g, f, &g.Flows[1-d])
					where := fmt.Sprintf("conn %d %s (%s)", g.Conn, f.Dir, f.From)
					same(t, where+" segments", x.segs, ours.segs, false)
					n := len(x.marks)
					x.marks = slices.DeleteFunc(x.marks, func(m string) bool { return slices.Contains(c.wrong, m) })
					wrongSeen += n - len(x.marks)
					same(t, where+" marks", x.marks, ours.marks, true)
					same(t, where+" SACK blocks", x.sacks, ours.sacks, false)
					same(t, where+" throughput", x.tput, ours.tput, false)
					tputs += len(ours.tput)
					if len(x.acks) == 0 && len(ours.acks) <= 1 {
						continue // tcptrace draws from the second ACK on
					}
					same(t, where+" ACK points", x.acks, ours.acks, false)
					same(t, where+" window points", x.wins, ours.wins, false)
					compared++
					segs += len(f.Segs)
					sacks += len(f.SACKs)
					for _, m := range ours.marks {
						marks[strings.SplitN(m, " ", 3)[2]]++
					}
				}
			}
			if compared == 0 {
				t.Fatal("no flow compared")
			}
			if wrongSeen != len(c.wrong) {
				t.Errorf("tcptrace drew %d of the %d marks known to be wrong", wrongSeen, len(c.wrong))
			}
			t.Logf("%d flows, %d segments, %d SACK blocks, %d throughput points and marks %v agree with tcptrace", compared, segs, sacks, tputs, marks)
		})
	}
}

// kernelZeroWindow records a download of 8 MB over loopback in a network
// namespace by a client that waits a second and a half before it reads:
// its receive buffer fills, it offers a zero window, and the server's
// kernel probes it until the client reads.
func kernelZeroWindow(t *testing.T) string {
	return labCapture(t, "zerowindow.pcap", "wait 1500ms, read, close", &server.Options{Mode: server.Send, Bytes: 8 << 20}, nil, 9962)
}

func corpusFile(sub ...string) func(t *testing.T) string {
	return func(t *testing.T) string { return filepath.Join(corpus.Dir(t, sub[:len(sub)-1]...), sub[len(sub)-1]) }
}

// same compares two lists of points, in order unless sorted.
func same(t *testing.T, what string, want, got []string, sorted bool) {
	t.Helper()
	if sorted {
		want, got = slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(got))
	}
	for i := range max(len(want), len(got)) {
		w, g := "(none)", "(none)"
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			t.Errorf("%s: %d from tcptrace, %d computed; first difference at %d: tcptrace %q, computed %q", what, len(want), len(got), i, w, g)
			return
		}
	}
}

// kernelTransfer records a real upload of 40 MB over loopback in a
// network namespace, with the client's 60th segment after the handshake
// dropped on its way in, so that the kernel sends it again, and returns
// the capture's path.
func kernelTransfer(t *testing.T) string {
	drop := lab.Fault{From: lab.Client, Rule: fault.Rule{Name: "data", Flags: wire.ACK,
		Mask: wire.SYN | wire.FIN | wire.RST | wire.ACK, Nth: 60}}
	return labCapture(t, "transfer.pcap", "send 40000000, close", nil, []lab.Fault{drop}, 9961)
}

// labCapture runs the lab's client-closes-first scenario (its server
// reads to the end of the stream, unless srv replaces it) with these
// client steps and faults in a network namespace on port, and returns the
// path of the capture, written as file.
func labCapture(t *testing.T, file, steps string, srv *server.Options, faults []lab.Fault, port uint16) string {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin, testenv.CapNetRaw)
	st, err := client.ParseSteps(steps)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := lab.Lookup("client-closes-first")
	if err != nil {
		t.Fatal(err)
	}
	if srv != nil {
		sc.Server = srv
	}
	sc.Clients = []lab.ClientRun{{Steps: st}}
	sc.Faults = faults
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	res, err := lab.Run(ctx, sc, lab.Options{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), file)
	pcaptest.WriteFile(t, path, res.Link, res.Frames)
	return path
}
