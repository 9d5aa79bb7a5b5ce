// Package fault loses chosen TCP segments inside an experiment's network
// namespace, so retransmissions and timeouts can be shown on purpose: drop
// the Nth segment that matches ports and flags (the first SYN-ACK, the
// last ACK, a FIN), or every one of them, and count what matched.
//
// It uses nftables through netlink (github.com/google/nftables) rather
// than the nft program, and one table per namespace, deleted on Close.
// Rules sit on the input hook: a dropped segment has already been seen by
// a packet capture on the sending side, as a segment lost in the network
// would, and the sender's TCP never learns it was dropped. The Nth match
// is picked with an incremental number generator evaluated only when the
// rest of the rule matched.
package fault
