// Package client is the experiment's TCP client: the seed's client
// (connect, then exit, which closes the socket) plus steps that decide how
// the connection is used and ended: send, read, wait, shutdown (half-close),
// close and abort (RST), from a chosen local port, repeated, over IPv4 or
// IPv6.
//
// Multipath TCP is turned off and SO_REUSEADDR is set when a local port is
// chosen, so a port whose last connection sits in TIME-WAIT can be bound
// again and the kernel decides whether the TIME-WAIT may be reused.
package client
