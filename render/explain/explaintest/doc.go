// Package explaintest gives the renderers' tests connections to render:
// captures tracked by tcpstate, and small synthetic captures of each
// lifecycle written as pcap files with gopacket, so that tcpdump can read
// the same bytes as an oracle.
package explaintest
