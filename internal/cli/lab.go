//go:build linux

package cli

import (
	"bufio"
	"context"
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

	"synfin/input"
	"synfin/internal/outfile"
	"synfin/lab"
	"synfin/lab/userstack"
	"synfin/render/explain"
	"synfin/render/html"
	"synfin/render/tcpdump"
	"synfin/tcpstate"
	"synfin/wire"
)

func init() {
	register(&command{name: "lab", summary: "run the handshake/teardown experiment and compare with the kernel's view", run: runLab})
}

const labUsage = `Usage: synfin lab [SCENARIO] [--list] [-w FILE] [--html FILE] [--lang en|zh] [--json]
       synfin lab --sweep

Runs the experiment of the blog post this tool grew from, and others like
it: in a private network namespace, a server listens on 127.0.0.1:9988
(backlog 10), a client connects and both close, while synfin captures the
loopback interface and the kernel reports each socket's state changes
(tracepoint sock/inet_sock_set_state, and sock_diag for TIME-WAIT). It then
prints the segments as tcpdump would, explains each connection, and sets the
states it inferred from the packets beside the kernel's, row by row.

Faults (a dropped SYN-ACK, a lost last ACK) are nftables rules inside the
namespace; old-duplicate-syn sends its stale SYN through a raw socket.
Everything the lab creates is removed when it ends, is interrupted
(Ctrl-C, SIGTERM) or fails. A lab killed with SIGKILL, or that crashed,
cannot clean up: --sweep removes what such labs left (namespaces
with their nftables tables, veth interfaces, tracefs instances), and
leaves labs still running alone.

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
  --sweep       remove what labs that died left behind (also: lab sweep)

Examples:
  sudo synfin lab
  sudo synfin lab last-ack-lost --lang zh
  sudo synfin lab syn-retransmit -w syn.pcap --html syn.html
  synfin lab --userstack half-close
  sudo synfin lab --sweep
  synfin lab --list
`

type labOpts struct {
	list, asJSON, userstack, sweep bool
	write, html, lang              string
	port                           int
}

func runLab(env *Env, args []string) error {
	var o labOpts
	fs := newFlags("lab", labUsage, env.Stdout)
	fs.Bool(0, "list", &o.list)
	fs.Bool(0, "json", &o.asJSON)
	fs.Bool(0, "userstack", &o.userstack)
	fs.Bool(0, "sweep", &o.sweep)
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
	if name == "sweep" {
		o.sweep = true
	}
	if o.sweep {
		if len(fs.Args()) > 0 && name != "sweep" {
			return usagef("--sweep takes no scenario")
		}
		return sweepLabs(env)
	}
	sc, err := lab.Lookup(name)
	if err != nil {
		return usagef("%v", strings.TrimPrefix(err.Error(), "lab: "))
	}
	if !o.userstack {
		if why := labPrivileges(); why != "" {
			// Say so before anything else, then show what netstack can.
			fmt.Fprintf(env.Stderr, "synfin lab: %s; running on gVisor's netstack, a userspace TCP stack, instead (sudo for the kernel's view)\n", why)
			o.userstack = true
		}
	} else {
		fmt.Fprintf(env.Stderr, "synfin lab: --userstack: running on gVisor's netstack, a userspace TCP stack, not the kernel\n")
	}
	if o.userstack {
		if why := userstack.Unsupported(sc.Name); why != "" {
			return fmt.Errorf("scenario %s cannot run on gVisor's netstack: %s (run as root for the kernel's view)", sc.Name, why)
		}
	}
	// Open the outputs first, as tcpdump -w does: a path that cannot be
	// written fails before the experiment, not after it.
	outs, err := openLabOutputs(o)
	if err != nil {
		return err
	}
	defer outs.close()

	if !o.asJSON {
		fmt.Fprintf(env.Stdout, "%s %s\n%s\n", heading(o.lang, "scenario"), sc.Name, text(o.lang, sc.Summary))
		stack := heading(o.lang, "stack-kernel")
		if o.userstack {
			stack = heading(o.lang, "stack-netstack")
		}
		fmt.Fprintf(env.Stdout, "%s\n\n", stack)
	}
	var run *labRun
	if o.userstack {
		run, err = runNetstack(env, sc, o)
	} else {
		run, err = runKernel(env, sc, o)
	}
	if err != nil && (run == nil || len(run.frames) == 0) {
		outs.discard()
		return err
	}
	if serr := showLab(env, sc, o, run, outs); serr != nil {
		return errors.Join(serr, err)
	}
	if err != nil {
		// What was captured before the failure is shown; now the error,
		// and a failing exit status.
		fmt.Fprintf(env.Stderr, "synfin lab: %v\n", oneLine(err.Error()))
		return &exitError{code: 1}
	}
	return nil
}

// labRun is what a run on either stack gives the output.
type labRun struct {
	stack     string // "kernel" or "netstack"
	namespace string
	server    netip.AddrPort
	link      wire.LinkType
	frames    []wire.Frame
	log       []string
	sockets   any
	conns     []*tcpstate.Conn
	rep       labReport
}

func runKernel(env *Env, sc *lab.Scenario, o labOpts) (*labRun, error) {
	res, err := lab.Run(env.Ctx, sc, lab.Options{Port: uint16(o.port)})
	if res == nil {
		return nil, err
	}
	r := &labRun{stack: "kernel", namespace: res.Namespace, server: res.Server, link: res.Link,
		frames: res.Frames, log: res.Log}
	if res.Sockets != nil {
		r.sockets = res.Sockets
	}
	conns, terr := labConns(env, res.Frames)
	if terr != nil {
		return nil, errors.Join(err, terr)
	}
	r.conns = conns
	r.rep = compareKernel(sc, res, conns)
	return r, err
}

func runNetstack(env *Env, sc *lab.Scenario, o labOpts) (*labRun, error) {
	us, err := userstack.FromLab(sc)
	if err != nil {
		return nil, err
	}
	res, err := userstack.Run(env.Ctx, us, userstack.Options{Port: uint16(o.port)})
	if res == nil {
		return nil, err
	}
	r := &labRun{stack: userstack.Source, server: res.Server, link: res.Link, frames: res.Frames, log: res.Log}
	conns, terr := labConns(env, res.Frames)
	if terr != nil {
		return nil, errors.Join(err, terr)
	}
	r.conns = conns
	r.rep = compareNetstack(sc, res, conns)
	return r, err
}

// labOutputs are the files a lab writes, opened before it runs.
type labOutputs struct {
	pcap, html *os.File
	created    []string // paths that did not exist before
}

func openLabOutputs(o labOpts) (*labOutputs, error) {
	var outs labOutputs
	for _, f := range []struct {
		path string
		dst  **os.File
	}{{o.write, &outs.pcap}, {o.html, &outs.html}} {
		if f.path == "" {
			continue
		}
		_, statErr := os.Lstat(f.path)
		fh, err := outfile.Create(f.path)
		if err != nil {
			outs.close()
			return nil, err
		}
		*f.dst = fh
		if errors.Is(statErr, os.ErrNotExist) {
			outs.created = append(outs.created, f.path)
		}
	}
	return &outs, nil
}

// discard closes the outputs and removes those the lab created, when a
// run ends with nothing to put in them.
func (o *labOutputs) discard() {
	o.close()
	for _, p := range o.created {
		os.Remove(p)
	}
}

func (o *labOutputs) close() {
	for _, f := range []*os.File{o.pcap, o.html} {
		if f != nil {
			f.Close()
		}
	}
}

// showLab prints (or writes as JSON) a run and writes its files.
func showLab(env *Env, sc *lab.Scenario, o labOpts, run *labRun, outs *labOutputs) error {
	if outs.pcap != nil {
		if err := writePcap(outs.pcap, run.link, run.frames); err != nil {
			return err
		}
	}
	if outs.html != nil {
		if err := writeHTMLReport(outs.html, sc, o.lang, run); err != nil {
			return err
		}
	}
	if o.asJSON {
		return writeLabJSON(env.Stdout, sc, run)
	}
	out := bufio.NewWriter(env.Stdout)
	fmt.Fprintf(out, "%s\n\n", wrapText(text(o.lang, sc.Description), 80))
	if run.stack == "kernel" {
		fmt.Fprintf(out, "%s (%s)\n", heading(o.lang, "log"), run.namespace)
	} else {
		fmt.Fprintf(out, "%s\n", heading(o.lang, "log-netstack"))
	}
	for _, l := range run.log {
		fmt.Fprintf(out, "  %s\n", l)
	}
	fmt.Fprintln(out)
	if run.stack == "kernel" {
		fmt.Fprintf(out, "%s (tcpdump -i lo -n -S port %d)\n", heading(o.lang, "segments"), run.server.Port())
	} else {
		fmt.Fprintf(out, "%s (tcpdump -n -S, %s)\n", heading(o.lang, "segments"), heading(o.lang, "netstack-link"))
	}
	for _, l := range segmentLines(run.frames) {
		fmt.Fprintf(out, "  %s", l)
	}
	fmt.Fprintln(out)
	if err := writeLabExplanation(out, run.conns, o.lang); err != nil {
		return err
	}
	printStateTable(out, o.lang, run.rep)
	if o.write != "" {
		fmt.Fprintf(out, "\n%s %s\n", heading(o.lang, "written"), o.write)
	}
	if o.html != "" {
		fmt.Fprintf(out, "%s %s\n", heading(o.lang, "html"), o.html)
	}
	return out.Flush()
}

// sweepLabs removes what dead labs left and says what it removed and what
// belongs to labs still running.
func sweepLabs(env *Env) error {
	if why := labPrivileges(); why != "" {
		return fmt.Errorf("cannot sweep: %s", why)
	}
	removed, err := lab.Sweep()
	w := bufio.NewWriter(env.Stdout)
	n := 0
	for _, l := range []struct {
		what  string
		names []string
	}{{"namespace", removed.Namespaces}, {"interface", removed.Links}, {"tracefs instance", removed.Instances}} {
		for _, name := range l.names {
			fmt.Fprintf(w, "removed %s %s\n", l.what, name)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "nothing left behind by labs that died")
	}
	if live, lerr := lab.List(); lerr == nil {
		for _, name := range live.Namespaces {
			fmt.Fprintf(w, "left alone: namespace %s (its lab is running)\n", name)
		}
		for _, name := range live.Instances {
			fmt.Fprintf(w, "left alone: tracefs instance %s (its lab is running)\n", name)
		}
	} else {
		err = errors.Join(err, lerr)
	}
	if ferr := w.Flush(); ferr != nil {
		return ferr
	}
	return err
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
		fmt.Fprintf(w, "%-22s %s", sc.Name, text(lang, sc.Summary))
		if userstack.Unsupported(sc.Name) != "" {
			fmt.Fprintf(w, " (%s)", heading(lang, "kernel-only"))
		}
		fmt.Fprintln(w)
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
	"html":     {"HTML report written to", "HTML 报告已写入"},

	"stack-kernel":   {"stack: the Linux kernel, in a private network namespace", "协议栈：Linux 内核，运行于私有网络命名空间"},
	"stack-netstack": {"stack: gVisor's netstack, a userspace TCP stack in this process; NOT the kernel", "协议栈：gVisor 的 netstack，本进程内的用户态 TCP 协议栈；不是内核"},
	"log-netstack":   {"server and client, on gVisor's netstack in this process", "服务器与客户端，运行于本进程内的 gVisor netstack"},
	"netstack-link":  {"segments from netstack's link, raw IP", "报文段取自 netstack 的链路，原始 IP"},
	"unsampled":      {"not sampled", "未采样到"},
	"kernel-only":    {"kernel only: not on netstack", "仅限内核：netstack 上无法运行"},
	"no-transitions": {"no transitions", "没有状态变化"},
	"no-socket":      {"no socket", "没有套接字"},
	"no-socket-client": {"the kernel had no socket for this connection: it answered the SYN-ACK with a reset",
		"内核没有这条连接的套接字：它用 RST 回应了 SYN-ACK"},
	"no-socket-server": {"the kernel kept only a half-open request, not a socket, until the reset removed it; the listener went on listening",
		"内核只保留了一个半开请求而不是套接字，直到 RST 将其删除；监听套接字继续监听"},
	"sampled-note": {"netstack has no hook on state changes: its states are sampled, so a brief one (a passive open's SYN-RECEIVED) may be missing; the listener, not the new endpoint, holds LISTEN",
		"netstack 没有状态变化的钩子：其状态是采样得到的，短暂的状态（被动打开的 SYN-RECEIVED）可能缺失；LISTEN 属于监听端点，而不是新端点"},
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

// segmentLines returns frames as tcpdump -n -S prints them, each line
// ending in a newline.
func segmentLines(frames []wire.Frame) []string {
	pr := tcpdump.New(tcpdump.Options{Numeric: true, Absolute: true})
	var (
		p   wire.Packet
		buf []byte
		out []string
	)
	for i := range frames {
		f := &frames[i]
		if !printable(p.Decode(f.Link, f.Data), &p) {
			pr.Skip(f)
			continue
		}
		buf = pr.Append(buf[:0], f, &p)
		out = append(out, string(buf))
	}
	return out
}

// labConns runs the tracker over the lab's frames, keeping segments.
func labConns(env *Env, frames []wire.Frame) ([]*tcpstate.Conn, error) {
	var conns []*tcpstate.Conn
	// An interrupted lab still shows what it captured: the frames are in
	// memory and tracking them takes no time.
	e := *env
	e.Ctx = context.WithoutCancel(env.Ctx)
	err := trackSource(&e, input.FromFrames(frames), "", tcpstate.Config{
		Segments: true, IdleTimeout: -1, Zeek: zeekEngines(),
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
	// Unsampled lists inferred states missing from a sampling stack's
	// report, which do not count as a difference.
	Unsampled []string `json:"unsampled,omitempty"`
	// NoSocket: the stack had no socket for this end of a handshake the
	// client rejected, and the packets agree that it never opened.
	NoSocket bool `json:"no_socket,omitempty"`
}

// labReport compares what the packets say with what the stack reports.
type labReport struct {
	Source           string     `json:"source"` // "kernel" or "netstack"
	Sampled          bool       `json:"sampled,omitempty"`
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

// stackView is what a stack reports about a run's endpoints.
type stackView struct {
	source  string
	clients []netip.AddrPort
	// states returns an endpoint's reported RFC 9293 states and its
	// address, or nil if the stack had no such endpoint.
	states   func(conn int, role lab.Role) ([]string, string)
	timeWait []string // "n/role"
	// sampled: the states were sampled, so a brief one may be missing
	// from them (netstack has no hook on state changes).
	sampled bool
}

func compareKernel(sc *lab.Scenario, res *lab.Result, conns []*tcpstate.Conn) labReport {
	v := stackView{source: "kernel", clients: res.Clients}
	v.states = func(n int, role lab.Role) ([]string, string) {
		if k := res.Endpoint(n, role); k != nil {
			return k.RFC(), k.Local.String()
		}
		return nil, ""
	}
	for _, h := range res.TimeWait {
		v.timeWait = append(v.timeWait, fmt.Sprintf("%d/%s", h.Conn, h.Role))
	}
	return compareStack(sc, v, conns)
}

func compareNetstack(sc *lab.Scenario, res *userstack.Result, conns []*tcpstate.Conn) labReport {
	v := stackView{source: userstack.Source, clients: res.Clients, sampled: true}
	v.states = func(n int, role lab.Role) ([]string, string) {
		if e := res.Endpoint(n, userstack.Role(role)); e != nil {
			return e.StateNames(), e.Local.String()
		}
		return nil, ""
	}
	for _, e := range res.Endpoints {
		if e.Conn > 0 && e.Final() == "TIME-WAIT" {
			v.timeWait = append(v.timeWait, fmt.Sprintf("%d/%s", e.Conn, e.Role))
		}
	}
	return compareStack(sc, v, conns)
}

// compareStack sets the states inferred from the packets beside the
// stack's, endpoint by endpoint, and compares TIME-WAIT holders and
// teardown patterns.
func compareStack(sc *lab.Scenario, v stackView, conns []*tcpstate.Conn) labReport {
	rep := labReport{Source: v.source, Sampled: v.sampled, Agree: true}
	for n := 1; n <= len(v.clients); n++ {
		c := connFor(conns, v.clients, n)
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
			var addr string
			row.Reported, addr = v.states(n, role)
			if row.Addr == "" {
				row.Addr = addr
			}
			row.Agree = slices.Equal(row.Inferred, row.Reported)
			if !row.Agree && v.sampled {
				row.Agree, row.Unsampled = sampledAgree(row.Inferred, row.Reported)
			}
			if !row.Agree && c != nil && connectTimedOut(c, role, row) {
				row.Agree, row.Unseen = true, "connect timeout: SYN-SENT -> CLOSED sends no segment"
			}
			if !row.Agree && c != nil && rejectedWithoutSocket(c, role, row) {
				row.Agree, row.NoSocket = true, true
				row.Unseen = heading("en", "no-socket-"+string(role))
			}
			rep.Agree = rep.Agree && row.Agree
			rep.Rows = append(rep.Rows, row)
		}
		if c != nil {
			rep.Patterns = append(rep.Patterns, c.Teardown.Pattern.String())
			// A TIME-WAIT whose tuple a new connection took over is gone:
			// only holders still waiting at the end are compared.
			if tw := c.Teardown.TimeWait; c.End != tcpstate.EndReused && (tw.Side == tcpstate.SideClient || tw.Side == tcpstate.SideServer || tw.Side == tcpstate.SideBoth) {
				rep.TimeWaitInferred = append(rep.TimeWaitInferred, fmt.Sprintf("%d/%s", n, tw.Side))
			}
		} else {
			rep.Patterns = append(rep.Patterns, "not captured")
		}
	}
	rep.TimeWaitReported = append(rep.TimeWaitReported, v.timeWait...)
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

// sampledAgree compares inferred states with sampled ones: the samples
// must be the inferred states in order with some perhaps missing (a state
// shorter than the sampling interval, or a passive open's LISTEN, which
// is the listener's and never the new endpoint's), and end in the same
// state. It returns the inferred states the samples miss.
func sampledAgree(inferred, sampled []string) (bool, []string) {
	pairs := alignStates(inferred, sampled)
	var missing []string
	for _, p := range pairs {
		switch {
		case p[1] == "":
			missing = append(missing, p[0])
		case p[0] == "":
			return false, nil
		}
	}
	if len(inferred) == 0 || len(sampled) == 0 || inferred[len(inferred)-1] != sampled[len(sampled)-1] {
		return false, nil
	}
	return true, missing
}

// alignStates pairs two state sequences along their longest common
// subsequence; "" marks a state the other side lacks. Sequences are a
// dozen states at most, so the quadratic table is nothing.
func alignStates(a, b []string) [][2]string {
	l := make([][]int, len(a)+1)
	for i := range l {
		l[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	var out [][2]string
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out = append(out, [2]string{a[i], b[j]})
			i, j = i+1, j+1
		case j == len(b) || (i < len(a) && l[i+1][j] >= l[i][j+1]):
			out = append(out, [2]string{a[i], ""})
			i++
		default:
			out = append(out, [2]string{"", b[j]})
			j++
		}
	}
	return out
}

// connectTimedOut reports whether a row differs only by a client's
// SYN-SENT -> CLOSED after SYNs that nothing answered: the stack gives up
// on a timer and no segment shows it.
func connectTimedOut(c *tcpstate.Conn, role lab.Role, r stateRow) bool {
	return role == lab.Client && !c.Handshake.SYNACK.Seen() &&
		slices.Equal(r.Inferred, []string{"CLOSED", "SYN-SENT"}) &&
		slices.Equal(r.Reported, []string{"CLOSED", "SYN-SENT", "CLOSED"})
}

// rejectedWithoutSocket says whether a row whose stack reports no socket
// is a handshake the client rejected (an old duplicate SYN): no socket
// held it at the client, and the server kept only a request until the
// reset. The packets must agree that neither end ever synchronized, and
// that the client ended CLOSED and the server back in LISTEN.
func rejectedWithoutSocket(c *tcpstate.Conn, role lab.Role, r stateRow) bool {
	if !c.Handshake.Rejected || len(r.Reported) != 0 || len(r.Inferred) == 0 {
		return false
	}
	for _, s := range r.Inferred {
		switch s {
		case "CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED":
		default:
			return false
		}
	}
	want := "CLOSED"
	if role == lab.Server {
		want = "LISTEN"
	}
	return r.Inferred[len(r.Inferred)-1] == want
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

// printStateTable prints the inferred states beside the stack's, row by
// row. A sampling stack's rows are aligned on the states both have, and
// a state missing from its samples is marked as such, not as a
// difference.
func printStateTable(w io.Writer, lang string, rep labReport) {
	fmt.Fprintf(w, "%s\n", heading(lang, rep.Source))
	mark := func(ok bool) string {
		if ok {
			return "✓ " + heading(lang, "agree")
		}
		return "✗ " + heading(lang, "differ")
	}
	agreeRows, total, unsampled := 0, 0, 0
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "\n  #%d %s %s\n", r.Conn, r.Role, r.Addr)
		fmt.Fprintf(w, "    %-4s %s %s\n", "", pad(heading(lang, "packets"), 22), rep.Source)
		if r.NoSocket {
			for i, s := range r.Inferred {
				b := ""
				if i == 0 {
					b = "(" + heading(lang, "no-socket") + ")"
				}
				fmt.Fprintf(w, "    %-4d %-22s %s ·\n", i+1, s, pad(b, 22))
			}
			fmt.Fprintf(w, "    %-4s %s\n", "", strings.ReplaceAll(wrapText(heading(lang, "no-socket-"+r.Role), 70), "\n", "\n         "))
			continue
		}
		var pairs [][2]string
		if rep.Sampled {
			pairs = alignStates(r.Inferred, r.Reported)
		} else {
			for i := range max(len(r.Inferred), len(r.Reported)) {
				pairs = append(pairs, [2]string{at(r.Inferred, i), at(r.Reported, i)})
			}
		}
		for i, p := range pairs {
			a, b := orDash([]string{p[0]}), p[1]
			m := mark(p[0] == p[1])
			switch {
			case p[0] == p[1]:
				agreeRows++
			case rep.Sampled && b == "" && slices.Contains(r.Unsampled, p[0]):
				b, m = "("+heading(lang, "unsampled")+")", "·"
				unsampled++
				total--
			case b == "":
				b = "-"
			}
			total++
			fmt.Fprintf(w, "    %-4d %-22s %s %s\n", i+1, a, pad(b, 22), m)
		}
		if r.Unseen != "" {
			fmt.Fprintf(w, "    %-4s %s\n", "", r.Unseen)
		}
		if len(pairs) == 0 {
			fmt.Fprintf(w, "    %-4s %s %s %s\n", "", pad("("+heading(lang, "no-transitions")+")", 22), pad("("+heading(lang, "no-socket")+")", 22), mark(true))
		}
	}
	fmt.Fprintf(w, "\n  %s: %s %s, %s %s  %s\n", heading(lang, "tw"),
		heading(lang, "packets"), orDash(rep.TimeWaitInferred), rep.Source, orDash(rep.TimeWaitReported), mark(rep.TimeWaitAgree))
	fmt.Fprintf(w, "  %s: %s, %s %s  %s\n", heading(lang, "pattern"),
		strings.Join(rep.Patterns, ", "), heading(lang, "expected"), orDash(rep.PatternsExpected), mark(rep.PatternsAgree))
	fmt.Fprintf(w, "  %s: %d/%d %s", heading(lang, "verdict"), agreeRows, total, heading(lang, "rows"))
	if unsampled > 0 {
		fmt.Fprintf(w, ", %d %s", unsampled, heading(lang, "unsampled"))
	}
	fmt.Fprintf(w, "  %s\n", mark(rep.Agree))
	if rep.Sampled {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(wrapText(heading(lang, "sampled-note"), 76), "\n", "\n  "))
	}
}

// pad pads s with spaces to n terminal columns; CJK characters take two.
func pad(s string, n int) string {
	if w := explain.Width(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}

// wrapText breaks text into lines of at most width columns, at spaces or
// between wide (Chinese) characters.
func wrapText(text string, width int) string {
	var b strings.Builder
	col, lastBreak := 0, -1 // lastBreak: byte offset in line
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

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "-"
}

func orDash(s []string) string {
	if len(s) == 0 || len(s) == 1 && s[0] == "" {
		return "-"
	}
	return strings.Join(s, ", ")
}

func writeLabJSON(w io.Writer, sc *lab.Scenario, run *labRun) error {
	cs := []json.RawMessage{}
	for _, c := range run.conns {
		cs = append(cs, json.RawMessage(strings.TrimSpace(string(appendExplainJSON(nil, c)))))
	}
	lines := []string{}
	for _, l := range segmentLines(run.frames) {
		lines = append(lines, strings.TrimSuffix(l, "\n"))
	}
	stackName := "Linux kernel"
	if run.stack == userstack.Source {
		stackName = userstack.StackName
	}
	v := struct {
		Scenario    string            `json:"scenario"`
		Stack       string            `json:"stack"`
		StackName   string            `json:"stack_name"`
		Namespace   string            `json:"namespace,omitempty"`
		Server      string            `json:"server"`
		Tcpdump     []string          `json:"tcpdump"`
		Connections []json.RawMessage `json:"connections"`
		Comparison  labReport         `json:"comparison"`
		Sockets     any               `json:"sockets,omitempty"`
		Log         []string          `json:"log"`
	}{sc.Name, run.stack, stackName, run.namespace, run.server.String(), lines, cs, run.rep, run.sockets, run.log}
	enc := json.NewEncoder(w)
	return enc.Encode(v)
}

// writePcap writes frames to f as a pcap file with nanosecond time stamps.
func writePcap(f *os.File, link wire.LinkType, frames []wire.Frame) error {
	bw := bufio.NewWriter(f)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(262144, layers.LinkType(link)); err != nil {
		return err
	}
	for _, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: unixNano(fr.Time), CaptureLength: len(fr.Data), Length: max(fr.WireLen, len(fr.Data))}
		if err := w.WritePacket(ci, fr.Data); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func unixNano(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// writeLabExplanation explains each connection in lang, with its ladder.
func writeLabExplanation(w io.Writer, conns []*tcpstate.Conn, lang string) error {
	return ExplainText(w, conns, lang, 0)
}

// writeHTMLReport writes the HTML report of a run to f, with the stack,
// the segments and the table of states as sections after the
// connections.
func writeHTMLReport(f *os.File, sc *lab.Scenario, lang string, run *labRun) error {
	stack := heading(lang, "stack-kernel")
	if run.stack == userstack.Source {
		stack = heading(lang, "stack-netstack")
	}
	var table strings.Builder
	printStateTable(&table, lang, run.rep)
	title, body, _ := strings.Cut(table.String(), "\n")
	opt := html.Options{
		Title: "lab " + sc.Name + " (" + run.stack + ")",
		Lang:  lang,
		Sections: []html.Section{
			{Title: heading(lang, "scenario") + " " + sc.Name, Text: text(lang, sc.Summary) + "\n" + stack + "\n\n" + wrapText(text(lang, sc.Description), 100)},
			{Title: heading(lang, "segments") + " (tcpdump -n -S)", Text: strings.Join(segmentLines(run.frames), "")},
			{Title: title, Text: strings.TrimPrefix(body, "\n")},
		},
	}
	bw := bufio.NewWriter(f)
	if err := html.Write(bw, run.conns, opt); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}
