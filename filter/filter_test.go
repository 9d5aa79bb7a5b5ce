package filter

import (
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"golang.org/x/net/bpf"

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
