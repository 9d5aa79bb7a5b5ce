package cli

import (
	"bufio"
	"io"

	"synfin/render/explain"
	"synfin/render/ladder"
	"synfin/tcpstate"
)

// ExplainText writes the teaching text of each connection in lang ("en"
// or "zh"; "" is English), wrapped at width columns (0: 80): header,
// verdict, timeline with relative and absolute seq/ack, both ends' state
// changes and a note per segment, a text ladder, what the capture missed
// and a summary. The explain and lab commands print it.
func ExplainText(w io.Writer, conns []*tcpstate.Conn, lang string, width int) error {
	return explainText(w, conns, ladder.Options{Lang: lang, Width: width})
}

// explainText is ExplainText with the ladder's options (plain ASCII).
func explainText(w io.Writer, conns []*tcpstate.Conn, lo ladder.Options) error {
	if err := explain.CheckLang(lo.Lang); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	opt := explainOptions(lo)
	for _, c := range conns {
		if err := explain.Write(bw, c, opt); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// explainOptions are the text's options, with a bare ladder after each
// timeline.
func explainOptions(lo ladder.Options) explain.Options {
	lo.Bare = true
	return explain.Options{Lang: lo.Lang, Width: lo.Width, Ladder: func(w io.Writer, c *tcpstate.Conn) error {
		return ladder.WriteText(w, c, lo)
	}}
}
