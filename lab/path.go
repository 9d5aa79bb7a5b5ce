package lab

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"synfin/lab/fault"
	"synfin/lab/netns"
)

// Path is a routed path for a run: the client in one namespace, the
// server in another, and a router in a third between them, joined by
// veth pairs; the scenario's faults are dropped in the router as it
// forwards, and the router may translate and clamp as well. The run
// captures on the client's interface and on the server's, one vantage
// point on each side of the router. IPv4 only.
type Path struct {
	// Masquerade hides the client's address behind the router's on the
	// server's side (nft's masquerade).
	Masquerade bool
	// ClampMSS sets the MSS option of SYNs the router forwards; 0: not.
	ClampMSS uint16
}

// ServerSide names the file of the server's side of a path's capture
// written to name: "x.pcap", "x.server.pcap".
func ServerSide(name string) string {
	ext := filepath.Ext(name)
	return strings.TrimSuffix(name, ext) + ".server" + ext
}

// The path's addresses: documentation prefixes (RFC 5737), one a link.
var (
	PathClient       = netip.MustParsePrefix("192.0.2.2/24")
	PathRouterClient = netip.MustParsePrefix("192.0.2.1/24")
	PathRouterServer = netip.MustParsePrefix("198.51.100.1/24")
	PathServer       = netip.MustParsePrefix("198.51.100.2/24")
)

// topology is where a run's ends live and where it captures: one
// namespace and its loopback, or a Path's three namespaces.
type topology struct {
	client, server, router *netns.NS
	clientAddr, serverAddr netip.Addr
	capture                []capturePoint
	routerOut              string // the router's interface towards the server
}

// capturePoint is an interface a run captures on.
type capturePoint struct {
	ns    *netns.NS
	iface string
}

// newTopology creates the namespaces of a run, adding their removal to
// *cleanups.
func newTopology(sc *Scenario, p *Path, cleanups *[]func() error) (*topology, error) {
	mk := func() (*netns.NS, error) {
		ns, err := netns.New()
		if err == nil {
			*cleanups = append(*cleanups, ns.Close)
		}
		return ns, err
	}
	if p != nil && sc.IPv6 {
		return nil, fmt.Errorf("lab: scenario %s is IPv6: a path is IPv4 only", sc.Name)
	}
	ns, err := mk()
	if err != nil {
		return nil, err
	}
	t := &topology{client: ns, server: ns, clientAddr: sc.Loopback(), serverAddr: sc.Loopback()}
	if p == nil {
		t.capture = append(t.capture, struct {
			ns    *netns.NS
			iface string
		}{ns, "lo"})
		return t, nil
	}
	if t.router, err = mk(); err != nil {
		return nil, err
	}
	if t.server, err = mk(); err != nil {
		return nil, err
	}
	near, err := netns.Join(t.client, t.router, PathClient, PathRouterClient)
	if err != nil {
		return nil, err
	}
	far, err := netns.Join(t.router, t.server, PathRouterServer, PathServer)
	if err != nil {
		return nil, err
	}
	if err := t.router.Sysctl("net/ipv4/ip_forward", "1"); err != nil {
		return nil, err
	}
	if err := t.client.DefaultRoute(PathRouterClient.Addr()); err != nil {
		return nil, err
	}
	if err := t.server.DefaultRoute(PathRouterServer.Addr()); err != nil {
		return nil, err
	}
	t.clientAddr, t.serverAddr, t.routerOut = PathClient.Addr(), PathServer.Addr(), far.NameA
	t.capture = []capturePoint{{t.client, near.NameA}, {t.server, far.NameB}}
	return t, nil
}

// ends are the namespaces holding the run's sockets.
func (t *topology) ends() []*netns.NS {
	if t.server == t.client {
		return []*netns.NS{t.client}
	}
	return []*netns.NS{t.client, t.server}
}

// faults installs the run's faults: in the namespace on its input hook,
// or in a path's router as it forwards. Nil when there is nothing to do.
func (t *topology) faults(rules []fault.Rule, p *Path) (*fault.Table, error) {
	if t.router == nil {
		if len(rules) == 0 {
			return nil, nil
		}
		return fault.Install(t.client.Fd(), rules)
	}
	r := fault.Router{ClampMSS: p.ClampMSS}
	if p.Masquerade {
		r.Masquerade = t.routerOut
	}
	return fault.InstallRouter(t.router.Fd(), rules, r)
}
