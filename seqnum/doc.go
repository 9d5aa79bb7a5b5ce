// Package seqnum is TCP sequence-number arithmetic modulo 2^32 (RFC 9293
// section 3.4), the one place that compares or measures sequence numbers
// across the wrap: tcpstate, zeekconn and tcpdumptext all use it.
//
// A Value is before another when their signed 32-bit difference is
// negative, as in gVisor's pkg/tcpip/seqnum and the kernel's before():
// numbers more than 2^31 apart compare the wrong way, which is the
// protocol's own limit.
package seqnum
