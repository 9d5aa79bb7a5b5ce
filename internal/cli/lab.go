//go:build linux

package cli

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"synfin/capture"
	"synfin/input"
	"synfin/internal/outfile"
	"synfin/lab"
	"synfin/lab/crowd"
	"synfin/lab/kernel"
	"synfin/lab/userstack"
	"synfin/lab/verdict"
	"synfin/render/annotate"
	"synfin/render/conn"
	"synfin/render/html"
	"synfin/render/ladder"
	"synfin/render/tcpdump"
	"synfin/summary"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/vantage"
	"synfin/watch"
	"synfin/wire"
)

type labOpts struct {
	list, asJSON, userstack, sweep, nat bool
	write, html, lang, vantage          string
	port, clampMSS                      int
}

func runLab(env *Env, args []string) error {
	var o labOpts
	fs := newFlags("lab", env.Stdout)
	fs.Bool(0, "list", &o.list)
	fs.Bool(0, "json", &o.asJSON)
	fs.Bool(0, "userstack", &o.userstack)
	fs.Bool(0, "sweep", &o.sweep)
	fs.String('w', "", &o.write)
	fs.String(0, "html", &o.html)
	fs.String(0, "lang", &o.lang)
	fs.Int(0, "port", &o.port)
	fs.String(0, "vantage", &o.vantage)
	fs.Bool(0, "nat", &o.nat)
	fs.Int(0, "clamp-mss", &o.clampMSS)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.vantage != "" && (o.vantage != "both" || o.userstack) || o.vantage == "" && (o.nat || fs.Seen("clamp-mss")) || o.clampMSS < 0 || o.clampMSS > 65535 {
		return usagef("--vantage takes both, on the kernel; --nat and --clamp-mss 1-65535 go with it")
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
		return lab.SweepAndReport(env.Stdout)
	}
	if cs := crowd.Lookup(name); cs != nil {
		return runCrowd(env, cs, o)
	}
	sc, err := lab.Lookup(name)
	if err != nil {
		return usagef("%v", strings.TrimPrefix(err.Error(), "lab: "))
	}
	if !o.userstack {
		if why := lab.Unprivileged(); why != "" && o.vantage != "" {
			return fmt.Errorf("--vantage runs a router between two namespaces, which needs root (%s)", why)
		} else if why != "" {
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
	outs := &labOutputs{}
	defer outs.close()
	if outs.pcap, err = outs.create(o.write); err == nil && o.vantage != "" && o.write != "" {
		outs.far, err = outs.create(lab.ServerSide(o.write))
	}
	if err == nil {
		outs.html, err = outs.create(o.html)
	}
	if err != nil {
		return err
	}

	if !o.asJSON {
		fmt.Fprintf(env.Stdout, "%s %s\n%s\n%s\n\n", lab.HeadScenario.In(o.lang), sc.Name, sc.Summary.In(o.lang), lab.HeadStack(o.userstack).In(o.lang))
	}
	run, err := runOn(env, sc, o)
	if err != nil && (run == nil || len(run.Frames) == 0) {
		return err
	}
	if serr := showLab(env, sc, o, run, outs); serr != nil {
		return errors.Join(serr, err)
	}
	if err != nil {
		// What was captured before the failure is shown; now the error,
		// and a failing exit status.
		msg := oneLine(err.Error())
		if interrupted(env) != nil {
			msg = "interrupted"
		}
		fmt.Fprintf(env.Stderr, "synfin lab: %s\n", msg)
		return &exitError{code: 1}
	}
	return nil
}

// labRun is a run on either stack with what the output shows of it.
type labRun struct {
	*verdict.Run
	lines []string // the frames as tcpdump -n -S prints them
	conns []*tcpstate.Conn
	rep   verdict.Report
	cmp   *vantage.Report // the two sides of a path's router compared
}

// runOn runs the scenario on the kernel or on netstack, tracks what it
// captured and compares the states. A run that fails part way returns
// what it captured with its error.
func runOn(env *Env, sc *lab.Scenario, o labOpts) (*labRun, error) {
	on := verdict.OnKernel
	if o.vantage != "" {
		on = func(ctx context.Context, sc *lab.Scenario, port uint16) (*verdict.Run, error) {
			return verdict.OnPath(ctx, sc, port, &lab.Path{Masquerade: o.nat, ClampMSS: uint16(o.clampMSS)})
		}
	}
	if o.userstack {
		on = verdict.OnNetstack
	}
	run, err := on(env.Ctx, sc, uint16(o.port))
	if run == nil {
		return nil, err
	}
	conns, terr := labConns(env, run.Frames, run.View.Until)
	if terr != nil {
		return nil, errors.Join(err, terr)
	}
	lr := &labRun{Run: run, lines: segmentLines(run.Frames), conns: conns, rep: verdict.Compare(sc, run.View, conns)}
	if run.Far != nil {
		lr.cmp = vantage.Compare(vantage.FromFrames("client's side", run.Frames), vantage.FromFrames("server's side", run.Far))
	}
	return lr, err
}

// labOutputs are the files a lab writes (-w, --html); each takes the
// place of its path once written whole.
type labOutputs struct {
	pcap, far, html *outfile.File // far: the server's side of --vantage both
}

// create creates path, or nothing for "".
func (o *labOutputs) create(path string) (*outfile.File, error) {
	if path == "" {
		return nil, nil
	}
	if path == outfile.Stdout {
		return nil, usagef("-w - and --html - would mix with the lab's report on standard output; name a file")
	}
	return outfile.Create(path)
}

// close discards the outputs not written whole.
func (o *labOutputs) close() {
	for _, f := range []*outfile.File{o.pcap, o.far, o.html} {
		if f != nil {
			f.Close()
		}
	}
}

// showLab prints (or writes as JSON) a run and writes its files.
func showLab(env *Env, sc *lab.Scenario, o labOpts, run *labRun, outs *labOutputs) error {
	if outs.pcap != nil {
		if err := capture.WriteFrames(outs.pcap, run.Link, run.Frames); err != nil {
			return err
		}
	}
	if outs.far != nil {
		if err := capture.WriteFrames(outs.far, run.Link, run.Far); err != nil {
			return err
		}
	}
	if outs.html != nil {
		if err := writeHTMLReport(outs.html.File, sc, o.lang, run); err != nil {
			return err
		}
		if err := outs.html.Commit(); err != nil {
			return err
		}
	}
	if o.asJSON {
		return writeLabJSON(env.Stdout, sc, run)
	}
	out := bufio.NewWriter(env.Stdout)
	fmt.Fprintf(out, "%s\n\n", verdict.Wrap(sc.Description.In(o.lang), 80))
	if run.Stack == "kernel" {
		fmt.Fprintf(out, "%s (%s)\n", lab.HeadLog.In(o.lang), run.Namespace)
	} else {
		fmt.Fprintf(out, "%s\n", lab.HeadLogNetstack.In(o.lang))
	}
	for _, l := range run.Log {
		fmt.Fprintf(out, "  %s\n", l)
	}
	fmt.Fprintln(out)
	if run.Stack == "kernel" {
		fmt.Fprintf(out, "%s (tcpdump -i %s -n -S port %d)\n", lab.HeadSegments.In(o.lang), run.Iface, run.Server.Port())
	} else {
		fmt.Fprintf(out, "%s (tcpdump -n -S, %s)\n", lab.HeadSegments.In(o.lang), lab.HeadNetstackLink.In(o.lang))
	}
	for _, l := range run.lines {
		fmt.Fprintf(out, "  %s", l)
	}
	fmt.Fprintln(out)
	// Each connection explained, with its ladder.
	if err := ladder.WriteExplained(out, run.conns, ladder.Options{Lang: o.lang}); err != nil {
		return err
	}
	run.rep.Write(out, o.lang)
	if run.cmp != nil {
		fmt.Fprintf(out, "\n%s\n", lab.HeadCompare.In(o.lang))
		run.cmp.WriteText(out, o.lang, 0)
	}
	if o.write != "" {
		fmt.Fprintf(out, "\n%s %s\n", lab.HeadWritten.In(o.lang), o.write)
		if run.Far != nil {
			fmt.Fprintf(out, "%s %s\n", lab.HeadWritten.In(o.lang), lab.ServerSide(o.write))
		}
	}
	if o.html != "" {
		fmt.Fprintf(out, "%s %s\n", lab.HeadHTML.In(o.lang), o.html)
	}
	return out.Flush()
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
	crowd.List(w, lang)
	return w.Flush()
}

// runCrowd runs a scenario of many sockets, on the kernel only.
func runCrowd(env *Env, sc *crowd.Scenario, o labOpts) (err error) {
	if why := lab.Unprivileged(); why != "" || o.userstack || o.html != "" || o.vantage != "" {
		return fmt.Errorf("scenario %s runs on the kernel only, as root, on one host, and has no HTML report (%s)", sc.Name, cmp.Or(why, "--userstack, --html or --vantage"))
	}
	outs := &labOutputs{}
	defer outs.close()
	if outs.pcap, err = outs.create(o.write); err != nil {
		return err
	}
	res, err := crowd.Run(env.Ctx, sc, crowd.Options{Port: uint16(o.port), Observe: watch.Findings(o.lang)})
	if err == nil && outs.pcap != nil {
		err = capture.WriteFrames(outs.pcap, res.Link, res.Frames)
	}
	if err != nil {
		return err
	}
	return crowd.Analyze(res).Print(env.Stdout, sc, o.lang, o.asJSON)
}

// segmentLines returns frames as tcpdump -n -S prints them, each line
// ending in a newline.
func segmentLines(frames []wire.Frame) []string {
	fp := annotate.New(tcpdump.New(tcpdump.Options{Numeric: true, Absolute: true}), annotate.Options{})
	var (
		buf  []byte
		skip bool
		out  []string
	)
	for i := range frames {
		if buf, skip = fp.Append(buf[:0], &frames[i]); !skip {
			out = append(out, string(buf))
		}
	}
	return out
}

// labConns tracks the lab's frames, captured until until (Unix ns).
func labConns(env *Env, frames []wire.Frame, until int64) ([]*tcpstate.Conn, error) {
	var conns []*tcpstate.Conn
	// An interrupted lab still shows what it captured: the frames are in
	// memory and tracking them takes no time.
	e := *env
	e.Ctx = context.WithoutCancel(env.Ctx)
	err := trackSource(&e, input.FromCapture(frames, until), "", track.Config{
		Segments: true, IdleTimeout: -1, Observer: zeekObservers(false),
		Done: func(c *tcpstate.Conn) { conns = append(conns, c.Clone()) },
	})
	slices.SortFunc(conns, func(a, b *tcpstate.Conn) int { return int(a.ID) - int(b.ID) })
	return conns, err
}

func writeLabJSON(w io.Writer, sc *lab.Scenario, run *labRun) error {
	cs := []json.RawMessage{}
	for _, c := range run.conns {
		cs = append(cs, json.RawMessage(strings.TrimSpace(string(conn.AppendExplainJSON(nil, c)))))
	}
	lines := []string{}
	for _, l := range run.lines {
		lines = append(lines, strings.TrimSuffix(l, "\n"))
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
		Sockets     []kernel.Socket   `json:"sockets,omitempty"`
		Log         []string          `json:"log"`
		Compare     *vantage.Report   `json:"compare,omitempty"`
	}{sc.Name, run.Stack, run.StackName, run.Namespace, run.Server.String(), lines, cs, run.rep, run.Sockets, run.Log, run.cmp}
	return json.NewEncoder(w).Encode(v)
}

// writeHTMLReport writes the HTML report of a run to f, with the stack,
// the segments and the table of states as sections after the
// connections.
func writeHTMLReport(f *os.File, sc *lab.Scenario, lang string, run *labRun) error {
	stack := lab.HeadStack(run.Stack == userstack.Source)
	var table strings.Builder
	run.rep.Write(&table, lang)
	title, body, _ := strings.Cut(table.String(), "\n")
	opt := html.Options{
		Title:   "lab " + sc.Name + " (" + run.Stack + ")",
		Lang:    lang,
		Summary: summary.Of(run.conns).Page(),
		Sections: []html.Section{
			{Title: lab.HeadScenario.In(lang) + " " + sc.Name, Text: sc.Summary.In(lang) + "\n" + stack.In(lang) + "\n\n" + verdict.Wrap(sc.Description.In(lang), 100)},
			{Title: lab.HeadSegments.In(lang) + " (tcpdump -n -S)", Text: strings.Join(run.lines, "")},
			{Title: title, Text: strings.TrimPrefix(body, "\n")},
		},
	}
	if run.cmp != nil {
		var b strings.Builder
		run.cmp.WriteText(&b, lang, 0)
		opt.Sections = append(opt.Sections, html.Section{Title: lab.HeadCompare.In(lang), Text: b.String()})
	}
	if err := html.Write(f, run.conns, opt); err != nil { // buffered itself
		return err
	}
	return f.Close()
}
