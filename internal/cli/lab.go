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

	"golang.org/x/sys/unix"

	"synfin/capture"
	"synfin/internal/outfile"
	"synfin/lab"
	"synfin/lab/userstack"
	"synfin/lab/verdict"
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
		fmt.Fprintf(env.Stdout, "%s %s\n%s\n", lab.HeadScenario.In(o.lang), sc.Name, sc.Summary.In(o.lang))
		stack := lab.HeadStackKernel
		if o.userstack {
			stack = lab.HeadStackNetstack
		}
		fmt.Fprintf(env.Stdout, "%s\n\n", stack.In(o.lang))
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
	rep       verdict.Report
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
	r.rep = verdict.Compare(sc, verdict.Kernel(res), conns)
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
	r.rep = verdict.Compare(sc, verdict.Netstack(res), conns)
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
		if err := writePcap(outs.pcap, run); err != nil {
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
	fmt.Fprintf(out, "%s\n\n", verdict.Wrap(sc.Description.In(o.lang), 80))
	if run.stack == "kernel" {
		fmt.Fprintf(out, "%s (%s)\n", lab.HeadLog.In(o.lang), run.namespace)
	} else {
		fmt.Fprintf(out, "%s\n", lab.HeadLogNetstack.In(o.lang))
	}
	for _, l := range run.log {
		fmt.Fprintf(out, "  %s\n", l)
	}
	fmt.Fprintln(out)
	if run.stack == "kernel" {
		fmt.Fprintf(out, "%s (tcpdump -i lo -n -S port %d)\n", lab.HeadSegments.In(o.lang), run.server.Port())
	} else {
		fmt.Fprintf(out, "%s (tcpdump -n -S, %s)\n", lab.HeadSegments.In(o.lang), lab.HeadNetstackLink.In(o.lang))
	}
	for _, l := range segmentLines(run.frames) {
		fmt.Fprintf(out, "  %s", l)
	}
	fmt.Fprintln(out)
	if err := writeLabExplanation(out, run.conns, o.lang); err != nil {
		return err
	}
	run.rep.Write(out, o.lang)
	if o.write != "" {
		fmt.Fprintf(out, "\n%s %s\n", lab.HeadWritten.In(o.lang), o.write)
	}
	if o.html != "" {
		fmt.Fprintf(out, "%s %s\n", lab.HeadHTML.In(o.lang), o.html)
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
		fmt.Fprintf(w, "%-22s %s", sc.Name, sc.Summary.In(lang))
		if userstack.Unsupported(sc.Name) != "" {
			fmt.Fprintf(w, " (%s)", lab.HeadKernelOnly.In(lang))
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
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
	err := trackSource(&e, &frameSlice{frames: frames}, "", tcpstate.Config{
		Segments: true, IdleTimeout: -1, Zeek: zeekEngines(),
		Done: func(c *tcpstate.Conn) { conns = append(conns, c.Clone()) },
	})
	slices.SortFunc(conns, func(a, b *tcpstate.Conn) int { return int(a.ID) - int(b.ID) })
	return conns, err
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
		Comparison  verdict.Report    `json:"comparison"`
		Sockets     any               `json:"sockets,omitempty"`
		Log         []string          `json:"log"`
	}{sc.Name, run.stack, stackName, run.namespace, run.server.String(), lines, cs, run.rep, run.sockets, run.log}
	enc := json.NewEncoder(w)
	return enc.Encode(v)
}

// writePcap writes a run's frames to f as a pcap file with nanosecond
// time stamps, and closes f.
func writePcap(f *os.File, run *labRun) error {
	w, err := capture.NewWriter(f, capture.WriterOptions{Link: run.link, Snaplen: capture.DefaultSnaplen, Nanos: true})
	if err != nil {
		return err
	}
	for i := range run.frames {
		if err := w.Write(&run.frames[i]); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// writeLabExplanation explains each connection in lang, with its ladder.
func writeLabExplanation(w io.Writer, conns []*tcpstate.Conn, lang string) error {
	return ExplainText(w, conns, lang, 0)
}

// writeHTMLReport writes the HTML report of a run to f, with the stack,
// the segments and the table of states as sections after the
// connections.
func writeHTMLReport(f *os.File, sc *lab.Scenario, lang string, run *labRun) error {
	stack := lab.HeadStackKernel
	if run.stack == userstack.Source {
		stack = lab.HeadStackNetstack
	}
	var table strings.Builder
	run.rep.Write(&table, lang)
	title, body, _ := strings.Cut(table.String(), "\n")
	opt := html.Options{
		Title: "lab " + sc.Name + " (" + run.stack + ")",
		Lang:  lang,
		Sections: []html.Section{
			{Title: lab.HeadScenario.In(lang) + " " + sc.Name, Text: sc.Summary.In(lang) + "\n" + stack.In(lang) + "\n\n" + verdict.Wrap(sc.Description.In(lang), 100)},
			{Title: lab.HeadSegments.In(lang) + " (tcpdump -n -S)", Text: strings.Join(segmentLines(run.frames), "")},
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
