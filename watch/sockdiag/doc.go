// Package sockdiag lists a network namespace's TCP sockets through
// sock_diag (NETLINK_SOCK_DIAG, inet_diag), as ss(8) does, one socket at
// a time: a dump of 100,000 TIME-WAIT sockets is read through one 32 KiB
// buffer and handed to a callback, never held as a slice, so listing
// costs the same memory however many sockets there are. Listing needs no
// privilege.
//
// github.com/vishvananda/netlink's SocketDiagTCP returns every socket as
// a slice of allocated structs, which is what the project's lab wants
// (lab/kernel) and what a long-running watch on a busy host must not do.
package sockdiag
