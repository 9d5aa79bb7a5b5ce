// Package html writes one self-contained HTML report of connections: a
// filterable list with verdicts (final state pair, teardown pattern,
// anomalies) and, for the selected connection, its ladder diagram as
// inline SVG, its segment table and its explanation in English or Chinese
// with a switch. Selecting an arrow highlights its table row and the
// reverse.
//
// The report works offline and stays usable with tens of thousands of
// connections: the connections are embedded once as compact JSON, the
// list draws only the rows in view, and a connection's details are drawn
// only when it is selected. The ladder is laid out by package ladder and
// the messages come from package explain's catalogue, so the report says
// and draws what the text outputs do.
package html
