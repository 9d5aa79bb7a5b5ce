//go:build !linux

package cli

import "errors"

// The commands that work the network itself (AF_PACKET capture, network
// namespaces, nftables, the kernel's tracepoints and sock_diag) are
// Linux's; elsewhere they say so, and reading captures works as on Linux.
var (
	runLab     = linuxOnly
	runServe   = linuxOnly
	runDial    = linuxOnly
	runCapture = linuxOnly
	runWatch   = linuxOnly
)

func linuxOnly(*Env, []string) error {
	return errors.New("needs Linux (AF_PACKET, network namespaces, the kernel's own view of sockets); read, conns, explain, diagram and gen work here")
}

func init() {
	for _, n := range []string{"lab", "serve", "dial", "capture", "watch"} {
		commands[n].summary += " (Linux only)"
	}
}
