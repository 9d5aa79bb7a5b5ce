package cli

import "synfin/filter"
import "synfin/wire"

// frameFilter applies a pcap-filter expression to frames of any link type,
// compiling it once per link type (a pcapng file may mix them). With -#,
// frames it passes are numbered from 1 as tcpdump numbers them.
type frameFilter struct {
	expr     string
	compiled map[wire.LinkType]*filter.Filter
	passed   int
}

func newFrameFilter(expr string) *frameFilter { return &frameFilter{expr: expr} }

// match reports whether f passes; it renumbers f when an expression is set.
func (ff *frameFilter) match(f *wire.Frame) (bool, error) {
	if ff.expr == "" {
		return true, nil
	}
	flt, ok := ff.compiled[f.Link]
	if !ok {
		var err error
		flt, err = filter.Compile(ff.expr, f.Link)
		if err != nil {
			return false, usagef("%v", err)
		}
		if ff.compiled == nil {
			ff.compiled = map[wire.LinkType]*filter.Filter{}
		}
		ff.compiled[f.Link] = flt
	}
	if !flt.MatchLen(f.Data, f.WireLen) {
		return false, nil
	}
	ff.passed++
	f.Index = ff.passed
	return true, nil
}
