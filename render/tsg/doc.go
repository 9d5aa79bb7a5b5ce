// Package tsg draws the time-sequence graph of a TCP connection, the
// picture of a transfer's progress Stevens drew and tcptrace -G and
// Wireshark's "Stevens" graph draw: for each direction, time across and
// sequence numbers up, every segment a vertical bar over the numbers it
// carries, the receiver's ACK line and the right edge of the window it
// offers as steps above the bars, SACK blocks beside them, and marks
// where a segment was sent again (R), arrived below what was sent before
// (O), probed a zero window (P), and where a zero window was offered
// (Z). Beside the graph, the flow's throughput and its RTT over time.
//
// Compute works the points out of a connection's kept segments
// (track.Config.Segments) in time linear in their number, into a Graph
// that encodes as JSON for drawings of their own (the HTML report's);
// WriteSVG draws it as one self-contained SVG document.
//
// The points are tcptrace's, checked against its xplot files (a2b_tsg.xpl
// ...) on the shared corpus, gen's captures and a kernel's upload with a
// lost segment: the same time and range for each segment (a SYN and a FIN
// take one number, a segment without data is a point), one ACK and one
// window point (ack + scaled window) for each acknowledgment of the other
// direction except resets, each SACK block, and the marks by tcptrace's
// rules: R when a segment carries a number sent before (rexmit.c), O when
// it starts below a range sent before and ends inside it, P when the
// receiver's last segment offered a zero window (those are not checked
// for retransmission), Z at an acknowledgment offering a zero window;
// and the throughput points of its _tput.xpl files. What differs, on
// purpose:
//
//   - Sequence numbers are relative to the sender's ISN (its first number
//     seen when the handshake was not captured) and unwrapped past 2^32,
//     as synfin's ladders and explanations number them, so a graph starts
//     at 0 and climbs however long the flow; Flow.Base gives them back.
//     Times count seconds from the connection's first segment (Graph.Start).
//   - tcptrace calls a segment that comes again with the same IP ID a
//     hardware duplicate (HD); here it is a retransmission: the graph
//     shows the numbers sent again, whatever sent them.
//   - tcptrace's bookkeeping of what was sent (four quadrants of the
//     sequence space) marks the first segment after a gap across the
//     wrap of the sequence space as a retransmission; unwrapped numbers
//     do not.
//   - RTT samples are taken when an acknowledgment covers exactly the end
//     of a segment sent once (Karn's rule), not by tcptrace's longer
//     rules for cumulative and ambiguous acknowledgments, and in
//     seconds, not whole milliseconds (loopback's RTTs are all 0 ms to
//     tcptrace). Throughput is tcptrace's instantaneous one (the payload
//     of ThroughputEvery data segments over their time), without its
//     lifetime average, and as a float: tcptrace's int overflows past
//     2 GiB/s.
//
// Drawing decimates, Computing does not: the graph has 600 pixel columns
// of time, and each step line (ACK, window) keeps in each column its
// first, lowest, highest and last value, so its envelope is exact; the
// segments sent anew in a column are one bar from their lowest to their
// highest number, marked segments at most three bars per column and
// kind, SACK blocks one bar per column, zero windows one Z per column;
// the side plots keep each column's lowest and highest value. A drawing
// thus holds a few thousand elements whether the flow has a hundred
// segments or a million.
package tsg
