package track

import (
	"cmp"
	"slices"

	"synfin/tcpstate"
)

// DefaultMaxConns is Config.MaxOpen for the commands that keep every
// segment of the connections they follow (explain, diagram, read and
// capture with --annotate or --explain), with DefaultMaxWarm: all but
// the busiest wait as snapshots, so that a flood of never-closed
// handshakes stays under 100 MB (65 MB for explain --json over 2 M). The
// reference workload (synfin gen) holds at most about 14,000 open at
// once: 2,300 busy, the rest never closed and held until idle.
const DefaultMaxConns = 32768

// HeldPerOpen is Config.MaxConns over Config.MaxOpen for the same
// commands: the connections closed and held for 2MSL leave on the
// capture's clock, but a fast stream of short connections must not hold
// them without bound either. 8 × DefaultMaxConns is above every
// connection of the reference workload.
const HeldPerOpen = 8

// DefaultMaxWarm is Config.MaxWarm for the same commands: a connection
// held live with its segments takes a few kilobytes, its snapshot a few
// hundred bytes. The reference workload has about 2,300 connections busy
// at once.
const DefaultMaxWarm = 4096

// DefaultMaxReport bounds the connections of a document that shows them
// all at once (diagram's svg, mermaid and html, explain --html): each is
// kept whole, segments and all, until the document is written.
const DefaultMaxReport = 5000

// ReportMax is the Kept.Max of a document for a command run with
// --max-conns maxConns: DefaultMaxReport, or maxConns if smaller; 0 (no
// bound) keeps every connection.
func ReportMax(maxConns int) int {
	if maxConns <= 0 {
		return 0
	}
	return min(maxConns, DefaultMaxReport)
}

// Kept keeps copies of the connections handed out for a document that
// shows them all at once (an SVG, an HTML report): at most Max of them,
// the first by ID, so that memory stays bounded however many the capture
// has. 0 keeps every one.
type Kept struct {
	Max   int
	conns []*tcpstate.Conn // with Max, a heap: the highest ID first
	seen  int
}

// Add keeps a copy of c if it is among the first Max by ID so far.
func (k *Kept) Add(c *tcpstate.Conn) {
	k.seen++
	switch {
	case k.Max <= 0:
		k.conns = append(k.conns, c.Clone())
	case len(k.conns) < k.Max:
		k.conns = append(k.conns, c.Clone())
		k.up(len(k.conns) - 1)
	case c.ID < k.conns[0].ID:
		k.conns[0] = c.Clone()
		k.down(0)
	}
}

func (k *Kept) up(i int) {
	h := k.conns
	for i > 0 {
		p := (i - 1) / 2
		if h[p].ID >= h[i].ID {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (k *Kept) down(i int) {
	h := k.conns
	for {
		l, m := 2*i+1, i
		if l < len(h) && h[l].ID > h[m].ID {
			m = l
		}
		if r := l + 1; r < len(h) && h[r].ID > h[m].ID {
			m = r
		}
		if m == i {
			return
		}
		h[m], h[i] = h[i], h[m]
		i = m
	}
}

// Conns returns the connections kept, in the order of their IDs. Add must
// not be called after it.
func (k *Kept) Conns() []*tcpstate.Conn {
	slices.SortFunc(k.conns, func(a, b *tcpstate.Conn) int { return cmp.Compare(a.ID, b.ID) })
	return k.conns
}

// Left is how many connections were added but not kept.
func (k *Kept) Left() int { return k.seen - len(k.conns) }
