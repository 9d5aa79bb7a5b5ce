//go:build linux

package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"synfin/internal/labtest"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/lab"
)

// TestReadLoopback captures real connections on lo with tcpdump (data and
// close, abort with RST, a refused connect, IPv6) and compares "synfin
// read" with "tcpdump -r" on the capture for several flag sets.
func TestReadLoopback(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapNetRaw)
	tcpdumpPath := testenv.NeedTool(t, "tcpdump")
	withGMT(t)

	ln4, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln4.Close()
	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		testenv.Unavailable(t, "no IPv6 loopback: "+err.Error())
	}
	defer ln6.Close()
	refused, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()
	ports := []string{port(ln4.Addr()), port(ln6.Addr()), port(refused.Addr())}

	capFile := filepath.Join(t.TempDir(), "lo.pcap")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tcpdumpPath, "-i", "lo", "--immediate-mode", "-U", "-w", capFile,
		"tcp port "+ports[0]+" or tcp port "+ports[1]+" or tcp port "+ports[2])
	stop := pcaptest.StartTcpdump(t, cmd)
	time.Sleep(500 * time.Millisecond) // the filter is attached a little later

	serve := func(ln net.Listener) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						c.Write(buf[:n])
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}
	go serve(ln4)
	go serve(ln6)

	// Data then an orderly close, over IPv4 and IPv6.
	for _, addr := range []string{ln4.Addr().String(), ln6.Addr().String()} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "hello synfin\r\n")
		buf := make([]byte, 64)
		io.ReadAtLeast(c, buf, 14)
		c.Close()
	}
	// Abort: close with unread data pending and linger 0 sends RST.
	c, err := net.Dial("tcp", ln4.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "abort")
	time.Sleep(50 * time.Millisecond)
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	// Refused: SYN answered by RST.
	if c, err := net.Dial("tcp", refusedAddr); err == nil {
		c.Close()
		t.Fatal("connect to a closed port succeeded")
	}
	time.Sleep(time.Second)
	stop()

	// Without -n both name 127.0.0.1 and ::1 as the hosts file (or DNS)
	// does.
	flagSets := [][]string{{"-n", "-S"}, {"-n"}, {}, {"-S"}, {"-v", "-n"}, {"-vv"}, {"-e", "-n"}, {"-e", "-q"},
		{"-tt", "-n"}, {"-ttt", "-n"}, {"-x", "-n"}, {"-X", "-n", "-S"}}
	if n := readVsTcpdump(t, tcpdumpPath, capFile, []string{"127.0.0.1", "::1"}, flagSets); n < 15 {
		t.Errorf("only %d TCP records captured", n)
	}
}

func port(a net.Addr) string { return strconv.Itoa(a.(*net.TCPAddr).Port) }

// TestCaptureLineAndPacketBuffered: -l and -U, which tcpdump users type
// when piping, are taken as tcpdump takes them, alone and combined with
// other flags.
func TestCaptureLineAndPacketBuffered(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapNetRaw)
	pcap := filepath.Join(t.TempDir(), "u.pcap")
	for _, args := range [][]string{
		{"capture", "-i", "lo", "-l", "-n", "--for", "200ms", "port", "9"},
		{"capture", "-i", "lo", "-lnS", "--for", "200ms", "port", "9"},
		{"capture", "-i", "lo", "-U", "-w", pcap, "--for", "200ms", "port", "9"},
		{"capture", "-i", "lo", "-lU", "--print", "-w", pcap, "--for", "200ms", "port", "9"},
	} {
		code, _, stderr := runMain(t, args...)
		if code != 0 || strings.Contains(stderr, "unknown flag") {
			t.Errorf("%q: exit %d, stderr %q; want the capture run", args, code, stderr)
		}
	}
	if st, err := os.Stat(pcap); err != nil || st.Size() != 24 {
		t.Errorf("-U -w: %v, %v; want a pcap holding its header", st, err)
	}
}

// annotation splits an annotated line into the tcpdump line and the step.
var annotation = regexp.MustCompile(`^(.*)  \[([^\]]*)\]$`)

// stepFits says whether a step name agrees with the flags tcpdump printed
// for the same segment and the payload length.
func stepFits(step, flags string, length int) error {
	has := func(f string) bool { return strings.Contains(flags, f) }
	name, _, _ := strings.Cut(step, ";")
	rules := []struct {
		match string
		ok    bool
	}{
		{"handshake 1/3", flags == "S"},
		{"handshake 2/3", flags == "S."},
		{"handshake 3/3", flags == "." || flags == "P."},
		{"handshake refused", has("R")},
		{"RST", has("R")},
		{"ACK of the FIN", !has("F") && !has("S") && has(".")},
		{"last ACK", !has("F") && !has("S") && has(".")},
		{" FIN", has("F")},
		{" data", length > 0},
		{"bytes)", length > 0},
	}
	matched := false
	for _, r := range rules {
		if strings.Contains(name, r.match) {
			matched = true
			if !r.ok {
				return fmt.Errorf("step %q but tcpdump prints flags [%s] length %d", name, flags, length)
			}
			if r.match == "ACK of the FIN" || r.match == "last ACK" {
				break // not a FIN itself
			}
		}
	}
	if !matched && (has("S") || has("F") || has("R")) {
		return fmt.Errorf("flags [%s] but step %q names no SYN, FIN or RST", flags, name)
	}
	if length > 0 && !strings.Contains(name, fmt.Sprintf("(%d bytes)", length)) {
		return fmt.Errorf("length %d but step %q", length, name)
	}
	return nil
}

// splitAnnotated returns the steps of out and its lines without them.
func splitAnnotated(t *testing.T, out string) (steps []string, lines string) {
	t.Helper()
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		m := annotation.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line without a step: %s", l)
			b.WriteString(l + "\n")
			continue
		}
		steps = append(steps, m[2])
		b.WriteString(m[1] + "\n")
	}
	return steps, b.String()
}

// TestReadAnnotateLab runs lab scenarios on the in-process userspace TCP
// (real segments with real checksums, no privileges), writes them as a
// pcap and checks "read --annotate" on it against tcpdump and the
// scenario's RFC 9293 expectations (see checkAnnotated).
func TestReadAnnotateLab(t *testing.T) {
	tcpdumpPath := testenv.NeedTool(t, "tcpdump")
	withGMT(t)
	for _, name := range []string{"client-closes-first", "half-close", "abort-rst", "refused", "data-exchange", "last-ack-lost"} {
		t.Run(name, func(t *testing.T) {
			sc, res := labtest.Netstack(t, name)
			file := filepath.Join(t.TempDir(), name+".pcap")
			pcaptest.WriteFile(t, file, res.Link, res.Frames)
			checkAnnotated(t, tcpdumpPath, file, sc, fmt.Sprint(res.Server.Port()))
		})
	}
}

// TestReadAnnotateKernel does the same with the Linux kernel's TCP: the
// lab runs each scenario in a network namespace and captures it.
func TestReadAnnotateKernel(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin, testenv.CapNetRaw)
	tcpdumpPath := testenv.NeedTool(t, "tcpdump")
	withGMT(t)
	for i, name := range []string{"seed", "client-closes-first", "three-segment-close", "simultaneous-close", "half-close",
		"abort-rst", "unread-data-rst", "refused", "last-ack-lost", "time-wait-reuse", "old-duplicate-syn"} {
		t.Run(name, func(t *testing.T) {
			sc, err := lab.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			port := fmt.Sprint(9940 + i)
			file := filepath.Join(t.TempDir(), name+".pcap")
			var out, errb bytes.Buffer
			if code := Main(context.Background(), []string{"lab", name, "-w", file, "--port", port}, nil, &out, &errb); code != 0 {
				t.Fatalf("lab %s: exit %d: %s", name, code, errb.String())
			}
			checkAnnotated(t, tcpdumpPath, file, sc, port)
		})
	}
}

// checkAnnotated compares "read -n -S --annotate" of file with tcpdump
// -n -S: every line must be tcpdump's with a step after it, the step must
// fit tcpdump's flags, and the states the steps move each end through
// must follow the scenario's expected RFC 9293 sequence and end where it
// ends. Connections are numbered in order of their first SYN (or first
// line, without one); server is the server's port.
func checkAnnotated(t *testing.T, tcpdumpPath, file string, sc *lab.Scenario, server string) {
	t.Helper()
	want, err := exec.Command(tcpdumpPath, "-n", "-S", "-r", file).Output()
	if err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	out, errOut, code := execRead(t, "-r", file, "-n", "-S", "--annotate")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	steps, lines := splitAnnotated(t, out)
	if d := cmp.Diff(string(want), lines); d != "" {
		t.Fatalf("lines differ from tcpdump's (-tcpdump +synfin):\n%s", d)
	}
	conns := map[string]int{} // client port: connection number
	n := 0
	states := map[string][]string{}
	for i, l := range strings.Split(strings.TrimSuffix(lines, "\n"), "\n") {
		m := annotFlagsLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not a TCP line: %s", l)
		}
		var length int
		fmt.Sscan(m[4], &length)
		if err := stepFits(steps[i], m[3], length); err != nil {
			t.Errorf("%s: %v", l, err)
		}
		cport := m[1]
		if cport == server {
			cport = m[2]
		}
		if _, ok := conns[cport]; !ok || strings.HasPrefix(steps[i], "handshake 1/3: client SYN;") {
			n++
			conns[cport] = n
		}
		for _, part := range strings.Split(steps[i], "; ")[1:] {
			if strings.HasPrefix(part, "anomalies: ") {
				continue
			}
			for _, ch := range strings.Split(part, ", ") {
				side, st, _ := strings.Cut(ch, " ")
				k := fmt.Sprintf("%d/%s", conns[cport], side)
				states[k] = replay(states[k], st)
			}
		}
	}
	for _, w := range sc.Expect.Kernel {
		k := fmt.Sprintf("%d/%s", w.Conn, w.Role)
		got := states[k]
		if len(w.States) == 0 {
			// The kernel had no socket for it: the packets may show an
			// attempt (an old duplicate SYN's SYN-SENT, a server's
			// SYN-RECEIVED until the reset), never an open connection.
			for _, st := range got {
				if !slices.Contains([]string{"SYN-SENT", "SYN-RECEIVED", "CLOSED", "LISTEN"}, st) {
					t.Errorf("%s: steps move it to %v, but the kernel had no socket for it", k, got)
					break
				}
			}
			continue
		}
		if !labtest.Sampled(got, w.States[1:]) {
			t.Errorf("%s: steps move it to %v, want in order within %v and ending the same", k, got, w.States)
		}
	}
	if t.Failed() {
		t.Logf("synfin read --annotate:\n%s", out)
	}
}

// replay applies one item of a step to the states an end has gone
// through: "X" enters X; "revised: back to X" undoes the changes after
// the last X (all of them if there is none); "revised: X → A (#n) → B
// (#m)" undoes them and enters A and B; "never in X: ..." undoes X
// onwards.
func replay(states []string, item string) []string {
	undo := func(x string, keep bool) []string {
		for i := len(states) - 1; i >= 0; i-- {
			if states[i] == x {
				if keep {
					return states[:i+1]
				}
				return states[:i]
			}
		}
		return nil
	}
	if x, ok := strings.CutPrefix(item, "revised: back to "); ok {
		return undo(x, true)
	}
	if path, ok := strings.CutPrefix(item, "revised: "); ok {
		parts := strings.Split(path, " → ")
		states = undo(parts[0], true)
		for _, p := range parts[1:] {
			st, _, _ := strings.Cut(p, " (#")
			states = append(states, st)
		}
		return states
	}
	if rest, ok := strings.CutPrefix(item, "never in "); ok {
		x, _, _ := strings.Cut(rest, ":")
		return undo(x, false)
	}
	return append(states, item)
}

var annotFlagsLine = regexp.MustCompile(`IP6? \S+\.(\d+) > \S+\.(\d+): Flags \[([^\]]*)\].*length (\d+)`)

// TestReadAllocs checks that read without --annotate allocates nothing
// per segment: a capture ten times longer costs no more allocations.
func TestReadAllocs(t *testing.T) {
	mallocs := func(n int) uint64 {
		pcap := ackPcap(t, n)
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		var out, errb bytes.Buffer
		if code := Main(context.Background(), []string{"read", "-r", "-", "-n", "-S"}, bytes.NewReader(pcap), &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		runtime.ReadMemStats(&ms)
		return ms.Mallocs - before
	}
	mallocs(10) // warm up lazily built tables
	small, large := mallocs(100), mallocs(1000)
	if per := float64(int64(large)-int64(small)) / 900; per > 0.05 {
		t.Errorf("read allocates %.2f times per segment (%d for 100 segments, %d for 1000)", per, small, large)
	}
}

// ackPcap is a raw-IP pcap of n segments: the seed's handshake, then
// acks.
func ackPcap(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	if err := w.WriteFileHeader(262144, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: []byte{127, 0, 0, 1}, DstIP: []byte{127, 0, 0, 1}}
	for i := 0; i < n; i++ {
		tcp := &layers.TCP{SrcPort: 41631, DstPort: 9988, Seq: 2970024579 + uint32(i), Ack: 2032818398, ACK: true, PSH: true, Window: 257}
		tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp, gopacket.Payload("x")); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1481531673, int64(i)*1000), CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}
