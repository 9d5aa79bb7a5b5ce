package names

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeDNS answers from a table, counts the questions, and, for addresses
// marked slow, waits until the question's deadline.
type fakeDNS struct {
	mu      sync.Mutex
	names   map[string][]string
	slow    map[string]bool
	asked   map[string]int
	total   int
	blocked int // questions that waited for their deadline
}

func (f *fakeDNS) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	f.mu.Lock()
	f.asked[addr]++
	f.total++
	slow := f.slow[addr]
	if slow {
		f.blocked++
	}
	ns := f.names[addr]
	f.mu.Unlock()
	if slow {
		<-ctx.Done()
		return nil, &net.DNSError{Err: "i/o timeout", Name: addr, IsTimeout: true}
	}
	if ns == nil {
		return nil, &net.DNSError{Err: "no such host", Name: addr, IsNotFound: true}
	}
	return ns, nil
}

func newFake() *fakeDNS {
	return &fakeDNS{names: map[string][]string{}, slow: map[string]bool{}, asked: map[string]int{}}
}

func hostsFile(t testing.TB, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type answer struct {
	name string
	ok   bool
}

func ask(r *Resolver, addr string) answer {
	n, ok := r.HostName(netip.MustParseAddr(addr))
	return answer{n, ok}
}

// TestResolverOrder: the hosts file answers first and DNS is not asked
// for what it names; DNS's first PTR name is given without its final dot;
// each address is asked about once however often it is printed; "::" is
// never asked about.
func TestResolverOrder(t *testing.T) {
	dns := newFake()
	dns.names["192.0.2.1"] = []string{"one.example.", "uno.example."}
	dns.names["127.0.0.1"] = []string{"from-dns."}
	dns.names["2001:db8::1"] = []string{"six.example."}
	r := New(Options{HostsFile: hostsFile(t, "127.0.0.1 localhost\n:: any\n192.0.2.3\n"), DNS: dns})
	for _, tc := range []struct {
		addr string
		want answer
	}{
		{"127.0.0.1", answer{"localhost", true}},
		{"192.0.2.1", answer{"one.example", true}},
		{"192.0.2.2", answer{"", false}},
		{"192.0.2.3", answer{"", true}},
		{"2001:db8::1", answer{"six.example", true}},
		{"::", answer{"", false}},
	} {
		for i := 0; i < 3; i++ {
			if got := ask(r, tc.addr); got != tc.want {
				t.Errorf("%s: %+v, want %+v", tc.addr, got, tc.want)
			}
		}
	}
	want := map[string]int{"192.0.2.1": 1, "192.0.2.2": 1, "2001:db8::1": 1}
	if fmt.Sprint(dns.asked) != fmt.Sprint(want) {
		t.Errorf("DNS was asked %v, want %v", dns.asked, want)
	}
}

// TestResolverBounds: a DNS server that does not answer holds up at most
// three addresses, each for the timeout; the names remembered are bounded
// (past the bound the memory starts over, and DNS is asked again).
func TestResolverBounds(t *testing.T) {
	t.Run("timeouts", func(t *testing.T) {
		dns := newFake()
		for i := 1; i <= 10; i++ {
			dns.slow[fmt.Sprintf("192.0.2.%d", i)] = true
		}
		r := New(Options{DNS: dns, Timeout: 20 * time.Millisecond})
		start := time.Now()
		for i := 1; i <= 10; i++ {
			if got := ask(r, fmt.Sprintf("192.0.2.%d", i)); got.ok {
				t.Errorf("192.0.2.%d: named %q by a DNS server that did not answer", i, got.name)
			}
		}
		if dns.total != maxTimeouts {
			t.Errorf("DNS asked %d times, want %d (then no more)", dns.total, maxTimeouts)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("10 addresses took %v", d)
		}
	})
	t.Run("memory", func(t *testing.T) {
		dns := newFake()
		r := New(Options{DNS: dns, MaxNames: 4})
		for round := 0; round < 2; round++ {
			for i := 1; i <= 6; i++ {
				ask(r, fmt.Sprintf("192.0.2.%d", i))
			}
			if n := len(r.cache); n > 4 {
				t.Fatalf("%d names remembered, bound 4", n)
			}
		}
		// 6 addresses through a memory of 4: it starts over at the 5th,
		// so the 1st to 4th are asked again in the second round.
		if dns.asked["192.0.2.1"] != 2 || dns.total != 12 {
			t.Errorf("DNS asked %v", dns.asked)
		}
	})
}

// TestResolverConcurrent asks from several goroutines at once, as
// printers side by side do (run with -race).
func TestResolverConcurrent(t *testing.T) {
	dns := newFake()
	dns.names["192.0.2.1"] = []string{"one.example."}
	r := New(Options{HostsFile: hostsFile(t, "127.0.0.1 localhost\n"), DNS: dns, MaxNames: 8})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				for _, a := range []string{"127.0.0.1", "192.0.2.1", fmt.Sprintf("198.51.100.%d", i%20)} {
					ask(r, a)
				}
			}
		}()
	}
	wg.Wait()
	if got := ask(r, "192.0.2.1"); got != (answer{"one.example", true}) {
		t.Errorf("192.0.2.1: %+v", got)
	}
}

// TestHostNameZeroAlloc: a remembered name costs no allocation, so that
// printing without -n stays allocation-free per packet.
func TestHostNameZeroAlloc(t *testing.T) {
	dns := newFake()
	dns.names["192.0.2.1"] = []string{"one.example."}
	r := New(Options{HostsFile: hostsFile(t, "127.0.0.1 localhost\n"), DNS: dns})
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.1"),
		netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::1")}
	for _, a := range addrs {
		r.HostName(a)
	}
	if n := testing.AllocsPerRun(1000, func() {
		for _, a := range addrs {
			r.HostName(a)
		}
	}); n != 0 {
		t.Errorf("%v allocations per round, want 0", n)
	}
}
