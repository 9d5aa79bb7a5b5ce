// Package bpf follows the tracepoint sock/inet_sock_set_state, every TCP
// state change with the kernel's time stamp (bpf_ktime_get_ns,
// CLOCK_MONOTONIC), through an eBPF program written with cilium/ebpf's
// assembler, so that the build needs no C compiler and stays pure Go.
// The program copies the tracepoint's fields, at the offsets its format
// file gives (checked at Open: another layout is refused), into a BPF
// ring buffer; when the buffer is full it counts the event instead, and
// the kernel counts the runs it skipped because another tracing program
// was running on that CPU (bpftrace, for one): both are in Lost, so no
// event is silently dropped. It wakes its reader only past an eighth of
// the buffer, and the reader looks every 50 ms besides: a wake-up per
// event cost more than the event.
//
// A tracepoint program cannot read the context flags trace_pipe prints,
// so the process that made a change is taken only for the changes a
// system call makes (connect, listen, close, shutdown); the others come
// with packets, in whatever task the CPU was running.
//
// Why eBPF and not tracefs (package tracefs, which watch falls back to
// when BPF is refused), measured with bench/churn.sh on a 2-core machine
// shared with other work (load average 15 to 20): 100,000 loopback
// connections at 5,000 a second (the load generator reached that rate
// with either source attached), a million state changes, watch
// --interval 1s without --json, the same 8 MB of kernel buffer for both:
//
//	source   changes lost (of 1,000,002)   CPU (s)      peak RSS (MB)
//	eBPF     304, 182                      2.37, 2.30   46.9, 47.9
//	tracefs  29,627, 0                     5.60, 5.15   32.2, 31.5
//
// eBPF's losses were all runs the kernel skipped while bpftrace (the
// benchmark's own count) ran on the same CPU; tracefs's came in a burst
// while its reader was held up. With 110,000 connections, 108,540 in
// TIME-WAIT at the end: eBPF 1.0 s and 46 MB with the default interval,
// tracefs 5.2 s and 30 MB. With 4 MB, one eBPF run in four lost 53,604
// in a burst (the reader waits while a snapshot reads sock_diag), hence
// 8 MB; before the reader was woken in batches, eBPF took 4.5 to 5.0 s
// of CPU in the same runs. So eBPF, for half the CPU and no loss of its
// own, at the price of the ring buffer in watch's RSS, well inside the
// 64 MB watch is held to.
//
// The eBPF program itself ran 0.8 to 1.1 µs an event in the kernel
// (kernel.bpf_stats_enabled), charged to the tasks it runs in, not to
// watch; tracefs's reader pays for the kernel formatting each
// event as text and for parsing it back, in watch. The ring buffer is
// mapped into watch, so its 8 MB (twice, as the kernel maps it) count
// in watch's RSS, where tracefs's buffers do not. At the generator's
// highest rate on this machine (5,700 to 10,900 a second with watch
// attached) both lost events in bursts while the machine was saturated
// and counted every one; with --json, writing the lines is the bottleneck
// for both.
package bpf
