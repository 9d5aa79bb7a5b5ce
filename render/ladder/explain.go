package ladder

import (
	"bufio"
	"io"

	"synfin/render/explain"
	"synfin/tcpstate"
)

// ExplainOptions are explain's options for teaching text in opt's
// language and width with a text ladder drawn as opt says, bare (the
// explanation has the title and verdict), after each timeline.
func ExplainOptions(opt Options) explain.Options {
	opt.Bare = true
	return explain.Options{Lang: opt.Lang, Width: opt.Width, Full: opt.Full, Ladder: func(w io.Writer, c *tcpstate.Conn) error {
		return WriteText(w, c, opt)
	}}
}

// WriteExplained writes the teaching text of each connection with its
// ladder (ExplainOptions): header, verdict, timeline with relative and
// absolute seq/ack, both ends' state changes and a note per segment, the
// ladder, what the capture missed and a summary.
func WriteExplained(w io.Writer, conns []*tcpstate.Conn, opt Options) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	ew, err := explain.NewWriter(bw, ExplainOptions(opt))
	if err != nil {
		return err
	}
	for _, c := range conns {
		if err := ew.Write(c); err != nil {
			return err
		}
	}
	return bw.Flush()
}
