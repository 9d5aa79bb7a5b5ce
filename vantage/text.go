package vantage

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"synfin/render/explain"
)

// words are the text output's phrases: English, Chinese.
var words = map[string][2]string{
	"point":      {"%s: %s, %d TCP segments", "%s：%s，%d 个 TCP 报文段"},
	"clock":      {"clock: B - A = %s ± %s, from %d segments seen at both", "时钟：B - A = %s ± %s，依据两处都看到的 %d 个报文段"},
	"clock1":     {"clock: B - A = %s, from segments that crossed one way only (delays are lower bounds)", "时钟：B - A = %s，仅依据单向报文段（时延为下限）"},
	"noclock":    {"clock: no segment seen at both points", "时钟：没有两处都看到的报文段"},
	"applied":    {"; corrected: B's times less the offset", "；已校正：B 的时间减去该偏差"},
	"agree":      {"; not corrected: the time stamps already agree (delays are their differences)", "；未校正：时间戳本身一致（时延即其差值）"},
	"conn":       {"Connection %d: %s -> %s", "连接 %d：%s -> %s"},
	"side":       {"  %s (%s side): %s -> %s", "  %s（%s侧）：%s -> %s"},
	"client":     {"client's", "客户端"},
	"server":     {"server's", "服务器"},
	"matched":    {"  matched by: %s", "  匹配依据：%s"},
	"changed":    {"  path changed: %s", "  路径上的改动：%s"},
	"unchanged":  {"  path changed: nothing", "  路径上的改动：无"},
	"delay":      {"  one-way delay %s: %d segments, min %s, median %s, p90 %s, max %s", "  单向时延 %s：%d 个报文段，最小 %s，中位 %s，p90 %s，最大 %s"},
	"lostsum":    {"  lost between the points: %d", "  在两点之间丢失：%d"},
	"nolost":     {"  lost between the points: none", "  在两点之间丢失：无"},
	"head":       {"   time       %-6s %-36s %-6s %s", "   时间       %-6s %-36s %-6s %s"},
	"c2s":        {"client->server", "客户端->服务器"},
	"s2c":        {"server->client", "服务器->客户端"},
	"n-lost":     {"lost between %s and %s", "在 %s 与 %s 之间丢失"},
	"n-unobs":    {"%s was not capturing", "%s 当时未在抓包"},
	"n-far":      {"seen at %s only", "只在 %s 看到"},
	"n-reseg":    {"split or coalesced on the way (TSO/GRO), not lost", "途中被拆分或合并（TSO/GRO），并未丢失"},
	"n-rexmit":   {"retransmits %s#%d", "重传 %s#%d"},
	"n-wasLost":  {", which was lost between the points", "，原报文段在两点之间丢失"},
	"n-ackLost":  {", which arrived; its ACK %s#%d was lost between the points", "，原报文段已到达；其 ACK %s#%d 在两点之间丢失"},
	"n-beyond":   {", which arrived at %s (lost or delayed beyond it, or spurious)", "，原报文段已到达 %s（在其后丢失或延迟，或为伪重传）"},
	"n-wasUnobs": {", sent while %s was not capturing", "，原报文段发出时 %s 未在抓包"},
	"only":       {"seen at %s only: %s", "只在 %s 看到：%s"},
	"warn":       {"warning: %s", "警告：%s"},
	"legend":     {"✕ lost between the points  ? the other point was not capturing  ~ split or coalesced", "✕ 在两点之间丢失  ? 另一处当时未抓包  ~ 拆分或合并"},
	"none":       {"no connection was seen at both points", "没有两处都看到的连接"},
}

func word(key, lang string) string {
	if lang == "zh" {
		return words[key][1]
	}
	return words[key][0]
}

// WriteText writes the report as text in lang (en or zh): the clock,
// then each connection (all, or only id when id > 0) with what the path
// changed and a ladder of its segments, the client's side on the left.
func (r *Report) WriteText(w io.Writer, lang string, id int) error {
	b := bufio.NewWriter(w)
	f := func(key string, a ...any) { fmt.Fprintf(b, word(key, lang)+"\n", a...) }
	f("point", "A", r.A.Name, r.A.Segments)
	f("point", "B", r.B.Name, r.B.Segments)
	for _, s := range r.Warnings {
		f("warn", s)
	}
	switch c := r.Clock; {
	case c.Known:
		fmt.Fprintf(b, word("clock", lang), signed(c.Offset), dur(c.Spread), c.Samples)
	case c.Applied:
		fmt.Fprintf(b, word("clock1", lang), signed(c.Offset))
	default:
		fmt.Fprint(b, word("noclock", lang))
	}
	switch {
	case r.Clock.Applied:
		f("applied")
	case r.Clock.Samples > 0:
		f("agree")
	default:
		fmt.Fprintln(b)
	}
	if len(r.Connections) == 0 {
		f("none")
	}
	for i := range r.Connections {
		if c := &r.Connections[i]; id <= 0 || c.ID == id {
			fmt.Fprintln(b)
			c.write(b, lang)
		}
	}
	if id <= 0 {
		for _, o := range []struct {
			p     string
			conns []string
		}{{"A", r.OnlyA}, {"B", r.OnlyB}} {
			if len(o.conns) > 0 {
				fmt.Fprintln(b)
				f("only", o.p, strings.Join(o.conns, ", "))
			}
		}
	}
	return b.Flush()
}

func (c *Conn) write(b *bufio.Writer, lang string) {
	f := func(key string, a ...any) { fmt.Fprintf(b, word(key, lang)+"\n", a...) }
	left, right := "A", "B"
	lt, rt := c.A, c.B
	if c.ClientSide == "B" {
		left, right, lt, rt = "B", "A", c.B, c.A
	}
	f("conn", c.ID, lt.Client, lt.Server)
	f("side", left, word("client", lang), lt.Client, lt.Server)
	f("side", right, word("server", lang), rt.Client, rt.Server)
	f("matched", strings.Join(c.MatchedBy, ", "))
	if len(c.Changes) == 0 {
		f("unchanged")
	} else {
		var cs []string
		for _, ch := range c.Changes {
			cs = append(cs, ch.text(lang))
		}
		f("changed", strings.Join(cs, "; "))
	}
	for _, d := range []string{"c2s", "s2c"} {
		if x, ok := c.Delay[d]; ok {
			f("delay", word(d, lang), x.N, ms(x.Min), ms(x.Median), ms(x.P90), ms(x.Max))
		}
	}
	if n := c.Counts[Lost]; n > 0 {
		f("lostsum", n)
	} else {
		f("nolost")
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b, strings.TrimRight(fmt.Sprintf(word("head", lang), left, "", right, ""), " "))
	for _, s := range c.Segments {
		lf, rf := s.FrameA, s.FrameB
		if c.ClientSide == "B" {
			lf, rf = rf, lf
		}
		t := "0"
		if s.T != 0 {
			t = explain.Dur(time.Duration(s.T * 1e9))
		}
		note := ""
		switch s.Status {
		case Both:
			note = ms(s.Delay)
		case Lost:
			from, to := left, right
			if s.Dir == "s2c" {
				from, to = to, from
			}
			note = fmt.Sprintf(word("n-lost", lang), from, to)
		case Unobserved:
			note = fmt.Sprintf(word("n-unobs", lang), receiver(s, left, right))
		case FarOnly:
			note = fmt.Sprintf(word("n-far", lang), receiver(s, left, right))
		case Resegmented:
			note = word("n-reseg", lang)
		}
		if s.Retransmits > 0 {
			sender := left
			if s.Dir == "s2c" {
				sender = right
			}
			note += "  " + fmt.Sprintf(word("n-rexmit", lang), sender, s.Retransmits)
			switch s.OriginalStatus {
			case Lost:
				note += word("n-wasLost", lang)
			case Unobserved:
				note += fmt.Sprintf(word("n-wasUnobs", lang), receiver(s, left, right))
			case Both:
				if s.AckLost > 0 {
					note += fmt.Sprintf(word("n-ackLost", lang), receiver(s, left, right), s.AckLost)
				} else {
					note += fmt.Sprintf(word("n-beyond", lang), receiver(s, left, right))
				}
			}
		}
		fmt.Fprintf(b, "%s\n", strings.TrimRight(fmt.Sprintf("   %-10s %-6s %s %-6s %s", t, frame(lf), arrow(&s), frame(rf), note), " "))
	}
	fmt.Fprintln(b)
	f("legend")
}

// receiver is the point on the receiver's side of the segment: the
// server's (right) for what the client sends.
func receiver(s Seg, left, right string) string {
	if s.Dir == "c2s" {
		return right
	}
	return left
}

func frame(n int) string {
	if n == 0 {
		return ""
	}
	return "#" + strconv.Itoa(n)
}

// arrow draws the segment between the two columns, 36 runes wide.
func arrow(s *Seg) string {
	label := s.Flags + " " + strconv.FormatUint(uint64(s.Seq), 10)
	if s.Len > 0 {
		label += ":" + strconv.FormatUint(uint64(s.Seq)+uint64(s.Len), 10) + "(" + strconv.Itoa(s.Len) + ")"
	}
	if strings.Contains(s.Flags, ".") {
		label += " ack " + strconv.FormatUint(uint64(s.Ack), 10)
	}
	const inner = 34
	fill := max(1, inner-utf8.RuneCountInString(label)-4)
	var body string
	right := s.Dir == "c2s"
	mark := map[string]string{Lost: "✕", Unobserved: "?", Resegmented: "~"}[s.Status]
	switch {
	case s.Status == FarOnly && right:
		body = strings.Repeat(" ", fill/2) + "?- " + label + " " + strings.Repeat("-", fill-fill/2-1) + ">"
	case s.Status == FarOnly:
		body = "<" + strings.Repeat("-", fill-fill/2-1) + " " + label + " -?" + strings.Repeat(" ", fill/2)
	case right && (s.Status == Lost || s.Status == Unobserved):
		body = "-- " + label + " " + strings.Repeat("-", fill/2) + mark + strings.Repeat(" ", fill-fill/2-1) + " "
	case s.Status == Lost || s.Status == Unobserved:
		body = " " + strings.Repeat(" ", fill-fill/2-1) + mark + strings.Repeat("-", fill/2) + " " + label + " --"
	case right:
		body = "-- " + label + " " + strings.Repeat("-", fill) + ">"
		if mark != "" {
			body = "-- " + label + " " + strings.Repeat("-", fill-1) + mark + ">"
		}
	default:
		body = "<" + strings.Repeat("-", fill) + " " + label + " --"
		if mark != "" {
			body = "<" + mark + strings.Repeat("-", fill-1) + " " + label + " --"
		}
	}
	return "|" + body + "|"
}

func ms(v float64) string { return explain.Dur(time.Duration(v * 1e6)) }

func dur(s float64) string { return explain.Dur(time.Duration(s * 1e9)) }

// signed formats an offset to the microsecond, with its sign.
func signed(s float64) string {
	d := time.Duration(math.Round(s*1e6)) * time.Microsecond
	if d >= 0 {
		return "+" + explain.Dur(d)
	}
	return explain.Dur(d)
}

// text says what a change is, in lang.
func (ch Change) text(lang string) string {
	dir := ""
	if ch.Dir != "" {
		dir = " (" + word(ch.Dir, lang) + ")"
	}
	zh := lang == "zh"
	pick := func(en, z string) string {
		if zh {
			return z
		}
		return en
	}
	switch ch.What {
	case "client":
		return pick("client ", "客户端 ") + ch.From + " -> " + ch.To
	case "server":
		return pick("server ", "服务器 ") + ch.From + " -> " + ch.To
	case "isn":
		return pick("sequence numbers shifted by ", "序号偏移 ") + ch.To + dir
	case "mss":
		return "MSS " + ch.From + " -> " + ch.To + dir
	case "ttl":
		return "TTL " + ch.From + " -> " + ch.To + dir
	case "dscp":
		return "DSCP " + ch.From + " -> " + ch.To + dir
	case "ecn":
		return "ECN " + ch.From + " -> " + ch.To + dir
	case "resegmented":
		return fmt.Sprintf(pick("%d segments split or coalesced", "%d 个报文段被拆分或合并"), ch.N) + dir
	}
	opt := strings.TrimSuffix(ch.What, "-removed")
	return pick("option "+opt+" removed", "选项 "+opt+" 被去掉") + dir
}
