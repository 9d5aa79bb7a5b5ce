package verdict

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"synfin/lab"
	"synfin/render/explain"
)

// The table's texts.
var (
	textPackets       = lab.Text{En: "packets", Zh: "报文推断"}
	textAgree         = lab.Text{En: "agree", Zh: "一致"}
	textDiffer        = lab.Text{En: "DIFFER", Zh: "不一致"}
	textUnsampled     = lab.Text{En: "not sampled", Zh: "未采样到"}
	textNoTransitions = lab.Text{En: "no transitions", Zh: "没有状态变化"}
	textNoSocket      = lab.Text{En: "no socket", Zh: "没有套接字"}
	textBefore        = lab.Text{En: "before the capture", Zh: "抓包开始之前"}
	textTimeWait      = lab.Text{En: "TIME-WAIT held by", Zh: "TIME-WAIT 的持有方"}
	textPattern       = lab.Text{En: "teardown pattern", Zh: "挥手模式"}
	textExpected      = lab.Text{En: "expected", Zh: "预期"}
	textVerdict       = lab.Text{En: "verdict", Zh: "结论"}
	textRows          = lab.Text{En: "rows agree", Zh: "行一致"}
	textKernel        = lab.Text{En: "kernel", Zh: "内核"}
	// The punctuation between a label and its value, and between the
	// clauses after it ("packets 1/client, kernel 1/client"): Chinese
	// takes the full-width colon and comma there. Lists of names inside a
	// clause are joined with explain's list separator (、 in Chinese).
	textColon       = lab.Text{En: ": ", Zh: "："}
	textComma       = lab.Text{En: ", ", Zh: "，"}
	textSampledNote = lab.Text{En: "netstack has no hook on state changes: its states are sampled, so a brief one (a passive open's SYN-RECEIVED) may be missing; the listener, not the new endpoint, holds LISTEN",
		Zh: "netstack 没有状态变化的钩子：其状态是采样得到的，短暂的状态（被动打开的 SYN-RECEIVED）可能缺失；LISTEN 属于监听端点，而不是新端点"}
)

// sourceText names the stack in lang: "kernel" is translated, netstack
// is a name.
func sourceText(source, lang string) string {
	if source == "kernel" {
		return textKernel.In(lang)
	}
	return source
}

// roleText is an endpoint's role ("client", "server") in lang.
func roleText(role, lang string) string {
	if role != "client" && role != "server" {
		return role
	}
	return explain.M("w." + role).Text(lang)
}

// holdersText lists TIME-WAIT holders ("1/client") in lang, or "-".
func holdersText(hs []string, lang string) string {
	if len(hs) == 0 || len(hs) == 1 && hs[0] == "" {
		return "-"
	}
	out := make([]string, len(hs))
	for i, h := range hs {
		n, role, ok := strings.Cut(h, "/")
		if ok {
			h = n + "/" + roleText(role, lang)
		}
		out[i] = h
	}
	return listText(out, lang)
}

// listText joins items as lang joins a list.
func listText(items []string, lang string) string {
	return strings.Join(items, explain.M("w.list").Text(lang))
}

// title is the table's title for a stack.
func title(source string) lab.Text {
	if source == "kernel" {
		return lab.Text{En: "states inferred from the packets beside the kernel's",
			Zh: "从报文推断的状态与内核报告的状态对照"}
	}
	return lab.Text{En: "states inferred from the packets beside netstack's (a userspace stack, not the kernel)",
		Zh: "从报文推断的状态与 netstack（用户态协议栈，不是内核）报告的状态对照"}
}

// noSocketText says why an end of a rejected handshake had no socket.
func noSocketText(role lab.Role) lab.Text {
	if role == lab.Server {
		return lab.Text{En: "the kernel kept only a half-open request, not a socket, until the reset removed it; the listener went on listening",
			Zh: "内核只保留了一个半开请求而不是套接字，直到 RST 将其删除；监听套接字继续监听"}
	}
	return lab.Text{En: "the kernel had no socket for this connection: it answered the SYN-ACK with a reset",
		Zh: "内核没有这条连接的套接字：它用 RST 回应了 SYN-ACK"}
}

// Write prints the report as the lab's table, in lang: the inferred
// states beside the stack's, row by row, then TIME-WAIT, the teardown
// patterns and the verdict. A sampling stack's rows are aligned on the
// states both have, and a state missing from its samples is marked as
// such, not as a difference. The first line is the table's title.
func (rep *Report) Write(w io.Writer, lang string) {
	fmt.Fprintf(w, "%s\n", title(rep.Source).In(lang))
	mark := func(ok bool) string {
		if ok {
			return "✓ " + textAgree.In(lang)
		}
		return "✗ " + textDiffer.In(lang)
	}
	// The verdict agrees only if no row printed says otherwise.
	agreeRows, total, unsampled, before, differ := 0, 0, 0, 0, false
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "\n  #%d %s %s\n", r.Conn, roleText(r.Role, lang), r.Addr)
		fmt.Fprintf(w, "    %-4s %s %s\n", "", pad(textPackets.In(lang), 22), sourceText(rep.Source, lang))
		if r.NoSocket {
			for i, s := range r.Inferred {
				b := ""
				if i == 0 {
					b = "(" + textNoSocket.In(lang) + ")"
				}
				fmt.Fprintf(w, "    %-4d %-22s %s ·\n", i+1, s, pad(b, 22))
			}
			fmt.Fprintf(w, "    %-4s %s\n", "", strings.ReplaceAll(Wrap(noSocketText(lab.Role(r.Role)).In(lang), 70), "\n", "\n         "))
			continue
		}
		pairs := rep.pairs(r)
		for i, p := range pairs {
			b, m := p[1], mark(p[0] == p[1])
			switch {
			case p[0] == p[1]:
				agreeRows++
			case i < r.Before:
				p[0], m = "("+textBefore.In(lang)+")", "·"
				before++
				total--
			case rep.Sampled && b == "" && slices.Contains(r.Unsampled, p[0]):
				b, m = "("+textUnsampled.In(lang)+")", "·"
				unsampled++
				total--
			case b == "":
				b = "-"
				differ = true
			default:
				differ = true
			}
			total++
			fmt.Fprintf(w, "    %-4d %s %s %s\n", i+1, pad(orDash([]string{p[0]}), 22), pad(b, 22), m)
		}
		if len(pairs) == 0 {
			fmt.Fprintf(w, "    %-4s %s %s %s\n", "", pad("("+textNoTransitions.In(lang)+")", 22), pad("("+textNoSocket.In(lang)+")", 22), mark(true))
		}
	}
	colon, comma := textColon.In(lang), textComma.In(lang)
	patterns := func(ps []string) string {
		if len(ps) == 0 || len(ps) == 1 && ps[0] == "" {
			return "-"
		}
		return explain.Names("pn", ps, lang)
	}
	fmt.Fprintf(w, "\n  %s%s%s %s%s%s %s  %s\n", textTimeWait.In(lang), colon,
		textPackets.In(lang), holdersText(rep.TimeWaitInferred, lang), comma, sourceText(rep.Source, lang), holdersText(rep.TimeWaitReported, lang), mark(rep.TimeWaitAgree))
	fmt.Fprintf(w, "  %s%s%s%s%s %s  %s\n", textPattern.In(lang), colon,
		explain.Names("pn", rep.Patterns, lang), comma, textExpected.In(lang), patterns(rep.PatternsExpected), mark(rep.PatternsAgree))
	fmt.Fprintf(w, "  %s%s%d/%d %s", textVerdict.In(lang), colon, agreeRows, total, textRows.In(lang))
	if unsampled > 0 {
		fmt.Fprintf(w, "%s%d %s", comma, unsampled, textUnsampled.In(lang))
	}
	if before > 0 {
		fmt.Fprintf(w, "%s%d %s", comma, before, textBefore.In(lang))
	}
	fmt.Fprintf(w, "  %s\n", mark(rep.Agree && !differ))
	if rep.Sampled {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(Wrap(textSampledNote.In(lang), 76), "\n", "\n  "))
	}
}

// pairs sets a row's inferred states beside its reported ones, after
// the reported ones that came before the capture (paired with ""):
// aligned on the states both have for a sampling stack, else position
// by position with "-" where one sequence is shorter.
func (rep *Report) pairs(r Row) [][2]string {
	inferred, reported := r.Inferred, r.Reported
	var pairs [][2]string
	if r.Before > 0 {
		// The stack's first states came before the capture; the rest
		// are set beside the states the packets show.
		for _, s := range reported[:r.Before] {
			pairs = append(pairs, [2]string{"", s})
		}
		inferred, reported = seenStates(inferred), reported[r.Before:]
	}
	if rep.Sampled {
		return append(pairs, align(inferred, reported)...)
	}
	at := func(s []string, i int) string {
		if i < len(s) {
			return s[i]
		}
		return "-"
	}
	for i := range max(len(inferred), len(reported)) {
		pairs = append(pairs, [2]string{at(inferred, i), at(reported, i)})
	}
	return pairs
}

// pad pads s with spaces to n terminal columns; CJK characters take two.
func pad(s string, n int) string {
	if w := explain.Width(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}

// Wrap breaks text into lines of at most width columns, at spaces or
// between wide (Chinese) characters. It is the lab's rule, which breaks
// Chinese lines at other places than render/explain's, so the lab's
// output keeps its lines.
func Wrap(text string, width int) string {
	var b strings.Builder
	col, lastBreak := 0, -1 // lastBreak: index in line
	line := []rune{}
	flush := func(upto int) {
		b.WriteString(strings.TrimRight(string(line[:upto]), " "))
		b.WriteByte('\n')
		line = append([]rune{}, line[upto:]...)
		for len(line) > 0 && line[0] == ' ' {
			line = line[1:]
		}
		col = explain.Width(string(line))
		lastBreak = -1
	}
	for _, r := range text {
		rw := explain.RuneWidth(r)
		if col+rw > width && len(line) > 0 {
			if lastBreak > 0 {
				flush(lastBreak)
			} else {
				flush(len(line))
			}
		}
		if r == ' ' || rw == 2 && !strings.ContainsRune("，。、：；！？）》」』】", r) {
			lastBreak = len(line)
		}
		line = append(line, r)
		col += rw
	}
	b.WriteString(string(line))
	return b.String()
}
