package filter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"

	"synfin/internal/corpus"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/wire"
)

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
