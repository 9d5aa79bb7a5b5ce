// Package ladder draws a connection as a ladder diagram: the client's and
// the server's lifelines, each shaded by the endpoint's state and labelled
// where the state changes, an arrow per segment labelled with its flags,
// relative sequence and acknowledgment numbers and length, the phases
// (handshake, data, teardown) bracketed, anomalies marked on their arrows,
// and time running down, compressed with a visible break where a gap is
// long (retransmission timeouts, TIME-WAIT). Past explain.CollapseAbove
// segments, the data phase is one summary row (KindData) between the
// handshake and the teardown, drawn in full; Options.Full draws every
// segment. Laying out takes time linear in the segments.
//
// Layout computes one Model that every output draws: text for terminals
// (box-drawing or plain ASCII, fitted to a width), SVG (self-contained and
// deterministic) and Mermaid sequenceDiagram source.
package ladder
