// Package labtest holds what only the lab's tests share: a run's pcap
// file (written with pcaptest.WriteFile) read back by tcpdump, the segments
// a scenario expects counted in tcpdump's lines, netstack's states checked
// as samples of the inferred ones, and lab runs logged when a test fails.
// tcpdump is the oracle there, never synfin's own printer; general capture
// helpers live in internal/pcaptest.
package labtest
