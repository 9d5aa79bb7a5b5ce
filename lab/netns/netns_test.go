package netns

import (
	"net"
	"net/netip"
	"os"
	"testing"

	"synfin/internal/testenv"
)

func TestNewDoClose(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	b, err := New()
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	if a.Name == b.Name {
		t.Errorf("two namespaces share the name %s", a.Name)
	}
	// A listener in a is invisible from b: the port is free there.
	var ln net.Listener
	if err := a.Do(func() (err error) { ln, err = net.Listen("tcp4", "127.0.0.1:9988"); return }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := b.Do(func() error {
		l2, err := net.Listen("tcp4", "127.0.0.1:9988")
		if err == nil {
			l2.Close()
		}
		return err
	}); err != nil {
		t.Errorf("same port in a second namespace: %v", err)
	}
	if err := a.Sysctl("net/ipv4/tcp_syn_retries", "2"); err != nil {
		t.Error(err)
	}
	for _, ns := range []*NS{a, b} {
		if _, err := os.Stat("/run/netns/" + ns.Name); err != nil {
			t.Errorf("%s not visible to ip netns: %v", ns.Name, err)
		}
	}
	ln.Close()
	if err := a.Close(); err != nil {
		t.Error(err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	b.Close()
	assertGone(t, a.Name, b.Name)
}

func TestPair(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	for _, tc := range []struct{ a, b string }{
		{"10.0.0.1/24", "10.0.0.2/24"},
		{"fd00::1/64", "fd00::2/64"},
	} {
		t.Run(tc.a, func(t *testing.T) {
			v, err := Pair(netip.MustParsePrefix(tc.a), netip.MustParsePrefix(tc.b))
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			srv := netip.AddrPortFrom(v.AddrB.Addr(), 9988)
			var ln net.Listener
			if err := v.B.Do(func() (err error) { ln, err = net.Listen("tcp", srv.String()); return }); err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				if c, err := ln.Accept(); err == nil {
					c.Close()
				}
			}()
			if err := v.A.Do(func() error {
				c, err := net.Dial("tcp", srv.String())
				if err == nil {
					c.Close()
				}
				return err
			}); err != nil {
				t.Fatalf("dial across the veth: %v", err)
			}
			ln.Close()
			names := []string{v.A.Name, v.B.Name}
			if err := v.Close(); err != nil {
				t.Fatal(err)
			}
			assertGone(t, names...)
		})
	}
}

func TestOwnerAlive(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{UniqueName(), true},
		{"synfin-0-abcd", false},
		{"synfin-x-abcd", false},
		{"other-1-abcd", false},
	} {
		if got := OwnerAlive(tc.name); got != tc.want {
			t.Errorf("OwnerAlive(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func assertGone(t *testing.T, names ...string) {
	t.Helper()
	l, err := List()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		for _, m := range l.Namespaces {
			if m == n {
				t.Errorf("namespace %s left behind", n)
			}
		}
	}
	if len(l.Links) > 0 {
		t.Errorf("interfaces left behind: %v", l.Links)
	}
}
