package screen

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"synfin/lab/kernel"
	"synfin/watch"
	"synfin/watch/finding"
	"synfin/watch/procfs"
)

// Home clears the terminal and puts the cursor at the top left.
const Home = "\x1b[H\x1b[2J"

// Draw writes one screen for s in lang, each line cut at width columns
// (0: not cut).
func Draw(w io.Writer, s *watch.Snapshot, lang string, width int) error {
	var b strings.Builder
	line := func(format string, a ...any) {
		l := fmt.Sprintf(format, a...)
		if r := []rune(l); width > 0 && len(r) > width {
			l = string(r[:width])
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	p := func(key string, kv ...string) string {
		t := finding.Phrase(key, lang)
		for i := 0; i+1 < len(kv); i += 2 {
			t = strings.ReplaceAll(t, "{"+kv[i]+"}", kv[i+1])
		}
		return t
	}
	line("synfin watch  %s  %s", s.Time.Format("15:04:05"), p("s.source", "source", s.Source))
	line("")
	line("%s", p("s.findings"))
	if len(s.Findings) == 0 {
		line("  %s", p("s.none"))
	}
	for _, f := range s.Findings {
		line("  [%s] %s", f.Kind, f.Text(lang))
	}
	line("")
	line("%s", p("s.states"))
	var parts []string
	for _, st := range []kernel.State{kernel.Established, kernel.SynSent, kernel.SynRecv, kernel.FinWait1, kernel.FinWait2,
		kernel.CloseWait, kernel.Closing, kernel.LastAck, kernel.TimeWait, kernel.Listen, kernel.Close} {
		n := s.States[st]
		if st == kernel.SynRecv {
			n += s.States[kernel.NewSynRecv]
		}
		parts = append(parts, fmt.Sprintf("%s %d", st.RFC(), n))
	}
	line("  %s", strings.Join(parts[:6], "  "))
	line("  %s", strings.Join(parts[6:], "  "))
	line("")
	line("%s", p("s.closewait"))
	if len(s.CloseWait) == 0 {
		line("  %s", p("s.nothing"))
	}
	for _, a := range s.CloseWait {
		age := finding.Age(a.Age, lang)
		if a.AtLeast {
			age = p("s.atleast", "age", age)
		}
		line("  %-12s %-22s %-22s %s", age, a.Local, a.Remote, owner(a.Pid, a.Comm))
	}
	line("")
	line("%s", p("s.listeners", "somaxconn", strconv.Itoa(s.Somaxconn)))
	if len(s.Listeners) == 0 {
		line("  %s", p("s.nothing"))
	}
	for _, l := range s.Listeners {
		fill := ""
		if l.Backlog > 0 {
			n := min(int(l.Queue)*20/int(l.Backlog), 20)
			fill = "[" + strings.Repeat("#", n) + strings.Repeat(".", 20-n) + "]"
		}
		line("  %-22s %5d / %-5d %s SYN-RECEIVED %d  %s", l.Addr, l.Queue, l.Backlog, fill, l.SynRecv, owner(l.Pid, l.Comm))
	}
	line("")
	lo, hi := s.PortRange[0], s.PortRange[1]
	line("%s", p("s.timewait", "lo", strconv.Itoa(lo), "hi", strconv.Itoa(hi)))
	if len(s.TimeWait) == 0 {
		line("  %s", p("s.nothing"))
	}
	for _, e := range s.TimeWait {
		share := 0.0
		if hi >= lo && lo > 0 {
			share = 100 * float64(e.Count) / float64(hi-lo+1)
		}
		line("  %-40s %s", e.Addr, p("s.sockets", "count", strconv.Itoa(e.Count), "share", strconv.FormatFloat(share, 'f', 1, 64)))
	}
	line("")
	line("%s", p("s.resets"))
	if len(s.Resets) == 0 {
		line("  %s", p("s.nothing"))
	}
	for i := len(s.Resets) - 1; i >= 0; i-- {
		r := s.Resets[i]
		line("  %s %s > %s  %s -> %s  %s", r.Time.Format("15:04:05.000"), r.Local, r.Remote, r.From.RFC(), r.To.RFC(), owner(r.Pid, r.Comm))
	}
	line("")
	line("%s", p("s.counters"))
	parts = parts[:0]
	for _, n := range procfs.Watched {
		if v := s.Counters[n]; v > 0 || n == "TcpExtListenOverflows" || n == "TcpOutRsts" {
			parts = append(parts, fmt.Sprintf("%s %d (+%d)", strings.TrimPrefix(strings.TrimPrefix(n, "TcpExt"), "Tcp"), v, s.Delta[n]))
		}
	}
	for len(parts) > 0 {
		n := min(len(parts), 3)
		line("  %s", strings.Join(parts[:n], "  "))
		parts = parts[n:]
	}
	line("")
	line("%s", p("s.lost", "seen", strconv.FormatUint(s.Seen, 10), "lost", strconv.FormatUint(s.Lost, 10), "untracked", strconv.FormatUint(s.Untracked, 10)))
	_, err := io.WriteString(w, b.String())
	return err
}

func owner(pid int, comm string) string {
	if pid == 0 {
		return ""
	}
	return comm + " (" + strconv.Itoa(pid) + ")"
}
