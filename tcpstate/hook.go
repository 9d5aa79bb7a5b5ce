package tcpstate

// onSegment calls Config.OnSegment for the segment with frame index. It
// lets a caller act on each segment as it is tracked, e.g. annotate a
// listing with the step the segment belongs to from the same events the
// explanations use.
//
// With Config.Segments the record passed is the last of c.Segments: its
// note, phase, anomalies and both ends' states after it. Without, it is
// nil, as notes are only worked out for kept segments. A caller that needs
// only the newest segment may empty c.Segments in the call, so that memory
// stays flat over long connections: the tracker only appends to it.
//
// Later segments can revise earlier state changes (a lost FIN's receiver
// changes state on the copy that arrived), so the call sees what was known
// at that segment; the endpoints' Transitions hold the final account.
func (t *Tracker) onSegment(c *conn, index int) {
	var s *Segment
	if n := len(c.Segments); n > 0 && c.Segments[n-1].Index == index {
		s = &c.Segments[n-1]
	}
	t.cfg.OnSegment(&c.Conn, s)
}
