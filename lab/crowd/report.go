package crowd

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"synfin/lab"
	"synfin/lab/kernel"
	"synfin/lab/verdict"
	"synfin/render/explain"
	"synfin/render/tcpdump"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// Report sets what the packets show of a run beside the kernel's view.
type Report struct {
	Scenario  string `json:"scenario"`
	Namespace string `json:"namespace"`
	Server    string `json:"server"`
	// Tcpdump holds the first segments as tcpdump -n -S prints them;
	// Segments counts them all.
	Tcpdump  []string `json:"tcpdump"`
	Segments int      `json:"segments"`
	Packets  Packets  `json:"packets"`
	// States are the sockets at rest by role and state: inferred from
	// the packets, and as sock_diag shows them (what ss -tan shows).
	States   []StateCount `json:"states"`
	Listener *Listener    `json:"listener,omitempty"`
	// Transitions count the tracepoint's state changes, RFC 9293 names.
	Transitions []Transition `json:"transitions"`
	// Counters are the kernel's counters that rose during the run
	// (/proc/net/netstat and snmp, nstat's names).
	Counters Counters `json:"counters"`
	// Findings are what Options.Observe returned: watch's findings.
	Findings []string `json:"findings,omitempty"`
	Log      []string `json:"log"`
}

// Packets is what the capture shows of the handshakes.
type Packets struct {
	Connections int `json:"connections"`
	Completed   int `json:"handshakes_completed"`
	// NoSYNACK are the connections whose SYNs got no SYN-ACK; DroppedSYNs
	// counts those SYNs, retransmissions included.
	NoSYNACK    int `json:"syn_unanswered"`
	DroppedSYNs int `json:"syns_unanswered"`
	// HalfOpen are the connections answered with a SYN-ACK and never
	// acknowledged; SYNACKRetransmitted, those whose SYN-ACK was sent
	// again (a server keeps no request to retransmit from for a cookie).
	HalfOpen            int `json:"half_open"`
	SYNACKRetransmitted int `json:"synack_retransmitted"`
	// LostFinalACK: the SYN-ACK came again after the client's ACK, so
	// the server did not take that ACK (a full accept queue drops it).
	LostFinalACK int `json:"final_ack_not_taken"`
}

// StateCount is the number of sockets of one role in one state.
type StateCount struct {
	Role    string `json:"role"` // client, server, listener
	State   string `json:"state"`
	Packets int    `json:"packets"`
	Kernel  int    `json:"kernel"`
}

// Listener is the listening socket at rest.
type Listener struct {
	Queue   uint32 `json:"queue"`
	Backlog uint32 `json:"backlog"`
}

// Transition counts one kind of state change.
type Transition struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Count int    `json:"count"`
}

// shown is how many segments a report prints.
const shown = 40

// Analyze tracks the run's frames and sets them beside the kernel's view.
func Analyze(res *Result) Report {
	rep := Report{Scenario: res.Scenario, Namespace: res.Namespace, Server: res.Server.String(),
		Segments: len(res.Frames), Counters: res.After.Since(res.Before), Findings: res.Findings, Log: res.Log}
	pr := tcpdump.New(tcpdump.Options{Numeric: true, Absolute: true})
	var p wire.Packet
	for i := range res.Frames[:min(shown, len(res.Frames))] {
		f := &res.Frames[i]
		if p.Decode(f.Link, f.Data) == nil {
			rep.Tcpdump = append(rep.Tcpdump, strings.TrimSuffix(string(pr.Append(nil, f, &p)), "\n"))
		}
	}
	count := map[[2]string][2]int{}
	add := func(role, state string, i int) {
		if state == "CLOSED" || state == "UNKNOWN" {
			return // no socket: gone, or never made
		}
		c := count[[2]string{role, state}]
		c[i]++
		count[[2]string{role, state}] = c
	}
	t := track.New(track.Config{IdleTimeout: -1, Done: func(c *tcpstate.Conn) {
		rep.Packets.add(c)
		add(string(lab.Client), c.Client.State.String(), 0)
		add(string(lab.Server), c.Server.State.String(), 0)
	}})
	for i := range res.Frames {
		t.Frame(&res.Frames[i])
	}
	t.Flush()
	for _, s := range res.Sockets {
		role := lab.Client
		switch {
		case s.State == kernel.Listen:
			role = lab.Listener
			rep.Listener = &Listener{Queue: s.RecvQ, Backlog: s.SendQ}
		case s.Local == res.Server:
			role = lab.Server
		}
		add(string(role), s.State.RFC(), 1)
	}
	if rep.Listener != nil {
		add(string(lab.Listener), "LISTEN", 0) // the packets imply it: something answered
	}
	for _, k := range slices.SortedFunc(maps.Keys(count), func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(roleOrder(a[0]), roleOrder(b[0])), cmp.Compare(a[1], b[1]))
	}) {
		rep.States = append(rep.States, StateCount{Role: k[0], State: k[1], Packets: count[k][0], Kernel: count[k][1]})
	}
	trans := map[[2]string]int{}
	for _, e := range res.Events {
		trans[[2]string{e.Old.RFC(), e.New.RFC()}]++
	}
	for k, n := range trans {
		rep.Transitions = append(rep.Transitions, Transition{From: k[0], To: k[1], Count: n})
	}
	slices.SortFunc(rep.Transitions, func(a, b Transition) int {
		return cmp.Or(b.Count-a.Count, cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	return rep
}

func roleOrder(r string) int {
	return slices.Index([]string{string(lab.Listener), string(lab.Client), string(lab.Server)}, r)
}

// add counts one connection's handshake.
func (p *Packets) add(c *tcpstate.Conn) {
	h := &c.Handshake
	p.Connections++
	switch {
	case h.Complete:
		p.Completed++
	case !h.SYNACK.Seen() && h.SYN.Seen():
		p.NoSYNACK++
		p.DroppedSYNs += 1 + len(h.SYNRetransmits)
	case h.SYNACK.Seen() && !h.ACK.Seen():
		p.HalfOpen++
	}
	if len(h.SYNACKRetransmits) > 0 {
		p.SYNACKRetransmitted++
		if h.ACK.Seen() && h.SYNACKRetransmits[len(h.SYNACKRetransmits)-1].Seg > h.ACK.Seg {
			p.LostFinalACK++
		}
	}
}

// The report's headings.
var (
	headPackets     = tx("handshakes, from the packets", "握手，据报文")
	headStates      = tx("sockets at the end: the packets' states beside the kernel's (sock_diag, what ss -tan shows)", "结束时的套接字：报文推断的状态与内核的状态（sock_diag，即 ss -tan 所示）并列")
	headTransitions = tx("the kernel's state changes (tracepoint sock/inet_sock_set_state)", "内核的状态变化（tracepoint sock/inet_sock_set_state）")
	headCounters    = tx("the kernel's counters that rose (/proc/net/netstat and snmp, as nstat names them)", "上升的内核计数器（/proc/net/netstat 与 snmp，按 nstat 的名称）")
	headFindings    = tx("findings (synfin watch)", "发现（synfin watch）")
	noteDiffer      = tx("≠: the packets imply sockets the kernel does not hold, or the other way round: a source that never answers has no socket, a SYN answered with a cookie leaves none, a SYN dropped leaves the server's end unmade, and a final ACK the kernel did not take leaves it in SYN-RECEIVED.",
		"≠：报文推断出的套接字与内核持有的不一致：从不应答的源地址没有套接字，用 cookie 应答的 SYN 不留下任何状态，被丢弃的 SYN 没有在服务器端建立任何东西，内核没有接收的最后一个 ACK 让服务器端停在 SYN-RECEIVED。")
	headMore = tx("more segments: -w FILE keeps them all", "个报文段未列出：-w FILE 可保存全部")
)

// Print writes the report as one JSON object, or as text in lang ("en"
// or "zh") under the scenario's heading, as lab's other scenarios are.
func (r Report) Print(w io.Writer, sc *Scenario, lang string, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n%s\n%s\n\n", lab.HeadScenario.In(lang), sc.Name, sc.Summary.In(lang), lab.HeadStack(false).In(lang))
	fmt.Fprintf(&b, "%s\n\n%s (%s)\n", verdict.Wrap(sc.Description.In(lang), 80), lab.HeadLog.In(lang), r.Namespace)
	for _, l := range r.Log {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	fmt.Fprintf(&b, "\n%s (tcpdump -i lo -n -S port %s)\n", lab.HeadSegments.In(lang), r.Server[strings.LastIndexByte(r.Server, ':')+1:])
	for _, l := range r.Tcpdump {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	if more := r.Segments - len(r.Tcpdump); more > 0 {
		fmt.Fprintf(&b, "  … %d %s\n", more, headMore.In(lang))
	}
	p := r.Packets
	fmt.Fprintf(&b, "\n%s\n", headPackets.In(lang))
	for _, l := range [][2]any{
		{tx("connections", "连接"), p.Connections},
		{tx("handshakes completed", "完成的握手"), p.Completed},
		{tx("SYNs never answered (connections)", "从未得到应答的 SYN（连接数）"), p.NoSYNACK},
		{tx("SYNs never answered (segments)", "从未得到应答的 SYN（报文段数）"), p.DroppedSYNs},
		{tx("half-open: SYN-ACK never acknowledged", "半开：SYN-ACK 从未被确认"), p.HalfOpen},
		{tx("SYN-ACK retransmitted", "SYN-ACK 被重传"), p.SYNACKRetransmitted},
		{tx("SYN-ACK again after the client's ACK: the ACK not taken", "客户端 ACK 之后 SYN-ACK 再次到来：ACK 未被接收"), p.LostFinalACK},
	} {
		t := l[0].(lab.Text).In(lang)
		fmt.Fprintf(&b, "  %s%s %d\n", t, strings.Repeat(" ", max(0, 58-explain.Width(t))), l[1])
	}
	fmt.Fprintf(&b, "\n%s\n  %-9s %-13s %7s %7s\n", headStates.In(lang), "", "", "packets", "kernel")
	for _, s := range r.States {
		mark := "✓"
		if s.Packets != s.Kernel {
			mark = "≠"
		}
		fmt.Fprintf(&b, "  %-9s %-13s %7d %7d  %s\n", s.Role, s.State, s.Packets, s.Kernel, mark)
	}
	if r.Listener != nil {
		fmt.Fprintf(&b, "  listener: accept queue %d, backlog %d\n", r.Listener.Queue, r.Listener.Backlog)
	}
	if slices.ContainsFunc(r.States, func(s StateCount) bool { return s.Packets != s.Kernel }) {
		fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(verdict.Wrap(noteDiffer.In(lang), 76), "\n", "\n  "))
	}
	fmt.Fprintf(&b, "\n%s\n", headTransitions.In(lang))
	for _, t := range r.Transitions {
		fmt.Fprintf(&b, "  %-13s → %-13s %6d\n", t.From, t.To, t.Count)
	}
	fmt.Fprintf(&b, "\n%s\n", headCounters.In(lang))
	for _, k := range slices.Sorted(maps.Keys(r.Counters)) {
		if strings.HasPrefix(k, "TcpExt") || strings.HasPrefix(k, "Tcp") && !strings.Contains(k, "Segs") {
			fmt.Fprintf(&b, "  %-32s %6d\n", k, r.Counters[k])
		}
	}
	if len(r.Findings) > 0 {
		fmt.Fprintf(&b, "\n%s\n", headFindings.In(lang))
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "  %s\n", f)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
