// Package html writes one self-contained HTML report of connections: the
// capture's summary (Options.Summary: summary.Page, its words in both
// languages; each connection id of a finding's evidence selects that
// connection), a list of every connection
// to sort and filter, and for the selected connection its verdict, its
// ladder diagram, its segment table, its time-sequence graph and its
// explanation in English or Chinese with a switch. Selecting an arrow
// highlights its table row and the reverse.
//
// The report works offline and opens quickly with hundreds of thousands
// of connections: a Writer writes it one connection at a time, in
// chunks, each a list part (the columns the list shows, sorts and
// filters by) that the page reads when it opens and a detail part (the
// ladder's rows and the segments packed as varints, and messages) that
// it reads only when one of the chunk's connections is selected. The
// list draws only the rows in view. The ladder is laid out by package
// ladder, the messages come from package explain's catalogue, and the
// time-sequence graph takes its marks, SACK blocks, RTT and throughput
// from tsg.Compute and its words from tsg.Words, so the report says and
// draws what the text and SVG outputs do; the explanations'
// messages are bounded (explainBytes), past which a connection is shown
// without them and the page says how to get them.
package html
