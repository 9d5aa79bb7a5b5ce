// Package crowd runs the lab's experiments on populations of sockets,
// where what matters is how many sockets are in each state and what the
// kernel counted, rather than one connection's states: a listener whose
// backlog fills (backlog-full), a server leaking CLOSE-WAIT
// (close-wait-leak), TIME-WAIT piling up toward one server
// (time-wait-pileup), and a SYN flood from many addresses with and
// without syncookies (syn-flood, syn-flood-no-cookies).
//
// Each runs in a private network namespace, as package lab's scenarios
// do, with the seed's server from lab/server, and records the packets on
// lo beside the kernel's own view: the tracepoint
// sock/inet_sock_set_state, sock_diag at rest (what ss -tan shows, with
// the listener's queue and backlog), and the namespace's counters from
// /proc/net/netstat and /proc/net/snmp under nstat's names (a namespace
// starts with its counters at zero). Analyze sets the states the packets
// imply beside the kernel's; Options.Observe lets another observer (synfin
// watch) follow the namespace from the start and look while the
// population is at rest, and its
// findings are printed with the rest.
package crowd
