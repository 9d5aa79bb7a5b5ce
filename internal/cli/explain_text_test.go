package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"synfin/internal/corpus"
	"synfin/internal/labtest"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/lab"
)

// seedLine is one line of the seed as tcpdump printed it.
type seedLine struct {
	n                int // line number, = the frame number
	ts               time.Duration
	srcPort, dstPort int
	flags            string
	seq, ack         uint32
	hasSeq, hasAck   bool
	length           int
}

var seedRE = regexp.MustCompile(`^(\d\d):(\d\d):(\d\d)\.(\d{6}) IP \S+\.(\w+) > \S+\.(\w+): Flags \[([^\]]*)\](?:, seq (\d+))?(?:, ack (\d+))?.*, length (\d+)$`)

// readSeed parses the seed's tcpdump lines with nothing of synfin's: the
// service name nsesrvr is port 9988, as the blog post's server says.
func readSeed(t *testing.T) []seedLine {
	t.Helper()
	b, err := os.ReadFile(corpus.Seed(t, "capture.txt"))
	if err != nil {
		t.Fatal(err)
	}
	port := func(s string) int {
		if s == "nsesrvr" {
			return 9988
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("port %q", s)
		}
		return n
	}
	var out []seedLine
	for i, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		m := seedRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("seed line %d not understood: %s", i+1, l)
		}
		num := func(s string) uint32 { v, _ := strconv.ParseUint(s, 10, 32); return uint32(v) }
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		s, _ := strconv.Atoi(m[3])
		us, _ := strconv.Atoi(m[4])
		n, _ := strconv.Atoi(m[10])
		out = append(out, seedLine{n: i + 1,
			ts:      time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second + time.Duration(us)*time.Microsecond,
			srcPort: port(m[5]), dstPort: port(m[6]), flags: m[7],
			seq: num(m[8]), hasSeq: m[8] != "", ack: num(m[9]), hasAck: m[9] != "", length: n})
	}
	return out
}

// seedConn is what RFC 9293 says a connection of the seed shows, worked
// out from tcpdump's lines alone.
type seedConn struct {
	port                 int   // the client's
	frames               []int // its lines
	clientISN, serverISN uint32
	synAckAck, ackAck    uint32 // the SYN-ACK's ack, the third segment's ack
	halves               []string
	clientFinal          string
	serverFinal          string
}

// seedFacts groups the lines by client port (the server is 9988) and
// applies RFC 9293: a FIN consumes one sequence number, so its ACK is
// seq+1; the end that sent a FIN whose ACK came back, without a FIN from
// the peer, is in FIN-WAIT-2, the end that received a FIN and sent none
// is in CLOSE-WAIT.
func seedFacts(lines []seedLine) []seedConn {
	var conns []*seedConn
	byPort := map[int]*seedConn{}
	type fin struct {
		line  int
		seq   uint32
		acked int
	}
	fins := map[int]map[string]*fin{}
	for _, l := range lines {
		cport, from := l.srcPort, "client"
		if cport == 9988 {
			cport, from = l.dstPort, "server"
		}
		c := byPort[cport]
		if c == nil {
			c = &seedConn{port: cport}
			byPort[cport] = c
			conns = append(conns, c)
			fins[cport] = map[string]*fin{}
		}
		c.frames = append(c.frames, l.n)
		switch l.flags {
		case "S":
			c.clientISN = l.seq
		case "S.":
			c.serverISN, c.synAckAck = l.seq, l.ack
		}
		if l.flags == "." && c.clientISN != 0 && c.ackAck == 0 {
			c.ackAck = l.ack
		}
		peer := "server"
		if from == "server" {
			peer = "client"
		}
		if f := fins[cport][peer]; f != nil && l.hasAck && l.ack == f.seq+1 && f.acked == 0 {
			f.acked = l.n
		}
		if strings.Contains(l.flags, "F") {
			fins[cport][from] = &fin{line: l.n, seq: l.seq + uint32(l.length)}
		}
	}
	var out []seedConn
	for _, c := range conns {
		f := fins[c.port]
		state := map[string]string{}
		first, second := "client", "server"
		if f["server"] != nil && (f["client"] == nil || f["server"].line < f["client"].line) {
			first, second = "server", "client"
		}
		for _, side := range []string{first, second} {
			other := "server"
			if side == "server" {
				other = "client"
			}
			switch {
			case f[side] != nil && f[side].acked > 0:
				c.halves = append(c.halves, fmt.Sprintf("the %s's half: its FIN (#%d) and the ACK of it (#%d) are captured", side, f[side].line, f[side].acked))
				if f[other] == nil {
					state[side] = "FIN-WAIT-2"
				}
			case f[side] != nil:
				c.halves = append(c.halves, fmt.Sprintf("the %s's half: its FIN (#%d) is captured but no ACK of it", side, f[side].line))
			default:
				c.halves = append(c.halves, fmt.Sprintf("the %s's half: no FIN from the %s is captured", side, side))
				if f[other] != nil {
					state[side] = "CLOSE-WAIT"
				}
			}
		}
		c.clientFinal, c.serverFinal = state["client"], state["server"]
		out = append(out, *c)
	}
	return out
}

// section cuts the text of connection id out of explain's output.
func section(text string, id int, title string) string {
	start := strings.Index(text, fmt.Sprintf(title, id))
	if start < 0 {
		return ""
	}
	rest := text[start+1:]
	if end := strings.Index(rest, fmt.Sprintf(title, id+1)); end >= 0 {
		return text[start : start+1+end]
	}
	return text[start:]
}

var timelineFrame = regexp.MustCompile(`(?m)^  #(\d+)  `)

// TestExplainSeedText checks "synfin explain" on the seed, in English and
// Chinese, against what tcpdump's lines of the seed say by RFC 9293: the
// two client ports are two connections with their own frames; port
// 41631's handshake arithmetic (ack = peer ISN + 1); which halves of each
// teardown are captured; and the state each end is left in.
func TestExplainSeedText(t *testing.T) {
	lines := readSeed(t)
	facts := seedFacts(lines)
	if len(facts) != 2 || facts[0].port != 41631 || facts[1].port != 41474 {
		t.Fatalf("the seed's lines give connections %+v, want ports 41631 and 41474", facts)
	}
	if facts[0].synAckAck != facts[0].clientISN+1 || facts[0].ackAck != facts[0].serverISN+1 {
		t.Fatalf("tcpdump's lines: SYN-ACK ack %d for ISN %d, ACK ack %d for ISN %d", facts[0].synAckAck, facts[0].clientISN, facts[0].ackAck, facts[0].serverISN)
	}
	type words struct {
		title, synAck, ack, final string
		half                      func(string) string
	}
	langs := map[string]words{
		"en": {"Connection %d: ", "ack %d = client ISN + 1 ✓", "ack %d = server ISN + 1 ✓", "final states: client %s, server %s",
			func(s string) string { return s }},
		"zh": {"连接 %d：", "确认号 %d = 客户端 ISN + 1 ✓", "确认号 %d = 服务器 ISN + 1 ✓", "最终状态：客户端 %s，服务器 %s", halfZh},
	}
	for lang, w := range langs {
		t.Run(lang, func(t *testing.T) {
			// Wide enough that no sentence is wrapped.
			out, errOut, code := runCLI(t, "explain", "-r", corpus.Seed(t, "capture.txt"), "--lang", lang, "--width", "400")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for i, f := range facts {
				sec := section(out, i+1, w.title)
				if sec == "" {
					t.Fatalf("no connection %d in:\n%s", i+1, out)
				}
				head := fmt.Sprintf(w.title+"127.0.0.1:%d → 127.0.0.1:9988", i+1, f.port)
				if !strings.HasPrefix(sec, head) {
					t.Errorf("connection %d starts %q, want %q", i+1, strings.SplitN(sec, "\n", 2)[0], head)
				}
				other := facts[1-i].port
				if strings.Contains(sec, strconv.Itoa(other)) {
					t.Errorf("connection %d (port %d) mentions port %d", i+1, f.port, other)
				}
				var frames []int
				for _, m := range timelineFrame.FindAllStringSubmatch(sec, -1) {
					n, _ := strconv.Atoi(m[1])
					frames = append(frames, n)
				}
				if d := cmp.Diff(f.frames, frames); d != "" {
					t.Errorf("connection %d timeline frames (-tcpdump +explain):\n%s", i+1, d)
				}
				var want []string
				if f.clientISN != 0 {
					want = append(want, fmt.Sprintf(w.synAck, f.synAckAck), fmt.Sprintf(w.ack, f.ackAck))
				}
				for _, h := range f.halves {
					want = append(want, w.half(h))
				}
				want = append(want, fmt.Sprintf(w.final, f.clientFinal, f.serverFinal))
				for _, s := range want {
					if !strings.Contains(sec, s) {
						t.Errorf("connection %d lacks %q", i+1, s)
					}
				}
				for _, s := range []string{"┆", "▶", "◀"} { // the ladder
					if !strings.Contains(sec, s) {
						t.Errorf("connection %d has no ladder (%q)", i+1, s)
					}
				}
			}
			if strings.Contains(out, "[note.") || strings.Contains(out, "[x.") || strings.Contains(out, "[v.") {
				t.Errorf("a message is missing from the catalogue:\n%s", out)
			}
		})
	}
}

// halfZh says a teardown half in Chinese, as the catalogue does.
func halfZh(en string) string {
	side := map[string]string{"client": "客户端", "server": "服务器"}
	var s, x string
	var fin, ack int
	switch {
	case strings.Contains(en, "no FIN"):
		fmt.Sscanf(en, "the %s half:", &s)
		s = strings.TrimSuffix(s, "'s")
		return side[s] + "这一半：没有抓到" + side[s] + "的 FIN"
	case strings.Contains(en, "no ACK"):
		fmt.Sscanf(en, "the %s half: its FIN (#%d)", &s, &fin)
		s = strings.TrimSuffix(s, "'s")
		return fmt.Sprintf("%s这一半：抓到了它的 FIN（#%d），但没有抓到对它的 ACK", side[s], fin)
	default:
		fmt.Sscanf(en, "the %s half: its FIN (#%d) and the ACK of it (#%d)%s", &s, &fin, &ack, &x)
		s = strings.TrimSuffix(s, "'s")
		return fmt.Sprintf("%s这一半：抓到了它的 FIN（#%d）和对它的 ACK（#%d）", side[s], fin, ack)
	}
}

// TestExplainGolden keeps the layout of explain's text for the seed at
// the default width; the facts are checked by TestExplainSeedText.
// Rewrite with -update.
func TestExplainGolden(t *testing.T) {
	for _, lang := range []string{"en", "zh"} {
		t.Run(lang, func(t *testing.T) {
			out, errOut, code := runCLI(t, "explain", "-r", corpus.Seed(t, "capture.txt"), "--lang", lang)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden := filepath.Join("testdata", "capture.txt.explain."+lang+".out")
			if *updateRates {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(want), out); d != "" {
				t.Errorf("%s differs (-want +got):\n%s", golden, d)
			}
		})
	}
}

// TestExplainCompleteness writes the seed's segments as a pcap with
// gopacket and compares explain --json's completeness with tshark's
// tcp.completeness for the same segments.
func TestExplainCompleteness(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	lines := readSeed(t)
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	lo := net.IPv4(127, 0, 0, 1).To4()
	for _, l := range lines {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: lo, DstIP: lo}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(l.srcPort), DstPort: layers.TCPPort(l.dstPort), Seq: l.seq, Ack: l.ack, Window: 512,
			SYN: strings.Contains(l.flags, "S"), FIN: strings.Contains(l.flags, "F"), RST: strings.Contains(l.flags, "R"),
			PSH: strings.Contains(l.flags, "P"), ACK: strings.Contains(l.flags, ".")}
		if !l.hasSeq {
			// tcpdump -S leaves out the seq of a segment without payload
			// after the handshake: the peer's last ack is the one it used.
			for _, p := range lines[:l.n-1] {
				if p.srcPort == l.dstPort && p.dstPort == l.srcPort && p.hasAck {
					tcp.Seq = p.ack
				}
			}
		}
		tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp); err != nil {
			t.Fatal(err)
		}
		ts := time.Date(2016, 12, 12, 0, 0, 0, 0, time.UTC).Add(l.ts)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "seed.pcap")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-2", "-n", "-r", file, "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.completeness").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	want := map[int]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var a, p, v int
		fmt.Sscanf(l, "%d\t%d\t%d", &a, &p, &v)
		if a == 9988 {
			a = p
		}
		want[a] = v
	}
	for _, in := range []string{corpus.Seed(t, "capture.txt"), file} {
		js, errOut, code := runCLI(t, "explain", "-r", in, "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		got := map[int]int{}
		for _, l := range strings.Split(strings.TrimSpace(js), "\n") {
			var v struct {
				Completeness int `json:"completeness"`
				Client       struct {
					Port int `json:"port"`
				} `json:"client"`
			}
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatal(err)
			}
			got[v.Client.Port] = v.Completeness
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: completeness by client port (-tshark +synfin):\n%s", filepath.Base(in), d)
		}
	}
}

// TestExplainHTML writes the report beside the text.
func TestExplainHTML(t *testing.T) {
	report := filepath.Join(t.TempDir(), "report.html")
	out, errOut, code := runCLI(t, "explain", "-r", corpus.Seed(t, "capture.txt"), "--html", report, "--lang", "zh")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "连接 1：") {
		t.Errorf("no text on standard output:\n%s", out)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", "127.0.0.1:41631", "127.0.0.1:41474", `"lang":"zh"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
	if _, errOut, code := runCLI(t, "explain", "-r", corpus.Seed(t, "capture.txt"), "--html", t.TempDir()); code != 1 || !strings.Contains(errOut, "not a regular file") {
		t.Errorf("--html DIR: exit %d, %q", code, errOut)
	}
}

func TestExplainFlags(t *testing.T) {
	seed := corpus.Seed(t, "capture.txt")
	tests := []struct {
		name        string
		args        []string
		code        int
		has, hasNot string
	}{
		{"ascii ladder", []string{"-r", seed, "--ascii"}, 0, ";<------------------ F. 1 ack 1 --! LAST-ACK", "▶"},
		{"box ladder", []string{"-r", seed}, 0, "┃◀─", "!<--"},
		{"narrow", []string{"-r", seed, "--width", "30"}, 2, "--width must be at least 40", ""},
		{"filter", []string{"-r", seed, "port", "41474"}, 0, "Connection 1: 127.0.0.1:41474", "41631"},
		{"bad filter", []string{"-r", seed, "port", "x"}, 2, "", "Connection"},
		{"help", []string{"--help"}, 0, "--html FILE", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, append([]string{"explain"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errOut)
			}
			if !strings.Contains(out+errOut, tt.has) {
				t.Errorf("output lacks %q:\n%s%s", tt.has, out, errOut)
			}
			if tt.hasNot != "" && strings.Contains(out, tt.hasNot) {
				t.Errorf("output has %q:\n%s", tt.hasNot, out)
			}
		})
	}
}

// TestExplainLostLastACKNote: where tcpdump shows an end send its FIN
// again after the other end acknowledged it, that acknowledgment never
// arrived, so the note of the ACK must not say the end left LAST-ACK; the
// ACK that answers the repeated FIN may. Before, the note of the first
// ACK said "the server leaves LAST-ACK and is CLOSED" while the ladder
// kept it in LAST-ACK. The captures: the lab's last-ack-lost run on
// netstack (recorded) and, with the privileges, on the kernel.
func TestExplainLostLastACKNote(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	files := []string{filepath.Join("..", "..", "lab", "verdict", "testdata", "u-last-ack-lost.pcap")}
	dir := t.TempDir()
	t.Run("kernel", func(t *testing.T) {
		testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
		for _, sc := range lab.Scenarios() {
			if sc.Name == "last-ack-lost" {
				res := labtest.Kernel(t, &sc, 9861)
				name := filepath.Join(dir, "k-last-ack-lost.pcap")
				pcaptest.WriteFile(t, name, res.Link, res.Frames)
				files = append(files, name)
			}
		}
	})
	for _, file := range files {
		lines := labtest.Tcpdump(t, tcpdump, file)
		lost := lostLastACKs(lines)
		if len(lost) == 0 {
			t.Fatalf("%s: tcpdump shows no FIN sent again after its ACK:\n%s", file, strings.Join(lines, "\n"))
		}
		out, e, code := runCLI(t, "explain", "-r", file)
		if code != 0 {
			t.Fatalf("explain %s: exit %d: %s", file, code, e)
		}
		notes := segmentNotes(out)
		for _, n := range lost {
			if strings.Contains(notes[n], "leaves LAST-ACK") || !strings.Contains(notes[n], "never reached") {
				t.Errorf("%s: #%d, an ACK the peer never got (tcpdump: its FIN came again), reads:\n%s", file, n, notes[n])
			}
		}
	}
}

var finRE = regexp.MustCompile(`IP6? (\S+) > (\S+): Flags \[F[^\]]*\], seq (\d+)`)
var ackRE = regexp.MustCompile(`IP6? (\S+) > (\S+): Flags \[\.\], ack (\d+)`)

// lostLastACKs returns the frame numbers (tcpdump's line numbers, from 1)
// of ACKs of a FIN (ack = its seq + 1) after which the FIN's sender sent
// it again, as tcpdump -n -S prints them.
func lostLastACKs(lines []string) []int {
	type fin struct {
		from, to string
		seq      uint64
	}
	var fins []fin
	var out []int
	acked := map[fin]int{} // FIN → frame of its first ACK
	for i, l := range lines {
		if m := finRE.FindStringSubmatch(l); m != nil {
			seq, _ := strconv.ParseUint(m[3], 10, 32)
			f := fin{m[1], m[2], seq}
			if a, ok := acked[f]; ok && a > 0 {
				out = append(out, a)
				acked[f] = -1
			}
			fins = append(fins, f)
			continue
		}
		if m := ackRE.FindStringSubmatch(l); m != nil {
			ack, _ := strconv.ParseUint(m[3], 10, 32)
			for _, f := range fins {
				if f.from == m[2] && f.to == m[1] && uint32(f.seq+1) == uint32(ack) {
					if _, ok := acked[f]; !ok {
						acked[f] = i + 1
					}
				}
			}
		}
	}
	return out
}

var segHeadRE = regexp.MustCompile(`^  #(\d+) `)

// segmentNotes returns the lines explain prints under each segment of its
// timeline, by frame number, joined into one line.
func segmentNotes(out string) map[int]string {
	notes := map[int]string{}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if m := segHeadRE.FindStringSubmatch(l); m != nil {
			n, _ = strconv.Atoi(m[1])
			continue
		}
		if n > 0 && strings.HasPrefix(l, "      ") {
			notes[n] += " " + strings.TrimSpace(l)
		} else {
			n = 0
		}
	}
	return notes
}
