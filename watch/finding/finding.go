package finding

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind names a finding, as --json and the metrics spell it.
type Kind string

// The kinds.
const (
	CloseWaitLeak   Kind = "close-wait-leak"
	AcceptQueueFull Kind = "accept-queue-full"
	TimeWaitPileup  Kind = "time-wait-pileup"
	SynFlood        Kind = "syn-flood"
	ResetStorm      Kind = "reset-storm"
)

// Kinds lists every kind in the order findings are shown.
var Kinds = []Kind{CloseWaitLeak, AcceptQueueFull, TimeWaitPileup, SynFlood, ResetStorm}

// Finding is one problem. Which fields are set depends on Kind; Fields
// lists them.
type Finding struct {
	Kind Kind
	// close-wait-leak: the process (Pid 0 when no process could be seen
	// holding them), how many sockets, the oldest one's age.
	Pid    int
	Comm   string
	Count  int // also time-wait-pileup's sockets
	Oldest time.Duration
	// AtLeast: the oldest was there before watch saw it, so Oldest is
	// a lower bound.
	AtLeast bool
	// accept-queue-full: the listener, its queue and backlog, and how
	// much ListenOverflows rose since watch started.
	Laddr     netip.Addr
	Lport     uint16
	Queue     uint32
	Backlog   uint32
	Overflows uint64
	Somaxconn int
	// time-wait-pileup: the remote endpoint, the port range and
	// tcp_tw_reuse.
	Raddr     netip.Addr
	Rport     uint16
	PortRange [2]int
	TwReuse   int
	// syn-flood: half-open handshakes, SYN cookies sent in the interval.
	SynRecv     int
	CookiesSent uint64
	// reset-storm: resets sent and established connections reset, a
	// second, over the interval.
	SentPerSec, ResetPerSec float64
	Interval                time.Duration
}

// Share is the part of the ephemeral port range a time-wait-pileup's
// sockets use, 0 to 1.
func (f Finding) Share() float64 {
	n := f.PortRange[1] - f.PortRange[0] + 1
	if n <= 0 {
		return 0
	}
	return float64(f.Count) / float64(n)
}

// Field is a name and a value (a string or a number) of a finding, as
// --json writes it.
type Field struct {
	Name  string
	Value any
}

// Fields returns the fields that identify the finding, in order.
func (f Finding) Fields() []Field {
	switch f.Kind {
	case CloseWaitLeak:
		return []Field{{"pid", f.Pid}, {"comm", f.Comm}, {"count", f.Count}, {"oldest_s", secs(f.Oldest)}, {"oldest_at_least", f.AtLeast}}
	case AcceptQueueFull:
		return []Field{{"laddr", f.Laddr.String()}, {"lport", f.Lport}, {"queue", f.Queue}, {"backlog", f.Backlog}, {"overflows", f.Overflows}, {"somaxconn", f.Somaxconn}}
	case TimeWaitPileup:
		return []Field{{"raddr", f.Raddr.String()}, {"rport", f.Rport}, {"count", f.Count}, {"share", round(f.Share(), 4)},
			{"port_range", fmt.Sprintf("%d-%d", f.PortRange[0], f.PortRange[1])}, {"tcp_tw_reuse", f.TwReuse}}
	case SynFlood:
		return []Field{{"lport", f.Lport}, {"syn_recv", f.SynRecv}, {"cookies_sent", f.CookiesSent}}
	case ResetStorm:
		return []Field{{"sent_per_s", round(f.SentPerSec, 1)}, {"reset_per_s", round(f.ResetPerSec, 1)}, {"interval_s", secs(f.Interval)}}
	}
	return nil
}

func secs(d time.Duration) float64 { return round(d.Seconds(), 3) }

func round(f float64, prec int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', prec, 64), 64)
	return v
}

// Thresholds decide when a finding is raised.
type Thresholds struct {
	CloseWaitAge time.Duration // a CLOSE-WAIT socket older than this leaks (default 30 s)
	SynRecv      int           // half-open handshakes on one listener (default 256)
	Cookies      uint64        // SYN cookies sent in an interval (default 100)
	ResetsPerSec float64       // resets sent plus connections reset, a second (default 100)
}

// Defaults fills the zero thresholds with the defaults.
func (t Thresholds) Defaults() Thresholds {
	if t.CloseWaitAge == 0 {
		t.CloseWaitAge = 30 * time.Second
	}
	if t.SynRecv == 0 {
		t.SynRecv = 256
	}
	if t.Cookies == 0 {
		t.Cookies = 100
	}
	if t.ResetsPerSec == 0 {
		t.ResetsPerSec = 100
	}
	return t
}

// Holder is a process and its CLOSE-WAIT sockets older than the
// threshold.
type Holder struct {
	Pid     int
	Comm    string
	Count   int
	Oldest  time.Duration
	AtLeast bool
}

// Listener is a listening socket.
type Listener struct {
	Addr           netip.AddrPort
	Queue, Backlog uint32
	SynRecv        int
}

// Endpoint is a remote endpoint and the TIME-WAIT sockets toward it.
type Endpoint struct {
	Addr  netip.AddrPort
	Count int
}

// Input is what one interval measured.
type Input struct {
	Interval  time.Duration
	Holders   []Holder
	Listeners []Listener
	TimeWait  []Endpoint
	// Delta is how much each kernel counter rose over the interval,
	// SinceStart since watch started.
	Delta, SinceStart map[string]uint64
	Somaxconn         int
	PortRange         [2]int
	TwReuse           int
}

// Detect returns the findings, in the order of Kinds, then by weight.
func Detect(in Input, th Thresholds) []Finding {
	th = th.Defaults()
	var out []Finding
	for _, h := range in.Holders {
		out = append(out, Finding{Kind: CloseWaitLeak, Pid: h.Pid, Comm: h.Comm, Count: h.Count, Oldest: h.Oldest, AtLeast: h.AtLeast})
	}
	// A queue at its backlog refuses nothing by itself; the kernel counts
	// each handshake it drops for it in ListenOverflows (one counter for
	// the namespace).
	if over := in.SinceStart["TcpExtListenOverflows"]; over > 0 {
		for _, l := range in.Listeners {
			if l.Backlog > 0 && l.Queue >= l.Backlog {
				out = append(out, Finding{Kind: AcceptQueueFull, Laddr: l.Addr.Addr(), Lport: l.Addr.Port(),
					Queue: l.Queue, Backlog: l.Backlog, Overflows: over, Somaxconn: in.Somaxconn})
			}
		}
	}
	if n := in.PortRange[1] - in.PortRange[0] + 1; n > 0 {
		for _, e := range in.TimeWait {
			if e.Count*4 > n {
				out = append(out, Finding{Kind: TimeWaitPileup, Raddr: e.Addr.Addr(), Rport: e.Addr.Port(), Count: e.Count,
					PortRange: in.PortRange, TwReuse: in.TwReuse})
			}
		}
	}
	cookies := in.Delta["TcpExtSyncookiesSent"]
	flooded := false
	for _, l := range in.Listeners {
		if l.SynRecv >= th.SynRecv {
			out = append(out, Finding{Kind: SynFlood, Lport: l.Addr.Port(), SynRecv: l.SynRecv, CookiesSent: cookies})
			flooded = true
		}
	}
	if !flooded && cookies >= th.Cookies {
		out = append(out, Finding{Kind: SynFlood, CookiesSent: cookies})
	}
	if s := in.Interval.Seconds(); s > 0 {
		sent, reset := float64(in.Delta["TcpOutRsts"])/s, float64(in.Delta["TcpEstabResets"])/s
		if sent+reset >= th.ResetsPerSec {
			out = append(out, Finding{Kind: ResetStorm, SentPerSec: sent, ResetPerSec: reset, Interval: in.Interval})
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		return slices.Index(Kinds, a.Kind) - slices.Index(Kinds, b.Kind)
	})
	return out
}

// Age formats an age as the sentences say it in lang: "45 s", "3 min",
// "2.5 h"; in Chinese "45 秒", "3 分钟", "2.5 小时".
func Age(d time.Duration, lang string) string {
	unit := func(en, zh string) string {
		if lang == "zh" {
			return " " + zh
		}
		return " " + en
	}
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + unit("s", "秒")
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + unit("min", "分钟")
	}
	return strconv.FormatFloat(d.Hours(), 'f', 1, 64) + unit("h", "小时")
}

// Text explains the finding in lang ("en" or "zh").
func (f Finding) Text(lang string) string {
	a := map[string]string{}
	for _, fl := range f.Fields() {
		a[fl.Name] = fmt.Sprint(fl.Value)
	}
	key := string(f.Kind)
	switch f.Kind {
	case CloseWaitLeak:
		a["oldest"] = Age(f.Oldest, lang)
		if f.AtLeast {
			a["oldest"] = say("s.atleast", lang, map[string]string{"age": a["oldest"]})
		}
		if f.Pid == 0 {
			key += ".unowned"
		}
	case AcceptQueueFull:
		a["somaxconn"] = strconv.Itoa(f.Somaxconn)
	case TimeWaitPileup:
		a["share"] = strconv.FormatFloat(100*f.Share(), 'f', 0, 64)
		a["lo"], a["hi"] = strconv.Itoa(f.PortRange[0]), strconv.Itoa(f.PortRange[1])
		a["advice"] = say("tw_reuse."+strconv.Itoa(min(max(f.TwReuse, 0), 2)), lang, nil)
	case SynFlood:
		if f.Lport == 0 {
			key += ".cookies"
		}
	case ResetStorm:
		a["sent"] = strconv.FormatFloat(f.SentPerSec, 'f', 0, 64)
		a["reset"] = strconv.FormatFloat(f.ResetPerSec, 'f', 0, 64)
		a["interval"] = Age(f.Interval, lang)
	}
	return say(key, lang, a)
}

// Phrase returns a fixed phrase of the catalogue (a heading of the
// screen) in lang.
func Phrase(key, lang string) string { return say(key, lang, nil) }

func say(key, lang string, args map[string]string) string {
	e, ok := catalogue[key]
	if !ok {
		return key
	}
	t := e.en
	if lang == "zh" {
		t = e.zh
	}
	if len(args) == 0 {
		return t
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		j := strings.IndexByte(t[i+1:], '}')
		if i < 0 || j < 0 {
			b.WriteString(t)
			return b.String()
		}
		b.WriteString(t[:i])
		b.WriteString(args[t[i+1:i+1+j]])
		t = t[i+2+j:]
	}
}
