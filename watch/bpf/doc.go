// Package bpf follows the tracepoint sock/inet_sock_set_state through an
// eBPF program written with cilium/ebpf's assembler (no C compiler in
// the build) and a BPF ring buffer.
package bpf
