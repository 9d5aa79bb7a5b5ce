// Package userstack runs the lab's experiment without privileges, on
// gVisor's netstack: a TCP/IP stack written in Go that runs inside the
// process.
//
// The lab proper needs a network namespace, nftables and packet capture,
// so root or CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_ADMIN. Without them
// synfin can still show a real handshake and teardown, because netstack
// is not a simulation: it has its own RFC 9293 state machine, its own
// timers (RFC 6298 retransmission, TIME-WAIT, FIN-WAIT-2) and its own
// answers to resets, unread data and SO_LINGER 0, and it is what gVisor
// runs production traffic on. A scenario's server and clients are
// endpoints of one stack whose only NIC loops every packet back, like
// lo: each segment written to it is recorded as raw IP, may be dropped
// there (the lab's faults), and is handed back to the stack. The NIC is
// not flagged as loopback and claims no checksum offload, so netstack
// computes and checks real checksums. Nothing leaves the process.
//
// The labelling rule: everything a run returns is netstack's and must be
// shown as such, never as the kernel's. Result.Source and
// Endpoint.Source are "netstack", and StackName is the line to print
// beside the output. Netstack is a different TCP from Linux and differs
// where RFC 9293 leaves a choice (it has no delayed ACK, so a close
// that Linux makes in three segments takes four here) and in a few
// places where it does not. Its endpoint states are a secondary source:
// netstack has no hook on state changes, so they are sampled, and a
// state shorter than a sample (a passive open's SYN-RECEIVED, say) may
// be missing. The frames are the primary record; synfin's own analysis
// of them is what the lab shows.
package userstack
