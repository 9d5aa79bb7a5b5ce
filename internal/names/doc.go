// Package names gives addresses the host names tcpdump prints without -n.
//
// tcpdump asks gethostbyaddr once per address and remembers the answer:
// the C library looks in /etc/hosts (the first line listing the address,
// its first name) and then asks DNS for a PTR record, blocking as long as
// the resolver's own timeouts (5 s and more per question). A Resolver
// does the same in the same order, with the differences that keep a
// command moving on any capture:
//
//   - each DNS question waits at most Options.Timeout (half a second);
//     after three questions time out, DNS is no longer asked and the
//     addresses the hosts file does not name print as numbers;
//   - at most Options.MaxNames DNS answers are remembered: past that the
//     memory starts over, so a capture of millions of addresses cannot
//     grow it without bound (the hosts file's names are always kept).
//
// The hosts file is read as the C library reads it (see ParseHosts), and
// the unspecified IPv6 address (::) has no name, as the C library refuses
// to look it up. An address without a name prints as a number.
package names
