// Package conn renders a tracked TCP connection as synfin prints it: a
// row of the conns table (AppendRow, under Header), a conns --json line
// with Zeek's conn.log fields and synfin's own (AppendJSON), and an
// explain --json line, which adds both endpoints' state transitions and
// every segment (AppendExplainJSON). The JSON lines share their pieces
// (handshake, teardown, anomalies, options, port reuse), written once, so
// that a field has the same shape in every output.
//
// The encoders are written by hand rather than with fmt or encoding/json:
// conns renders a line for every connection it tracks, and reflection
// cost more than the tracking did. Rendering into a reused buffer
// allocates nothing. Strings that JSON would escape (none of synfin's
// names do) go through encoding/json, so that the output is the same as
// its.
package conn
