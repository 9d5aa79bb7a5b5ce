// Package finding names what is wrong with a host's TCP sockets, from
// what watch measured over one interval, and says it in a sentence in
// English or Chinese: a process leaking sockets in CLOSE-WAIT, a
// listener whose accept queue is full, TIME-WAIT sockets using up the
// ephemeral ports toward one peer, a SYN flood, a storm of resets.
//
// Each kind is decided from the kernel's own figures (sock_diag's
// queues and states, the counters of /proc/net/netstat and snmp), never
// from a guess at what the packets did; the sentences live in one
// catalogue, keyed as render/explain's are, so each language says the
// same thing.
package finding
