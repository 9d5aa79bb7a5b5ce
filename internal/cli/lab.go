package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"

	"synfin/lab"
	"synfin/render/tcpdump"
	"synfin/tcpstate"
	"synfin/wire"
)

func init() {
	register(&command{name: "lab", summary: "run the handshake/teardown experiment and compare with the kernel's view", run: runLab})
}

const labUsage = `Usage: synfin lab [SCENARIO] [--list] [-w FILE] [--html FILE] [--lang en|zh] [--json]

Runs the experiment of the blog post this tool grew from, and others like
it: in a private network namespace, a server listens on 127.0.0.1:9988
(backlog 10), a client connects and both close, while synfin captures the
loopback interface and the kernel reports each socket's state changes
(tracepoint sock/inet_sock_set_state, and sock_diag for TIME-WAIT). It then
prints the segments as tcpdump would, explains each connection, and sets the
states it inferred from the packets beside the kernel's, row by row.

Faults (a dropped SYN-ACK, a lost last ACK) are nftables rules inside the
namespace. Everything the lab creates is removed on every exit path.

Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW) and tracefs. Without
them the scenario runs on a userspace TCP stack (gVisor's netstack) instead,
clearly labelled: its states are netstack's, not the kernel's.

Options:
  SCENARIO      which experiment (default: seed); see --list
  --list        list the scenarios
  -w FILE       keep the capture as a pcap file
  --json        the analysis and the kernel comparison as one JSON object
  --lang L      language of the text: en or zh
  --html FILE   write the HTML report too
  --port N      server port (default 9988); use different ports for labs
                run at the same time
  --userstack   use the userspace stack even with privileges

Examples:
  sudo synfin lab
  sudo synfin lab last-ack-lost --lang zh
  sudo synfin lab syn-retransmit -w syn.pcap
  synfin lab --list
`

type labOpts struct {
	list, asJSON, userstack bool
	write, html, lang       string
	port                    int
}

func runLab(env *Env, args []string) error {
	var o labOpts
	fs := newFlags("lab", labUsage, env.Stdout)
	fs.Bool(0, "list", &o.list)
	fs.Bool(0, "json", &o.asJSON)
	fs.Bool(0, "userstack", &o.userstack)
	fs.String('w', "", &o.write)
	fs.String(0, "html", &o.html)
	fs.String(0, "lang", &o.lang)
	fs.Int(0, "port", &o.port)
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch o.lang {
	case "":
		o.lang = "en"
	case "en", "zh":
	default:
		return usagef("--lang must be en or zh, not %q", o.lang)
	}
	if o.port < 0 || o.port > 65535 {
		return usagef("--port must be 1-65535")
	}
	if o.list {
		return listScenarios(env, o.lang)
	}
	name := "seed"
	switch a := fs.Args(); len(a) {
	case 0:
	case 1:
		name = a[0]
	default:
		return usagef("one scenario at a time (got %s)", strings.Join(a, " "))
	}
	sc, err := lab.Lookup(name)
	if err != nil {
		return usagef("%v", strings.TrimPrefix(err.Error(), "lab: "))
	}
	for _, p := range []string{o.write, o.html} {
		if err := checkWritable(p); err != nil {
			return err
		}
	}
	if !o.userstack {
		if why := labPrivileges(); why != "" {
			fmt.Fprintf(env.Stderr, "synfin lab: %s; running on a userspace TCP stack instead (sudo for the kernel's view)\n", why)
			o.userstack = true
		}
	}
	if o.userstack {
		return runUserLab(env, sc, o)
	}

	if !o.asJSON {
		fmt.Fprintf(env.Stdout, "%s %s\n%s\n\n", heading(o.lang, "scenario"), sc.Name, text(o.lang, sc.Summary))
	}
	res, err := lab.Run(env.Ctx, sc, lab.Options{Port: uint16(o.port)})
	if err != nil {
		if res == nil || len(res.Frames) == 0 {
			return err
		}
		// Show what was captured before the failure, then the error.
		defer fmt.Fprintf(env.Stderr, "synfin lab: %v\n", oneLine(err.Error()))
	}
	if o.write != "" {
		if werr := writePcap(o.write, res.Link, res.Frames); werr != nil {
			return werr
		}
	}
	conns, terr := labConns(env, res.Frames)
	if terr != nil {
		return terr
	}
	rep := compareKernel(sc, res, conns)
	if o.asJSON {
		return writeLabJSON(env.Stdout, sc, res, conns, rep)
	}
	out := bufio.NewWriter(env.Stdout)
	fmt.Fprintf(out, "%s\n\n", text(o.lang, sc.Description))
	fmt.Fprintf(out, "%s (%s)\n", heading(o.lang, "log"), res.Namespace)
	for _, l := range res.Log {
		fmt.Fprintf(out, "  %s\n", l)
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "%s (tcpdump -i lo -n -S port %d)\n", heading(o.lang, "segments"), res.Server.Port())
	printSegments(out, res.Frames)
	fmt.Fprintln(out)
	for _, c := range conns {
		out.Write(explainText(c, o.lang))
		fmt.Fprintln(out)
	}
	printKernelTable(out, o.lang, "kernel", rep)
	if o.write != "" {
		fmt.Fprintf(out, "\n%s %s\n", heading(o.lang, "written"), o.write)
	}
	if ferr := out.Flush(); ferr != nil {
		return ferr
	}
	if o.html != "" {
		return writeHTMLReport(o.html, conns)
	}
	return nil
}

// labPrivileges says what is missing for the kernel lab, or "".
func labPrivileges() string {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return "cannot read capabilities"
	}
	var missing []string
	for _, c := range []struct {
		n    int
		name string
	}{{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}, {unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}, {unix.CAP_NET_RAW, "CAP_NET_RAW"}} {
		if data[c.n/32].Effective&(1<<(uint(c.n)%32)) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return "no privileges for network namespaces and capture (missing " + strings.Join(missing, ", ") + ")"
	}
	return ""
}

func listScenarios(env *Env, lang string) error {
	w := bufio.NewWriter(env.Stdout)
	for _, sc := range lab.Scenarios() {
		fmt.Fprintf(w, "%-22s %s\n", sc.Name, text(lang, sc.Summary))
	}
	return w.Flush()
}

func text(lang string, t lab.Text) string {
	if lang == "zh" && t.Zh != "" {
		return t.Zh
	}
	return t.En
}

var headings = map[string][2]string{
	"scenario": {"scenario:", "实验："},
	"segments": {"segments", "报文段"},
	"log":      {"server and client, in network namespace", "服务器与客户端，运行于网络命名空间"},
	"kernel":   {"states inferred from the packets beside the kernel's", "从报文推断的状态与内核报告的状态对照"},
	"netstack": {"states inferred from the packets beside netstack's (a userspace stack, not the kernel)", "从报文推断的状态与 netstack（用户态协议栈，不是内核）报告的状态对照"},
	"written":  {"capture written to", "抓包已写入"},
	"agree":    {"agree", "一致"},
	"differ":   {"DIFFER", "不一致"},
	"packets":  {"packets", "报文推断"},
	"tw":       {"TIME-WAIT held by", "TIME-WAIT 的持有方"},
	"pattern":  {"teardown pattern", "挥手模式"},
	"expected": {"expected", "预期"},
	"verdict":  {"verdict", "结论"},
	"rows":     {"rows agree", "行一致"},
}

func heading(lang, key string) string {
	h := headings[key]
	if lang == "zh" {
		return h[1]
	}
	return h[0]
}

// printSegments prints frames as tcpdump -n -S does.
func printSegments(w io.Writer, frames []wire.Frame) {
	pr := tcpdump.New(tcpdump.Options{Numeric: true, Absolute: true})
	var (
		p   wire.Packet
		buf []byte
	)
	for i := range frames {
		f := &frames[i]
		if !printable(p.Decode(f.Link, f.Data), &p) {
			pr.Skip(f)
			continue
		}
		buf = pr.Append(buf[:0], f, &p)
		w.Write([]byte("  "))
		w.Write(buf)
	}
}

// labConns runs the tracker over the lab's frames, keeping segments.
func labConns(env *Env, frames []wire.Frame) ([]*tcpstate.Conn, error) {
	var conns []*tcpstate.Conn
	err := trackSource(env, &frameSlice{frames: frames}, "", tcpstate.Config{
		Segments: true, IdleTimeout: -1,
		Done: func(c *tcpstate.Conn) { conns = append(conns, c.Clone()) },
	})
	slices.SortFunc(conns, func(a, b *tcpstate.Conn) int { return int(a.ID) - int(b.ID) })
	return conns, err
}

// stateRow is one endpoint's inferred and reported state sequences.
type stateRow struct {
	Conn     int      `json:"conn"`
	Role     string   `json:"role"`
	Addr     string   `json:"addr"`
	Inferred []string `json:"inferred"`
	Reported []string `json:"reported"`
	Agree    bool     `json:"agree"`
	// Unseen names a reported transition no segment can show, which
	// explains a difference (a connect timeout sends nothing).
	Unseen string `json:"unseen,omitempty"`
}

// labReport compares what the packets say with what the stack reports.
type labReport struct {
	Source           string     `json:"source"` // "kernel" or "netstack"
	Rows             []stateRow `json:"endpoints"`
	TimeWaitInferred []string   `json:"time_wait_inferred"`
	TimeWaitReported []string   `json:"time_wait_reported"`
	TimeWaitAgree    bool       `json:"time_wait_agree"`
	Patterns         []string   `json:"teardown"`
	PatternsExpected []string   `json:"teardown_expected"`
	PatternsAgree    bool       `json:"teardown_agree"`
	Agree            bool       `json:"agree"`
}

// inferredStates is an endpoint's state sequence as the tracker saw it,
// starting with the state before its first transition.
func inferredStates(e *tcpstate.Endpoint) []string {
	if len(e.Transitions) == 0 {
		return nil
	}
	out := []string{e.Transitions[0].From.String()}
	for _, t := range e.Transitions {
		out = append(out, t.To.String())
	}
	return out
}

// connFor finds the tracked connection of the lab's n-th client: the n-th
// connection whose client address is that client's.
func connFor(conns []*tcpstate.Conn, clients []netip.AddrPort, n int) *tcpstate.Conn {
	if n < 1 || n > len(clients) {
		return nil
	}
	want := clients[n-1]
	seen := 0
	for i := 0; i < n-1; i++ {
		if clients[i] == want {
			seen++
		}
	}
	for _, c := range conns {
		if c.Client.AddrPort() == want {
			if seen == 0 {
				return c
			}
			seen--
		}
	}
	return nil
}

func compareKernel(sc *lab.Scenario, res *lab.Result, conns []*tcpstate.Conn) labReport {
	rep := labReport{Source: "kernel", Agree: true}
	for n := 1; n <= len(res.Clients); n++ {
		c := connFor(conns, res.Clients, n)
		for _, role := range []lab.Role{lab.Client, lab.Server} {
			row := stateRow{Conn: n, Role: string(role)}
			if c != nil {
				e := &c.Client
				if role == lab.Server {
					e = &c.Server
				}
				row.Addr = e.AddrPort().String()
				row.Inferred = inferredStates(e)
			}
			if k := res.Endpoint(n, role); k != nil {
				row.Reported = k.RFC()
				if row.Addr == "" {
					row.Addr = k.Local.String()
				}
			}
			row.Agree = slices.Equal(row.Inferred, row.Reported)
			if !row.Agree && c != nil && connectTimedOut(c, role, row) {
				row.Agree, row.Unseen = true, "connect timeout: SYN-SENT -> CLOSED sends no segment"
			}
			rep.Agree = rep.Agree && row.Agree
			rep.Rows = append(rep.Rows, row)
		}
		if c != nil {
			rep.Patterns = append(rep.Patterns, c.Teardown.Pattern.String())
			// A TIME-WAIT whose tuple a new connection took over is gone:
			// only holders still waiting at the end are compared.
			if tw := c.Teardown.TimeWait; c.End != tcpstate.EndReused && tw.Side == tcpstate.SideClient || tw.Side == tcpstate.SideServer || tw.Side == tcpstate.SideBoth {
				rep.TimeWaitInferred = append(rep.TimeWaitInferred, fmt.Sprintf("%d/%s", n, tw.Side))
			}
		} else {
			rep.Patterns = append(rep.Patterns, "not captured")
		}
	}
	for _, h := range res.TimeWait {
		rep.TimeWaitReported = append(rep.TimeWaitReported, fmt.Sprintf("%d/%s", h.Conn, h.Role))
	}
	rep.TimeWaitInferred = expandBoth(rep.TimeWaitInferred)
	slices.Sort(rep.TimeWaitInferred)
	slices.Sort(rep.TimeWaitReported)
	rep.TimeWaitAgree = slices.Equal(rep.TimeWaitInferred, rep.TimeWaitReported)
	for _, p := range sc.Expect.Teardown {
		rep.PatternsExpected = append(rep.PatternsExpected, string(p))
	}
	rep.PatternsAgree = len(rep.PatternsExpected) == 0 || slices.Equal(rep.Patterns, rep.PatternsExpected)
	rep.Agree = rep.Agree && rep.TimeWaitAgree && rep.PatternsAgree
	return rep
}

// connectTimedOut reports whether a row differs only by a client's
// SYN-SENT -> CLOSED after SYNs that nothing answered: the kernel gives up
// on a timer and no segment shows it.
func connectTimedOut(c *tcpstate.Conn, role lab.Role, r stateRow) bool {
	return role == lab.Client && !c.Handshake.SYNACK.Seen() &&
		slices.Equal(r.Inferred, []string{"CLOSED", "SYN-SENT"}) &&
		slices.Equal(r.Reported, []string{"CLOSED", "SYN-SENT", "CLOSED"})
}

// expandBoth turns "n/both" into one entry per side.
func expandBoth(s []string) []string {
	var out []string
	for _, v := range s {
		if n, ok := strings.CutSuffix(v, "/both"); ok {
			out = append(out, n+"/client", n+"/server")
			continue
		}
		out = append(out, v)
	}
	return out
}

func printKernelTable(w io.Writer, lang, title string, rep labReport) {
	fmt.Fprintf(w, "%s\n", heading(lang, title))
	mark := func(ok bool) string {
		if ok {
			return "✓ " + heading(lang, "agree")
		}
		return "✗ " + heading(lang, "differ")
	}
	agreeRows := 0
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "\n  #%d %s %s\n", r.Conn, r.Role, r.Addr)
		fmt.Fprintf(w, "    %-4s %-22s %-22s\n", "", heading(lang, "packets"), rep.Source)
		n := max(len(r.Inferred), len(r.Reported))
		for i := 0; i < n; i++ {
			a, b := at(r.Inferred, i), at(r.Reported, i)
			fmt.Fprintf(w, "    %-4d %-22s %-22s %s\n", i+1, a, b, mark(a == b))
			if a == b {
				agreeRows++
			}
		}
		if r.Unseen != "" {
			fmt.Fprintf(w, "    %-4s %s\n", "", r.Unseen)
		}
		if n == 0 {
			fmt.Fprintf(w, "    %-4s %-22s %-22s %s\n", "", "(no transitions)", "(no socket)", mark(true))
		}
	}
	total := 0
	for _, r := range rep.Rows {
		total += max(len(r.Inferred), len(r.Reported))
	}
	fmt.Fprintf(w, "\n  %s: %s %s, %s %s  %s\n", heading(lang, "tw"),
		heading(lang, "packets"), orDash(rep.TimeWaitInferred), rep.Source, orDash(rep.TimeWaitReported), mark(rep.TimeWaitAgree))
	fmt.Fprintf(w, "  %s: %s, %s %s  %s\n", heading(lang, "pattern"),
		strings.Join(rep.Patterns, ", "), heading(lang, "expected"), orDash(rep.PatternsExpected), mark(rep.PatternsAgree))
	fmt.Fprintf(w, "  %s: %d/%d %s  %s\n", heading(lang, "verdict"), agreeRows, total, heading(lang, "rows"), mark(rep.Agree))
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "-"
}

func orDash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func writeLabJSON(w io.Writer, sc *lab.Scenario, res *lab.Result, conns []*tcpstate.Conn, rep labReport) error {
	var cs []json.RawMessage
	for _, c := range conns {
		cs = append(cs, json.RawMessage(strings.TrimSpace(string(appendExplainJSON(nil, c)))))
	}
	v := struct {
		Scenario    string            `json:"scenario"`
		Stack       string            `json:"stack"`
		Namespace   string            `json:"namespace,omitempty"`
		Server      string            `json:"server"`
		Connections []json.RawMessage `json:"connections"`
		Comparison  labReport         `json:"comparison"`
		Sockets     any               `json:"sockets,omitempty"`
		Log         []string          `json:"log"`
	}{sc.Name, rep.Source, res.Namespace, res.Server.String(), cs, rep, res.Sockets, res.Log}
	enc := json.NewEncoder(w)
	return enc.Encode(v)
}

// checkWritable refuses to write over something that is not a regular file.
func checkWritable(path string) error {
	if path == "" {
		return nil
	}
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("refusing to write over %s: not a regular file", path)
	}
	return nil
}

// writePcap writes frames to a pcap file with nanosecond time stamps.
func writePcap(path string, link wire.LinkType, frames []wire.Frame) error {
	if err := checkWritable(path); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(262144, layers.LinkType(link)); err != nil {
		f.Close()
		return err
	}
	for _, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: unixNano(fr.Time), CaptureLength: len(fr.Data), Length: max(fr.WireLen, len(fr.Data))}
		if err := w.WritePacket(ci, fr.Data); err != nil {
			f.Close()
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func unixNano(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// explainText is the explanation of one connection in lang.
func explainText(c *tcpstate.Conn, lang string) []byte {
	return appendExplainText(nil, c)
}

// writeHTMLReport writes the HTML report of conns to path.
func writeHTMLReport(path string, conns []*tcpstate.Conn) error {
	return errors.New("the HTML report is not available yet")
}

// runUserLab runs sc on the userspace stack.
func runUserLab(env *Env, sc *lab.Scenario, o labOpts) error {
	return errors.New("the userspace stack is not available yet: run as root")
}
