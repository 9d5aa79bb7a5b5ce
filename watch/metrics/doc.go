// Package metrics serves watch's snapshots as Prometheus metrics
// (github.com/prometheus/client_golang). Every label takes values from
// a set fixed by the kernel or by watch's bounds: TCP states, pairs of
// states, counter names, finding kinds, and listeners (at most
// watch.MaxListeners, labelled by port and address). No label carries a
// connection, so the number of series stays the same however many
// sockets the host has.
package metrics
