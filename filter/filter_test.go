package filter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"
	"synfin/internal/corpus"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/wire"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string // the whole error message
	}{
		{"tcp and", `filter: expression ends too early (at column 8)`},
		{"host", `filter: expected an address, a network or a port, found end of expression (at column 5)`},
		{"1.2.3.4", `filter: unknown word "1.2.3.4" (at column 1)`},
		{"tcp or 80", `filter: expected a comparison (=, !=, <, <=, >, >=), found end of expression (at column 10)`},
		{"(host 1.2.3.4) or 5.6.7.8", `filter: unknown word "5.6.7.8" (at column 19)`},
		{"tcp host 1.2.3.4", `filter: 'tcp' modifier applied to host (at column 10)`},
		{"host example.com", `filter: "example.com" is not a numeric IPv4 or IPv6 address (host names are not resolved) (at column 6)`},
		{"net 10.1.2.3/8", `filter: non-network bits set in "10.1.2.3/8" (at column 5)`},
		{"port 70000", `filter: illegal port number 70000 > 65535 (at column 6)`},
		{"port nosuchservice", `filter: unknown port "nosuchservice" (use a number) (at column 6)`},
		{"ip[2:3] = 1", `filter: data size must be 1, 2, or 4 (at column 6)`},
		{"ip[0] / 0 = 1", `filter: division by zero (at column 7)`},
		{"mpls and tcp", `filter: "mpls" is outside the filter subset synfin supports (at column 1)`},
		{"ether broadcast", `filter: "broadcast" is outside the filter subset synfin supports (at column 7)`},
		{"tcp and (udp", `filter: expected ")", found end of expression (at column 13)`},
		{"tcp)", `filter: unbalanced ')' (at column 4)`},
		{"tcp # x", `filter: unexpected character "#" (at column 5)`},
		{"vlan 5000", `filter: VLAN id 5000 is out of range (0-4095) (at column 6)`},
		{"tcp and ip6 host 1.2.3.4", `filter: "1.2.3.4" is an IPv4 address and cannot go with 'ip6' (at column 18)`},
	}
	for _, tt := range tests {
		if diff := gocmp.Diff(tt.want, compileError(tt.expr, wire.LinkEthernet)); diff != "" {
			t.Errorf("Compile(%q) error (-want +got):\n%s", tt.expr, diff)
		}
	}
}

func TestLinkSpecificErrors(t *testing.T) {
	tests := []struct {
		expr string
		link wire.LinkType
		want string
	}{
		{"vlan", wire.LinkLinuxSLL, "filter: no VLAN support for Linux cooked v1 (at column 1)"},
		{"ether host 1:2:3:4:5:6", wire.LinkRaw, "filter: ether host filtering is only supported on Ethernet, not Raw IP (at column 12)"},
		{"ip6", wire.LinkIPv4, "filter: expression rejects all packets"},
		{"arp", wire.LinkNull, "filter: expression rejects all packets"},
		{"tcp", wire.LinkType(147), "filter: link type 147 is not supported"},
		{"tcp", wire.LinkIPoIB, "filter: link type 242 is not supported"},
	}
	for _, tt := range tests {
		if diff := gocmp.Diff(tt.want, compileError(tt.expr, tt.link)); diff != "" {
			t.Errorf("Compile(%q, %d) (-want +got):\n%s", tt.expr, tt.link, diff)
		}
	}
}

// compileError is the text of Compile's error, "<nil>" when it compiles.
func compileError(expr string, link wire.LinkType) string {
	if _, err := Compile(expr, link); err != nil {
		return err.Error()
	}
	return "<nil>"
}

func TestEmptyMatchesAll(t *testing.T) {
	f, err := Compile("  ", wire.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	want := []bpf.RawInstruction{{Op: 0x06, K: DefaultSnaplen}}
	if diff := gocmp.Diff(want, f.Program()); diff != "" {
		t.Errorf("program (-want +got):\n%s", diff)
	}
	if !f.Match(nil) || !f.Match([]byte{1, 2, 3}) {
		t.Error("empty expression must match everything")
	}
}

func TestSnaplenReturned(t *testing.T) {
	f, err := CompileSnaplen("tcp", wire.LinkEthernet, 96)
	if err != nil {
		t.Fatal(err)
	}
	syn := synthFrames()[0].data
	if got := run(f.prog, syn, uint32(len(syn))); got != 96 {
		t.Errorf("matching program returned %d, want the snaplen 96", got)
	}
	if got := run(f.prog, synthFrames()[2].data, 100); got != 0 {
		t.Errorf("UDP: program returned %d, want 0", got)
	}
}

// TestMatchesXNetVM checks the interpreter against golang.org/x/net/bpf's
// VM, which no one here wrote, on every synthetic frame.
func TestMatchesXNetVM(t *testing.T) {
	for _, expr := range oracleExprs {
		f, err := Compile(expr, wire.LinkEthernet)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		vm, err := bpf.NewVM(f.ins)
		if err != nil {
			t.Fatalf("%q: x/net/bpf refuses the program: %v", expr, err)
		}
		for i, fr := range synthFrames() {
			n, err := vm.Run(fr.data)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(fr.data); got != (n != 0) {
				t.Errorf("%q frame %d: Match %v, x/net/bpf %d", expr, i+1, got, n)
			}
		}
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	f, err := Compile("tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420 or (tcp and host 10.0.0.1 and port 80)", wire.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	frames := synthFrames()
	if n := testing.AllocsPerRun(100, func() {
		for _, fr := range frames {
			f.MatchLen(fr.data, fr.wireLen)
		}
	}); n != 0 {
		t.Errorf("Match allocates %.1f times per run", n)
	}
}

func TestLongJumps(t *testing.T) {
	// Enough alternatives to push jump targets past 255 instructions.
	var parts []string
	for i := 0; i < 40; i++ {
		parts = append(parts, "port "+strings.Repeat("1", 1)+string(rune('0'+i%10))+string(rune('0'+i/10)))
	}
	expr := strings.Join(parts, " or ")
	f, err := Compile(expr, wire.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Program()) < 300 {
		t.Fatalf("program has only %d instructions; the test needs long jumps", len(f.Program()))
	}
	port := func(p uint16) []byte {
		return ethFrame(0x0800, ip4("10.0.0.1", "10.0.0.2", 6, 0, nil, tcpSeg(1, p, fSYN, "")))
	}
	if !f.Match(port(190)) || !f.Match(port(130)) || !f.Match(port(193)) || f.Match(port(194)) || f.Match(port(1)) {
		t.Error("long program gives wrong answers")
	}
}

func BenchmarkMatch(b *testing.B) {
	f, err := Compile("tcp and host 10.0.0.1 and port 80", wire.LinkEthernet)
	if err != nil {
		b.Fatal(err)
	}
	frame := synthFrames()[0].data
	b.ReportAllocs()
	for b.Loop() {
		f.Match(frame)
	}
}

func FuzzCompile(f *testing.F) {
	for _, e := range oracleExprs {
		f.Add(e, uint16(wire.LinkEthernet))
	}
	for _, e := range []string{"vlan and vlan and vlan 1", "((((tcp))))", "not not not ip", "-1 = 1",
		"tcp[-1] = 0", "len * len / len % 3 = 0", "ip[ip[ip[0]]] = 1", "net ::/0", "net 0/0", "port 0-65535"} {
		f.Add(e, uint16(wire.LinkSLL2))
	}
	links := []wire.LinkType{wire.LinkNull, wire.LinkEthernet, wire.LinkRawDLT12, wire.LinkRawDLT14, wire.LinkRaw,
		wire.LinkLoop, wire.LinkLinuxSLL, wire.LinkIPv4, wire.LinkIPv6, wire.LinkSLL2}
	frames := synthFrames()
	f.Fuzz(func(t *testing.T, expr string, lt uint16) {
		link := links[int(lt)%len(links)]
		flt, err := Compile(expr, link)
		if err != nil {
			return
		}
		if err := Validate(flt.Program()); err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		if _, err := bpf.NewVM(flt.ins); err != nil {
			t.Fatalf("%q: x/net/bpf refuses the program: %v", expr, err)
		}
		for _, fr := range frames {
			flt.MatchLen(fr.data, fr.wireLen)
		}
	})
}

// oracleExprs are the expressions checked against libpcap. They cover the
// subset, with the traps other pure-Go filters fall into: "tcp and host X"
// must not match UDP, ports only in first fragments, IPv6 ports only right
// after the fixed header, tcp[] only over IPv4.
var oracleExprs = []string{
	"",
	"tcp", "udp", "icmp", "icmp6", "ip", "ip6", "arp", "rarp",
	"ether proto 0x0806", "ether proto \\ip6", "ip proto 6", "ip6 proto 6", "proto 17", "ip proto \\udp",
	"host 10.0.0.1", "tcp and host 10.0.0.1", "udp and host 10.0.0.1", "tcp and host 192.168.1.32",
	"src host 10.0.0.1", "dst host 10.0.0.2", "host 10.0.0.1 or 192.168.1.5",
	"host 10.0.0.1 and not 10.0.0.2", "src or dst host 127.0.0.1", "src and dst host 127.0.0.1",
	"ip host 10.0.0.7", "arp host 10.0.0.1", "host 131.103.20.168 and tcp port 443",
	"net 10.0.0.0/8", "net 192.168.0.0 mask 255.255.0.0", "net 10", "src net 172.16.0.0/12",
	"not net 10.0.0.0/8", "dst net 192.168.1.0/24 and tcp",
	"host 2001:db8::1", "ip6 host 2001:db8::2", "host ::1", "net 2001:db8::/32", "net fe80::/10",
	"port 80", "tcp port 80", "udp port 53", "port 80 or 443", "tcp src port 80 or 443",
	"dst port 22", "src and dst port 80", "portrange 1-1023", "tcp portrange 8000-9000",
	"not port 22", "port http", "port domain", "tcp dst portrange 50000-60000", "port 9988",
	"tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0", "tcp[13] & 2 != 0",
	"tcp[tcpflags] == tcp-syn|tcp-ack", "tcp[tcpflags] & tcp-rst != 0", "tcp[13] & 0x12 = 0x12",
	"tcp[tcpflags] & (tcp-ece|tcp-cwr) != 0", "tcp[tcpflags] & (tcp-push|tcp-urg) = tcp-push",
	"tcp[tcpflags] & tcp-ack = 0", "not tcp[13] & 2 != 0",
	"ip[2:2] > 100", "ip[8] < 64", "ip[0] & 0xf > 5", "ip[6:2] & 0x1fff != 0", "ip6[6] = 44",
	"icmp[icmptype] == icmp-echo", "icmp[icmptype] = icmp-echoreply", "icmp[icmptype] != icmp-echo and icmp",
	"icmp6[icmp6type] = icmp6-echo", "icmp6 and ip6[40] = 129",
	"len > 100", "greater 200", "less 60", "len - 14 > ip[2:2]", "len >= 1500",
	"vlan", "vlan 100", "vlan and tcp", "vlan 100 and host 10.0.0.1", "tcp or vlan", "vlan and vlan",
	"tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420", "udp[8:2] = 0x1234",
	"tcp[0:2] = 80 or udp[2:2] = 53", "(tcp[12] >> 4) * 4 > 20", "tcp[2:2] % 2 = 0",
	"ether host 00:11:22:33:44:55", "ether src 66:77:88:99:aa:bb", "ether[0] & 1 != 0",
	"(tcp or udp) and not port 53", "tcp and (port 80 or 8080)", "!tcp && !udp",
	"tcp && port 22 || icmp", "not (host 10.0.0.1 or host 10.0.0.2)", "host 10.0.0.1 or host 10.0.0.2 and tcp",
	"tcp and not (src net 10.0.0.0/8 and dst net 10.0.0.0/8)", "ip and not tcp and not udp",
}

// rejectsAll is tcpdump's message for an expression its optimizer proved
// can never match; synfin may say so too, or compile a program that
// matches nothing.
const rejectsAll = "expression rejects all packets"

type oracleFile struct {
	name   string
	link   wire.LinkType
	path   string
	frames []synthFrame
}

func TestOracle(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	files := oracleFiles(t)
	if len(oracleExprs) < 60 {
		t.Fatalf("only %d expressions", len(oracleExprs))
	}
	type result struct {
		verdicts, agree int
		mismatches      []string
	}
	var (
		mu    sync.Mutex
		total result
		sem   = make(chan struct{}, 4)
		wg    sync.WaitGroup
	)
	for _, expr := range oracleExprs {
		for _, of := range files {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				var r result
				want, tdErr := tcpdumpMatches(tcpdump, of.path, expr)
				f, err := Compile(expr, of.link)
				switch {
				case tdErr != nil && strings.Contains(tdErr.Error(), rejectsAll):
					want = map[int]bool{}
					if err != nil && !errors.Is(err, ErrRejectsAll) {
						r.mismatches = append(r.mismatches, fmt.Sprintf("%s %q: tcpdump: %v; synfin: %v", of.name, expr, tdErr, err))
					}
					if err != nil {
						r.verdicts += len(of.frames)
						r.agree += len(of.frames)
						f = nil
					}
				case tdErr != nil:
					if err == nil {
						r.mismatches = append(r.mismatches, fmt.Sprintf("%s %q: tcpdump fails (%v), synfin compiles", of.name, expr, tdErr))
					}
					f = nil
				case err != nil:
					r.mismatches = append(r.mismatches, fmt.Sprintf("%s %q: synfin: %v, tcpdump compiles", of.name, expr, err))
					f = nil
				}
				if f != nil {
					for i, fr := range of.frames {
						got := f.MatchLen(fr.data, fr.wireLen)
						r.verdicts++
						if got == want[i+1] {
							r.agree++
							continue
						}
						r.mismatches = append(r.mismatches, fmt.Sprintf("%s %q packet %d: synfin %v, libpcap %v\n% x\n%s",
							of.name, expr, i+1, got, want[i+1], fr.data, listing(f)))
					}
				}
				mu.Lock()
				total.verdicts += r.verdicts
				total.agree += r.agree
				total.mismatches = append(total.mismatches, r.mismatches...)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	packets := 0
	for _, of := range files {
		packets += len(of.frames)
	}
	sort.Strings(total.mismatches)
	for i, m := range total.mismatches {
		if i == 20 {
			t.Errorf("... and %d more", len(total.mismatches)-20)
			break
		}
		t.Error(m)
	}
	t.Logf("oracle: %d expressions × %d packets in %d captures (%d link types): %d of %d verdicts agree with libpcap (%.2f%%)",
		len(oracleExprs), packets, len(files), len(files), total.agree, total.verdicts,
		100*float64(total.agree)/float64(max(total.verdicts, 1)))
}

// tcpdumpMatches returns the 1-based numbers of the packets libpcap
// matches. Every frame's time stamp is its number, so the numbers survive
// "-w -".
func tcpdumpMatches(tcpdump, path, expr string) (map[int]bool, error) {
	cmd := exec.Command(tcpdump, "-r", path, "-w", "-", expr)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	frames, err := pcaptest.Read(&out)
	if err != nil {
		return nil, err
	}
	m := map[int]bool{}
	for _, fr := range frames {
		m[int(fr.Time/int64(time.Second))] = true
	}
	return m, nil
}

// oracleFiles gathers every frame of the corpus captures and the
// synthetic frames, grouped by link type, and derives captures of the
// other link types from the Ethernet frames that carry IP.
func oracleFiles(t *testing.T) []*oracleFile {
	groups := map[wire.LinkType][]synthFrame{}
	for _, sub := range []string{"tcpdump", "zeek", "other"} {
		root := corpus.Dir(t, sub)
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng")) {
				return err
			}
			fh, err := os.Open(p)
			if err != nil {
				return err
			}
			defer fh.Close()
			frames, _ := pcaptest.Read(fh) // what a damaged or foreign file holds is not ours to judge here
			for _, fr := range frames {
				groups[fr.Link] = append(groups[fr.Link], synthFrame{fr.Data, fr.WireLen})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	groups[wire.LinkEthernet] = append(groups[wire.LinkEthernet], synthFrames()...)

	for _, fr := range groups[wire.LinkEthernet] {
		et, off, ok := etherPayload(fr.data)
		if !ok {
			continue
		}
		pl := fr.data[off:]
		wl := fr.wireLen - off
		add := func(lt wire.LinkType, hdr []byte) {
			groups[lt] = append(groups[lt], synthFrame{append(hdr, pl...), wl + len(hdr)})
		}
		sll2 := make([]byte, 20)
		binary.BigEndian.PutUint16(sll2[0:], et)
		binary.BigEndian.PutUint32(sll2[4:], 2)
		binary.BigEndian.PutUint16(sll2[8:], 1)
		sll2[10], sll2[11] = 4, 6
		copy(sll2[12:], "\x00\x11\x22\x33\x44\x55")
		add(wire.LinkSLL2, sll2)
		sll := make([]byte, 16)
		binary.BigEndian.PutUint16(sll[2:], 1)
		binary.BigEndian.PutUint16(sll[4:], 6)
		binary.BigEndian.PutUint16(sll[14:], et)
		add(wire.LinkLinuxSLL, sll)
		var fams []uint32
		switch et {
		case 0x0800:
			fams = []uint32{2}
			add(wire.LinkIPv4, nil)
		case 0x86dd:
			fams = []uint32{30, 24, 28, 10} // 10 (Linux AF_INET6) is not one libpcap accepts
			add(wire.LinkIPv6, nil)
		default:
			continue
		}
		add(wire.LinkRaw, nil)
		add(wire.LinkRawDLT12, nil)
		// No LINKTYPE 14 file: libpcap on Linux refuses it ("unknown data link type 14").
		fam := fams[len(groups[wire.LinkNull])%len(fams)]
		add(wire.LinkNull, binary.LittleEndian.AppendUint32(nil, fam))
		add(wire.LinkLoop, binary.BigEndian.AppendUint32(nil, fam))
	}

	dir := t.TempDir()
	var files []*oracleFile
	for lt, frames := range groups {
		if !lt.Supported() {
			continue
		}
		of := &oracleFile{name: linkName(lt) + fmt.Sprintf(" (%d)", uint32(lt)), link: lt,
			path: filepath.Join(dir, fmt.Sprintf("link%d.pcap", uint32(lt))), frames: frames}
		writePcap(t, of.path, lt, frames)
		files = append(files, of)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].link < files[j].link })
	return files
}

// etherPayload skips the Ethernet header and any VLAN tags.
func etherPayload(b []byte) (uint16, int, bool) {
	if len(b) < 14 {
		return 0, 0, false
	}
	off, et := 14, binary.BigEndian.Uint16(b[12:])
	for et == 0x8100 || et == 0x88a8 || et == 0x9100 {
		if len(b) < off+4 {
			return 0, 0, false
		}
		et = binary.BigEndian.Uint16(b[off+2:])
		off += 4
	}
	return et, off, true
}

func writePcap(t *testing.T, path string, lt wire.LinkType, frames []synthFrame) {
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	w := pcapgo.NewWriter(fh)
	if err := w.WriteFileHeader(262144, layers.LinkType(lt)); err != nil {
		t.Fatal(err)
	}
	for i, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(i+1), 0), CaptureLength: len(fr.data), Length: fr.wireLen}
		if err := w.WritePacket(ci, fr.data); err != nil {
			t.Fatal(err)
		}
	}
}

// listing is f's program, one instruction a line, for a mismatch report.
func listing(f *Filter) string {
	var b strings.Builder
	ins, _ := bpf.Disassemble(f.Program())
	for i, in := range ins {
		fmt.Fprintf(&b, "(%03d) %v\n", i, in)
	}
	return b.String()
}

// Hand-built Ethernet frames for what the corpus lacks: IPv4 fragments
// and options, ICMP, IPv6 extension headers, ARP, VLAN and QinQ tags,
// truncated captures. libpcap decides what they match, not this file.

type synthFrame struct {
	data    []byte
	wireLen int
}

func ethFrame(etype uint16, payload []byte) []byte {
	b := []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0, 0}
	binary.BigEndian.PutUint16(b[12:], etype)
	return append(b, payload...)
}

func vlanFrame(tags []uint32, etype uint16, payload []byte) []byte {
	b := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb}
	for _, t := range tags {
		b = binary.BigEndian.AppendUint16(b, uint16(t>>16))
		b = binary.BigEndian.AppendUint16(b, uint16(t))
	}
	b = binary.BigEndian.AppendUint16(b, etype)
	return append(b, payload...)
}

func ip4(src, dst string, proto byte, frag uint16, opts []byte, payload []byte) []byte {
	ihl := 5 + len(opts)/4
	b := make([]byte, 20, 20+len(opts)+len(payload))
	b[0] = 0x40 | byte(ihl)
	binary.BigEndian.PutUint16(b[2:], uint16(ihl*4+len(payload)))
	binary.BigEndian.PutUint16(b[4:], 0x1234)
	binary.BigEndian.PutUint16(b[6:], frag)
	b[8] = 64
	b[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	b = append(b, opts...)
	return append(b, payload...)
}

func ip6(src, dst string, nh byte, payload []byte) []byte {
	b := make([]byte, 40, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(payload)))
	b[6] = nh
	b[7] = 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	return append(b, payload...)
}

func tcpSeg(sport, dport uint16, flags byte, payload string) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint32(b[4:], 1000)
	binary.BigEndian.PutUint32(b[8:], 2000)
	b[12] = 5 << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:], 65535)
	return append(b, payload...)
}

func udpDgram(sport, dport uint16, payload string) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

func icmpMsg(typ, code byte) []byte { return []byte{typ, code, 0, 0, 0, 1, 0, 1, 'p', 'i', 'n', 'g'} }

func arpPkt(op uint16, spa, tpa string) []byte {
	b := []byte{0, 1, 8, 0, 6, 4, 0, 0}
	binary.BigEndian.PutUint16(b[6:], op)
	s, d := netip.MustParseAddr(spa).As4(), netip.MustParseAddr(tpa).As4()
	b = append(b, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb)
	b = append(b, s[:]...)
	b = append(b, 0, 0, 0, 0, 0, 0)
	return append(b, d[:]...)
}

const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
	fURG = 0x20
	fECE = 0x40
	fCWR = 0x80
)

func synthFrames() []synthFrame {
	full := func(b []byte) synthFrame { return synthFrame{b, len(b)} }
	cut := func(b []byte, n int) synthFrame { return synthFrame{b[:n], len(b)} }
	e4 := func(b []byte) []byte { return ethFrame(0x0800, b) }
	e6 := func(b []byte) []byte { return ethFrame(0x86dd, b) }
	fragHdr := func(nh byte, off uint16, more bool) []byte {
		v := off << 3
		if more {
			v |= 1
		}
		return []byte{nh, 0, byte(v >> 8), byte(v), 0, 0, 0, 7}
	}
	hbh := []byte{6, 0, 1, 4, 0, 0, 0, 0} // hop-by-hop, next header TCP, PadN
	get := tcpSeg(40000, 80, fPSH|fACK, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	big := e4(ip4("10.0.0.1", "10.0.0.2", 6, 0x4000, nil, tcpSeg(1234, 80, fACK, string(make([]byte, 1400)))))
	return []synthFrame{
		full(e4(ip4("10.0.0.1", "10.0.0.2", 6, 0x4000, nil, tcpSeg(1234, 80, fSYN, "")))),
		full(e4(ip4("10.0.0.2", "10.0.0.1", 6, 0x4000, nil, tcpSeg(80, 1234, fSYN|fACK, "")))),
		full(e4(ip4("10.0.0.1", "10.0.0.2", 17, 0, nil, udpDgram(5353, 80, "not tcp")))),
		full(e4(ip4("10.0.0.1", "10.0.0.53", 17, 0, nil, udpDgram(40000, 53, "\x12\x34query")))),
		full(e4(ip4("10.0.0.1", "10.0.0.3", 1, 0, nil, icmpMsg(8, 0)))),
		full(e4(ip4("10.0.0.3", "10.0.0.1", 1, 0, nil, icmpMsg(0, 0)))),
		full(e4(ip4("10.0.0.9", "10.0.0.1", 1, 0, nil, icmpMsg(3, 3)))),
		// First fragment, then a later one whose payload starts with bytes
		// that would read as ports 80 and 80.
		full(e4(ip4("10.0.0.1", "10.0.0.2", 6, 0x2000, nil, tcpSeg(1234, 80, fPSH|fACK, "12345678")))),
		full(e4(ip4("10.0.0.1", "10.0.0.2", 6, 0x0003, nil, []byte{0, 80, 0, 80, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x50, 0x12, 0, 0}))),
		full(e4(ip4("10.0.0.1", "10.0.0.2", 17, 0x0010, nil, []byte{0, 53, 0, 53, 0, 8, 0, 0}))),
		// IPv4 options move the TCP header.
		full(e4(ip4("192.168.1.5", "172.16.0.1", 6, 0, []byte{1, 1, 1, 0}, tcpSeg(443, 50000, fFIN|fACK, "")))),
		full(e4(ip4("192.168.1.5", "172.16.0.1", 6, 0, []byte{1, 1, 1, 0, 1, 1, 1, 0}, tcpSeg(50000, 443, fRST, "")))),
		full(e4(ip4("172.16.5.4", "192.168.1.5", 6, 0, nil, tcpSeg(22, 60000, fECE|fCWR|fSYN|fACK, "")))),
		full(e4(ip4("172.16.5.4", "192.168.1.5", 6, 0, nil, tcpSeg(22, 60000, fURG|fPSH|fACK, "x")))),
		full(e4(ip4("10.0.0.1", "10.0.0.2", 6, 0x4000, nil, get))),
		full(big),
		// IPv6: plain, behind a fragment header, behind hop-by-hop.
		full(e6(ip6("2001:db8::1", "2001:db8::2", 6, tcpSeg(1234, 80, fSYN, "")))),
		full(e6(ip6("2001:db8::2", "2001:db8::1", 6, tcpSeg(80, 1234, fSYN|fACK, "")))),
		full(e6(ip6("2001:db8::1", "2001:db8::2", 44, append(fragHdr(6, 0, true), tcpSeg(1234, 80, fACK, "")...)))),
		full(e6(ip6("2001:db8::1", "2001:db8::2", 44, append(fragHdr(17, 0, false), udpDgram(53, 53, "")...)))),
		full(e6(ip6("2001:db8::1", "2001:db8::2", 0, append(hbh, tcpSeg(1234, 80, fSYN, "")...)))),
		full(e6(ip6("fe80::1", "ff02::1", 17, udpDgram(546, 547, "dhcp")))),
		full(e6(ip6("2001:db8::1", "2001:db8::2", 58, icmpMsg(128, 0)))),
		full(e6(ip6("2001:db8::2", "2001:db8::1", 58, icmpMsg(129, 0)))),
		full(e6(ip6("::1", "::1", 6, tcpSeg(9988, 41631, fFIN|fACK, "")))),
		// ARP and RARP.
		full(ethFrame(0x0806, arpPkt(1, "10.0.0.1", "10.0.0.2"))),
		full(ethFrame(0x0806, arpPkt(2, "192.168.1.5", "10.0.0.1"))),
		full(ethFrame(0x8035, arpPkt(3, "10.0.0.7", "10.0.0.22"))),
		// VLAN tags.
		full(vlanFrame([]uint32{0x81000064}, 0x0800, ip4("10.0.0.1", "10.0.0.2", 6, 0, nil, tcpSeg(1234, 80, fSYN, "")))),
		full(vlanFrame([]uint32{0x810000c8}, 0x86dd, ip6("2001:db8::1", "2001:db8::2", 6, tcpSeg(1234, 443, fACK, "")))),
		full(vlanFrame([]uint32{0x88a8000a, 0x81000064}, 0x0800, ip4("10.0.0.1", "10.0.0.2", 17, 0, nil, udpDgram(53, 53, "")))),
		full(vlanFrame([]uint32{0x91000064}, 0x0806, arpPkt(1, "10.0.0.1", "10.0.0.2"))),
		// Truncated captures.
		cut(e4(ip4("10.0.0.1", "10.0.0.2", 6, 0, nil, tcpSeg(1234, 80, fSYN, ""))), 40),
		cut(e4(ip4("10.0.0.1", "10.0.0.2", 6, 0, nil, tcpSeg(1234, 80, fSYN, ""))), 16),
		cut(e6(ip6("2001:db8::1", "2001:db8::2", 6, tcpSeg(1234, 80, fSYN, ""))), 56),
		cut(big, 96),
		// 802.3 length field, and an unknown EtherType.
		full(ethFrame(0x0026, []byte{0x42, 0x42, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})),
		full(ethFrame(0x88cc, make([]byte, 46))),
	}
}
