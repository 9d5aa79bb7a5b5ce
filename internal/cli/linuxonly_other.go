//go:build !linux

package cli

import "errors"

// The commands that work the network itself (AF_PACKET capture, network
// namespaces, nftables, the kernel's tracepoints and sock_diag) are
// Linux's; elsewhere they say so, and reading captures works as on Linux.
func init() {
	for _, c := range []struct{ name, summary string }{
		{"lab", "run the handshake/teardown experiment (Linux only)"},
		{"serve", "the experiment's server (Linux only)"},
		{"dial", "the experiment's client (Linux only)"},
		{"capture", "capture live traffic (Linux only)"},
		{"watch", "the live view of a host's TCP sockets (Linux only)"},
	} {
		register(&command{name: c.name, summary: c.summary, run: func(*Env, []string) error {
			return errors.New("needs Linux (AF_PACKET, network namespaces, the kernel's own view of sockets); read, conns, explain, diagram and gen work here")
		}})
	}
}
