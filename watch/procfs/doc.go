// Package procfs reads what /proc says about a network namespace's TCP:
// the kernel's counters (/proc/net/netstat and /proc/net/snmp, named as
// nstat(8) names them), the sysctls that bound sockets (somaxconn, the
// ephemeral port range, tcp_tw_reuse), and which process owns a socket
// (the socket:[inode] links under /proc/PID/fd).
//
// The counter and sysctl files belong to the namespace of the thread that
// opens them, so Open opens them once inside the namespace and every read
// after that rereads the same open files: they keep answering for that
// namespace, and after capabilities are given up.
package procfs
