//go:build linux

package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"synfin/internal/corpus"
	"synfin/internal/helpdoc"
	"synfin/internal/labtest"
	"synfin/internal/testenv"
	"synfin/lab/netns"
)

// An example is a command line the help or the README shows.
type example struct {
	from string // where: "synfin dial --help", "README.md"
	line string
	desc string // what is said of it
	span bool   // a code span in the README's text, maybe a name in prose
}

// TestExamples runs every example of synfin's help (each command's
// "Examples:" and the commands its text tells to type) and of the
// README (its sh blocks and the command lines in its text), and checks
// its exit status and, where something no one here wrote can say what
// it should print, its output: tcpdump on the same capture or the same
// traffic, the kernel's socket states (ss), the connections the test
// made, Go's ELF and XML readers, mandoc, zsh and fish. Examples that
// use the network run as root in private network namespaces (with
// CI=true they must); an example that is not run says why.
func TestExamples(t *testing.T) {
	bin := synfinBin(t)
	root := moduleRoot(t)
	fx := fixtures(t, bin)
	exs := append(helpExamples(t, bin), readmeExamples(t, root)...)
	if len(exs) < 40 {
		t.Fatalf("only %d examples found", len(exs))
	}
	seen := map[string]bool{}
	for _, ex := range exs {
		if seen[ex.line] {
			continue // the same line shown twice
		}
		seen[ex.line] = true
		t.Run(ex.line, func(t *testing.T) {
			if why := notRun(ex); why != "" {
				t.Skipf("%s: not run: %s", ex.from, why)
			}
			for _, tool := range []string{"jq", "tcpdump", "man", "setcap", "zsh", "fish", "go"} {
				if regexp.MustCompile(`(^|[|&(] *|sudo )`+tool+` `).MatchString(ex.line) || shell(ex.line) == tool {
					testenv.NeedTool(t, tool)
				}
			}
			if strings.HasPrefix(ex.line, "sudo ") && os.Geteuid() != 0 {
				testenv.Unavailable(t, "needs root, as sudo says")
			}
			if !strings.HasPrefix(ex.line, "go ") {
				t.Parallel()
			}
			runExample(t, ex, bin, root, fx)
		})
	}
}

// helpExamples returns the examples of "synfin --help" and of every
// command's help.
func helpExamples(t *testing.T, bin string) []example {
	top := helpdoc.Parse(helpText(t, bin))
	exs := helpEntries("synfin --help", top)
	for _, c := range top.Block("Commands").Entries {
		exs = append(exs, helpEntries("synfin "+c.Term+" --help", helpdoc.Parse(helpText(t, bin, c.Term)))...)
	}
	return exs
}

func helpText(t *testing.T, bin string, cmd ...string) string {
	out, err := exec.Command(bin, append(cmd, "--help")...).Output()
	if err != nil {
		t.Fatalf("synfin %s --help: %v", strings.Join(cmd, " "), err)
	}
	return string(out)
}

// helpEntries are a help's examples and the commands its paragraphs
// tell to type (indented lines).
func helpEntries(from string, h helpdoc.Help) []example {
	var exs []example
	for _, b := range h.Blocks {
		for _, e := range b.Entries {
			if b.Title == "Examples" {
				exs = append(exs, example{from, e.Term, e.Desc, false})
			}
		}
		for _, l := range b.Lines {
			if s := strings.TrimSpace(l); s != l && (strings.HasPrefix(s, "synfin ") || strings.HasPrefix(s, "sudo ")) {
				exs = append(exs, example{from, s, "", false})
			}
		}
	}
	return exs
}

// readmeExamples are the lines of the README's sh blocks (without
// their comments) and its code spans that start as a command line does.
func readmeExamples(t *testing.T, root string) []example {
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var exs []example
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		for _, l := range strings.Split(strings.TrimSpace(m[1]), "\n") {
			l, _, _ = strings.Cut(l, "  #")
			exs = append(exs, example{"README.md", strings.TrimSpace(l), "", false})
		}
	}
	span := regexp.MustCompile("`((?:synfin|sudo|source|go|CGO_ENABLED=|git|bench/|tcpdump|NO_PROGRESS=)[^`]*)`")
	for _, m := range span.FindAllStringSubmatch(string(b), -1) {
		if !strings.ContainsAny(m[1], " /=") {
			continue // a word: synfin, tcpdumptext
		}
		exs = append(exs, example{"README.md", m[1], "", true})
	}
	return exs
}

// notRun says why a line shown is not run, or "".
func notRun(ex example) string {
	line := ex.line
	w := strings.Fields(line)
	reads := map[string]bool{"read": true, "conns": true, "explain": true, "diagram": true}
	switch {
	case ex.span && w[0] == "synfin" && len(w) == 2 && !strings.HasPrefix(w[1], "-"):
		return "names a command in the text"
	case ex.span && w[0] == "synfin" && reads[w[1]] && !strings.Contains(line, "-r"):
		return "names a command's output in the text; the capture it reads is said beside it"
	case ex.span && w[0] == "tcpdump" && !strings.Contains(line, "-r") && !strings.Contains(line, "-i"):
		return "names tcpdump's flags in the text, beside synfin's"
	case ex.span && slices.ContainsFunc(w, func(f string) bool { return f != "FILE" && regexp.MustCompile(`^[A-Z]+$`).MatchString(f) }):
		return "names a command's options in the text, a value standing for what the reader chooses"
	case strings.HasPrefix(line, "NO_PROGRESS="):
		return "an environment variable, named with what it turns off"
	case line == "go test ./...":
		return "runs the test suite this test is part of"
	case strings.HasPrefix(line, "bench/") || strings.HasPrefix(line, "go test -bench"):
		return "a benchmark: minutes of a quiet machine, run by hand"
	case strings.HasPrefix(line, "git "):
		return "changes the repository"
	}
	return ""
}

// fixture is what the examples read: trace.pcap and capture.txt.
type fixture struct{ dir string }

// fixtures writes the captures the examples read: trace.pcap, synfin
// gen's workload of every lifecycle (IPv4 and IPv6 over Ethernet) with
// the server of half its connections moved to port 443, as the examples
// filter it; its thirds as the parts of a capture (part1.pcap ...),
// rotated files (rotated/trace1.pcap ..., ring/trace1.pcap ...) and two
// inputs (a.pcap, b.pcap, b.pcapng); long.pcap, gen's long transfer; the
// seed's capture.txt; and client.pcap and server.pcap, the two sides of
// the lab's router in syn-retransmit (vantage/testdata).
func fixtures(t *testing.T, bin string) fixture {
	dir := t.TempDir()
	raw, err := exec.Command(bin, "gen", "-w", "-", "--conns", "300", "-q").Output()
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	type packet struct {
		ci   gopacket.CaptureInfo
		data []byte
	}
	var pkts []packet
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		movePort(data, 9988, 443)
		pkts = append(pkts, packet{ci, data})
	}
	write := func(name string, pkts []packet) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w := pcapgo.NewWriter(f)
		if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			if err := w.WritePacket(p.ci, p.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("trace.pcap", pkts)
	n := len(pkts) / 3
	for i, part := range [][]packet{pkts[:n], pkts[n : 2*n], pkts[2*n:]} {
		for _, name := range []string{"part%d.pcap", "rotated/trace%d.pcap", "ring/trace%d.pcap"} {
			write(fmt.Sprintf(name, i+1), part)
		}
		if i < 2 {
			write(string(rune('a'+i))+".pcap", part)
		}
	}
	// b.pcapng: the second third, as pcapng.
	f, err := os.Create(filepath.Join(dir, "b.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ng, err := pcapgo.NewNgWriter(f, r.LinkType())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts[n : 2*n] {
		if err := ng.WritePacket(p.ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := ng.Flush(); err != nil {
		t.Fatal(err)
	}
	// tcpdump checks the checksums moving the port changed.
	if out, err := exec.Command(testenv.NeedTool(t, "tcpdump"), "-vv", "-n", "-r", filepath.Join(dir, "trace.pcap")).Output(); err != nil || bytes.Contains(out, []byte("incorrect")) {
		t.Fatalf("tcpdump -vv -r trace.pcap: %v\n%.2000s", err, out)
	}
	if out, err := exec.Command(bin, "gen", "-w", filepath.Join(dir, "long.pcap"), "--transfer", "20000", "-q").CombinedOutput(); err != nil {
		t.Fatalf("gen --transfer: %v: %s", err, out)
	}
	seed, err := os.ReadFile(corpus.Seed(t, "capture.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "capture.txt"), seed, 0o644); err != nil {
		t.Fatal(err)
	}
	for from, to := range map[string]string{"syn-retransmit.pcap": "client.pcap", "syn-retransmit.server.pcap": "server.pcap"} {
		b, err := os.ReadFile(filepath.Join(moduleRoot(t), "vantage", "testdata", from))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, to), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return fixture{dir}
}

// movePort changes the port of a TCP server in an Ethernet frame from
// one number to another where the client's port is even (half the
// connections), and the TCP checksum with it (RFC 1624).
func movePort(b []byte, from, to uint16) {
	if len(b) < 14 {
		return
	}
	var tcp int
	switch uint16(b[12])<<8 | uint16(b[13]) {
	case 0x0800:
		if len(b) < 34 || b[23] != 6 {
			return
		}
		tcp = 14 + int(b[14]&0xf)*4
	case 0x86dd:
		if len(b) < 54 || b[20] != 6 {
			return
		}
		tcp = 54
	default:
		return
	}
	if len(b) < tcp+18 {
		return
	}
	port := func(off int) uint16 { return uint16(b[off])<<8 | uint16(b[off+1]) }
	for _, off := range []int{tcp, tcp + 2} {
		if port(off) != from || port(tcp+tcp+2-off)%2 != 0 {
			continue
		}
		b[off], b[off+1] = byte(to>>8), byte(to)
		c := uint32(^(uint16(b[tcp+16])<<8 | uint16(b[tcp+17]))) + uint32(^from) + uint32(to)
		c = c&0xffff + c>>16
		c = c&0xffff + c>>16
		b[tcp+16], b[tcp+17] = byte(^uint16(c)>>8), byte(^uint16(c))
	}
}

// result is how an example ended.
type result struct {
	dir            string
	stdout, stderr string
	code           int
}

// exampleEnv makes the directory an example runs in, with the fixtures,
// and its environment: synfin first on PATH (a copy when the example
// changes the file), sudo as nothing more than running the command when
// the test is root, HOME in the directory, time in UTC.
func exampleEnv(t *testing.T, bin string, fx fixture, copyBin bool) (string, []string) {
	dir := t.TempDir()
	ents, err := os.ReadDir(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.Symlink(filepath.Join(fx.dir, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	bindir := filepath.Join(dir, ".bin")
	if err := os.Mkdir(bindir, 0o755); err != nil {
		t.Fatal(err)
	}
	if copyBin {
		b, err := os.ReadFile(bin)
		if err == nil {
			err = os.WriteFile(filepath.Join(bindir, "synfin"), b, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
	} else if err := os.Symlink(bin, filepath.Join(bindir, "synfin")); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.WriteFile(filepath.Join(bindir, "sudo"), []byte("#!/bin/sh\nexec \"$@\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "PATH="+bindir+":"+os.Getenv("PATH"), "HOME="+dir, "TZ=UTC", "NO_PROGRESS=1", "LANG=C.UTF-8", "MANPAGER=cat")
	// Go's caches stay where they are, wherever HOME is.
	goenv, err := exec.Command(testenv.NeedTool(t, "go"), "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} {
		env = append(env, k+"="+strings.Split(string(goenv), "\n")[i])
	}
	return dir, env
}

// shell returns the shell to run an example with: fish for fish's own
// syntax, else bash.
func shell(line string) string {
	if strings.Contains(line, "completion fish") {
		return "fish"
	}
	return "bash"
}

// runExample runs one example and checks it.
func runExample(t *testing.T, ex example, bin, root string, fx fixture) {
	line := strings.ReplaceAll(ex.line, "FILE", "trace.pcap")
	if live(line) {
		runLive(t, ex, line, bin, fx)
		return
	}
	dir, env := exampleEnv(t, bin, fx, strings.Contains(line, "setcap"))
	cwd := dir
	if strings.HasPrefix(line, "go ") || strings.HasPrefix(line, "CGO_ENABLED=") {
		// In the checkout, installing and building into the example's
		// directory, not $GOPATH/bin or the checkout.
		cwd = root
		goflags, err := exec.Command(testenv.NeedTool(t, "go"), "env", "GOFLAGS").Output()
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, "GOBIN="+filepath.Join(dir, "gobin"), "GOFLAGS="+strings.TrimSpace(string(goflags))+" -o="+dir+"/")
	}
	r := run(t, cwd, env, 5*time.Minute, shell(line), "-c", line)
	r.dir = dir
	if r.code != 0 {
		t.Fatalf("%s: %s: exit %d\nstdout:\n%.2000s\nstderr:\n%.2000s", ex.from, line, r.code, r.stdout, r.stderr)
	}
	checkFile(t, line, cwd, env, r)
}

// run runs a program and returns how it ended.
func run(t *testing.T, dir string, env []string, timeout time.Duration, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil && cmd.ProcessState == nil {
		t.Fatalf("%s: %v", name, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %q: still running after %v", name, args, timeout)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// tcpdumpOut runs tcpdump and returns what it prints.
func tcpdumpOut(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	r := run(t, dir, env, time.Minute, testenv.NeedTool(t, "tcpdump"), args...)
	if r.code != 0 {
		t.Fatalf("tcpdump %q: exit %d: %s", args, r.code, r.stderr)
	}
	return r.stdout
}

// checkFile checks what an example that reads or writes files printed
// and wrote.
func checkFile(t *testing.T, line, cwd string, env []string, r result) {
	w := strings.Fields(line)
	has := func(s string) bool { return strings.Contains(line, s) }
	file := func(name string) string {
		b, err := os.ReadFile(filepath.Join(r.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	switch {
	case len(w) > 2 && w[0] == "synfin" && w[1] == "read" && !has("|") && !has("--annotate") && !has("-w ") && !has("--conn"):
		// tcpdump prints the same lines for the same flags. Inputs named
		// more than once or by a glob are merged by mergecap first, as
		// synfin merges them.
		var args, files []string
		for i := 2; i < len(w); i++ {
			switch w[i] {
			case "--jobs":
				i++
			case "-r":
				i++
				m, _ := filepath.Glob(filepath.Join(r.dir, strings.Trim(w[i], "'")))
				files = append(files, m...)
			default:
				args = append(args, w[i])
			}
		}
		in := files[0]
		if len(files) > 1 {
			in = filepath.Join(t.TempDir(), "merged.pcapng")
			if c := run(t, r.dir, env, time.Minute, testenv.NeedTool(t, "mergecap"), append([]string{"-w", in}, files...)...); c.code != 0 {
				t.Fatalf("mergecap: %s", c.stderr)
			}
		}
		if want := tcpdumpOut(t, env, r.dir, append([]string{"-r", in}, args...)...); r.stdout != want {
			t.Errorf("differs from tcpdump %q:\n%s", args, firstDiff(want, r.stdout))
		}
	case has("synfin read -r trace.pcap -w - port 9988 | tcpdump -n -r -"):
		if want := tcpdumpOut(t, env, r.dir, "-n", "-r", "trace.pcap", "port", "9988"); want == "" || r.stdout != want {
			t.Errorf("differs from tcpdump -r trace.pcap port 9988:\n%s", firstDiff(want, r.stdout))
		}
	case has("-w whole.pcapng"):
		// The rotated files, read as one, are the capture they were cut from.
		if got, want := tcpdumpOut(t, env, r.dir, "-n", "-r", "whole.pcapng"), tcpdumpOut(t, env, r.dir, "-n", "-r", "trace.pcap"); got != want {
			t.Errorf("whole.pcapng differs from trace.pcap:\n%s", firstDiff(want, got))
		}
	case has("--conn ") && has("-w "):
		// tcpdump: the packets of as many connections as --conn names.
		pairs := map[string]bool{}
		out := w[slices.Index(w, "-w")+1]
		for _, m := range regexp.MustCompile(`IP6? (\S+) > (\S+):`).FindAllStringSubmatch(tcpdumpOut(t, env, r.dir, "-n", "-r", out), -1) {
			pairs[min(m[1], m[2])+" "+max(m[1], m[2])] = true
		}
		if n := strings.Count(line, "--conn "); len(pairs) != n {
			t.Errorf("%s holds %d connections, not %d", out, len(pairs), n)
		}
	case has("synfin read") || has("synfin explain -r") && !has("|") && !has("--html"):
		if !strings.Contains(r.stdout, "Connection ") && !strings.Contains(r.stdout, "连接 ") && !has("synfin read") || r.stdout == "" {
			t.Errorf("printed:\n%.500s", r.stdout)
		}
	case has("synfin compare"):
		// As many segments lost between the points as tcpdump shows
		// SYN-ACKs at the server's side and not at the client's.
		count := func(name string) int {
			return strings.Count(tcpdumpOut(t, env, r.dir, "-n", "-r", name), "Flags [S.]")
		}
		lost := count("server.pcap") - count("client.pcap")
		var v struct {
			Connections []struct{ Counts map[string]int }
		}
		switch {
		case has("--json"):
			if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || len(v.Connections) != 1 || v.Connections[0].Counts["lost"] != lost {
				t.Errorf("want one connection, %d lost (%v):\n%.2000s", lost, err, r.stdout)
			}
		case !strings.Contains(r.stdout, fmt.Sprintf("lost between the points: %d", lost)) && !strings.Contains(r.stdout, fmt.Sprintf("在两点之间丢失：%d", lost)):
			t.Errorf("want %d lost:\n%.2000s", lost, r.stdout)
		}
	case has("synfin watch --json"):
		// JSON Lines, a snapshot first, and with an expression only the
		// listeners it names.
		for i, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var v struct {
				Type      string
				Listeners []struct{ Lport int }
			}
			if err := json.Unmarshal([]byte(l), &v); err != nil || i == 0 && v.Type != "snapshot" {
				t.Fatalf("line %d: %q (%v)", i+1, l, err)
			}
			for _, ln := range v.Listeners {
				if has("port 22") && ln.Lport != 22 {
					t.Errorf("listener on port %d shown for port 22", ln.Lport)
				}
			}
		}
	case has("synfin watch"):
		// One screen per interval and one at the end, in the language asked.
		title := map[bool]string{false: "Sockets by state", true: "各状态的套接字"}[has("--lang zh")]
		if n := strings.Count(r.stdout, title); n < 2 {
			t.Errorf("%d screens:\n%.2000s", n, r.stdout)
		}
	case has("lab --list"):
		if n := strings.Count(r.stdout, "\n"); n < 10 {
			t.Errorf("lists %d scenarios", n)
		}
	case has("lab --sweep"):
	case has("synfin lab backlog-full"):
		// The listener's queue as sock_diag shows it: backlog + 1.
		if !strings.Contains(r.stdout, "accept queue 11, backlog 10") {
			t.Errorf("no full queue:\n%.3000s", r.stdout)
		}
	case has("synfin lab"):
		// The lab sets the states it reads in the packets beside the
		// kernel's (or netstack's) and agrees.
		if !regexp.MustCompile(`(\d+)/(\d+) rows agree`).MatchString(r.stdout) && !has("--lang zh") {
			t.Errorf("no verdict:\n%.3000s", r.stdout)
		}
		if has("-w syn.pcap") {
			// tcpdump sees the client's SYN sent again with its sequence number.
			syns := regexp.MustCompile(`Flags \[S\], seq (\d+)`).FindAllStringSubmatch(tcpdumpOut(t, env, r.dir, "-n", "-S", "-r", "syn.pcap"), -1)
			if len(syns) < 2 || syns[0][1] != syns[1][1] {
				t.Errorf("syn.pcap: SYNs %q, want one sent again", syns)
			}
			if !strings.Contains(file("syn.html"), "<html") {
				t.Error("syn.html is not HTML")
			}
		}
	case has("--json port 443 | jq"):
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		for _, l := range lines {
			var v struct{ Teardown struct{ Pattern string } }
			if err := json.Unmarshal([]byte(l), &v); err != nil || v.Teardown.Pattern != "abort-rst" {
				t.Errorf("jq printed %q (%v)", l, err)
			}
		}
		// tcpdump: the connections on port 443 that a reset ends after
		// the server's SYN-ACK.
		seen := map[string]string{}
		re := regexp.MustCompile(`IP6? (\S+) > (\S+): Flags \[([^\]]*)\]`)
		for _, m := range re.FindAllStringSubmatch(tcpdumpOut(t, env, r.dir, "-n", "-r", "trace.pcap", "port 443"), -1) {
			k := min(m[1], m[2]) + " " + max(m[1], m[2])
			switch {
			case m[3] == "S.":
				seen[k] = "open"
			case strings.Contains(m[3], "R") && seen[k] == "open":
				seen[k] = "reset"
			}
		}
		resets := 0
		for _, v := range seen {
			if v == "reset" {
				resets++
			}
		}
		if len(lines) != resets {
			t.Errorf("%d connections abort-rst; tcpdump shows %d reset after the handshake", len(lines), resets)
		}
	case has("synfin conns -r"):
		if strings.Count(r.stdout, "\n") < 100 {
			t.Errorf("conns lists %d lines of 300 connections", strings.Count(r.stdout, "\n"))
		}
		// In start order: the ids count up (tcpdump's order of the first
		// packets; TestConnsStart holds the starts to tshark's).
		table, _, _ := strings.Cut(r.stdout, "\n\n") // --summary's follows a blank line
		for i, l := range strings.Split(strings.TrimSpace(table), "\n")[1:] {
			if id := strings.Fields(l)[0]; has("--sort start") && id != fmt.Sprint(i+1) {
				t.Fatalf("row %d is connection %s", i+1, id)
			}
		}
	case has("jq .teardown"):
		var v struct{ Pattern string }
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Pattern == "" {
			t.Errorf("jq .teardown printed %q (%v)", r.stdout, err)
		}
	case has("--html report.html") || has("--format html"):
		if !strings.Contains(file("report.html"), "<html") {
			t.Error("report.html is not HTML")
		}
	case has("--format svg") || has("--format tsg"):
		out := w[slices.Index(w, "-o")+1]
		d := xml.NewDecoder(strings.NewReader(file(out)))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", out, err)
			}
		}
		if has("--format tsg") && !strings.Contains(file(out), "time-sequence graph") {
			t.Errorf("%s has no time-sequence graph", out)
		}
	case has("--format mermaid"):
		if !strings.Contains(file("notes.md"), "sequenceDiagram") {
			t.Error("notes.md has no sequenceDiagram")
		}
	case has("synfin diagram"):
		if !strings.Contains(r.stdout, "Connection 1") {
			t.Errorf("no ladder:\n%.1000s", r.stdout)
		}
	case has("gen -w - --conns 100 | synfin conns"):
		// gen's 100 connections, one row each under the header.
		if n := strings.Count(r.stdout, "\n"); n != 101 {
			t.Errorf("%d lines for 100 connections", n)
		}
	case has("gen -w ref.pcap"):
		if out := tcpdumpOut(t, env, r.dir, "-n", "-c", "3", "-r", "ref.pcap"); strings.Count(out, "\n") != 3 {
			t.Errorf("tcpdump -r ref.pcap: %q", out)
		}
	case has("gen -w ") && !has("-w -"):
		// The packets gen says it wrote are the ones tcpdump reads.
		m := regexp.MustCompile(`(\d+) packets`).FindStringSubmatch(r.stderr)
		if n := strings.Count(tcpdumpOut(t, env, r.dir, "-n", "-r", w[3]), "\n"); m == nil || fmt.Sprint(n) != m[1] {
			t.Errorf("tcpdump reads %d packets; gen said %q", n, r.stderr)
		}
	case has("completion bash"):
		c := run(t, r.dir, env, time.Minute, "bash", "-c", line+"\ncomplete -p synfin")
		if c.code != 0 || !strings.Contains(c.stdout, "synfin") {
			t.Errorf("bash registers no completion for synfin: %q %q", c.stdout, c.stderr)
		}
	case has("completion zsh"):
		zsh := testenv.NeedTool(t, "zsh")
		if c := run(t, r.dir, env, time.Minute, zsh, "-n", filepath.Join(r.dir, ".zfunc", "_synfin")); c.code != 0 {
			t.Errorf("zsh -n: %s", c.stderr)
		}
	case has("completion fish"):
		c := run(t, r.dir, env, time.Minute, testenv.NeedTool(t, "fish"), "-c", line+"; complete -C 'synfin expl'")
		if !strings.HasPrefix(c.stdout, "explain") {
			t.Errorf("fish completes synfin expl as %q", c.stdout)
		}
	case has("man -l"):
		if !strings.Contains(r.stdout, "SYNOPSIS") {
			t.Errorf("man -l shows:\n%.500s", r.stdout)
		}
	case has("synfin man >"):
		if mandoc, err := exec.LookPath("mandoc"); err == nil {
			if c := run(t, r.dir, env, time.Minute, mandoc, "-Tlint", "-W", "warning", "synfin.1"); c.code != 0 || c.stdout+c.stderr != "" {
				t.Errorf("mandoc -Tlint: %s%s", c.stdout, c.stderr)
			}
		}
	case has("--version"):
		if strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("--version: %q", r.stdout)
		}
	case has("go install"):
		// Go's ELF reader: a static binary, with no interpreter and no
		// shared library.
		f, err := elf.Open(filepath.Join(r.dir, "gobin", "synfin"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		libs, _ := f.ImportedLibraries()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("the binary has an interpreter: not static")
			}
		}
		if len(libs) > 0 {
			t.Errorf("the binary needs %q", libs)
		}
	case has("go build -ldflags"):
		c := run(t, cwd, env, time.Minute, filepath.Join(r.dir, "synfin"), "--version")
		if !regexp.MustCompile(`^synfin v1\.2\.0 \(module synfin, .*\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`).MatchString(c.stdout) {
			t.Errorf("--version of the build: %q", c.stdout)
		}
	case has("setcap"):
		c := run(t, r.dir, env, time.Minute, testenv.NeedTool(t, "getcap"), filepath.Join(r.dir, ".bin", "synfin"))
		if !strings.Contains(c.stdout, "cap_net_raw=ep") {
			t.Errorf("getcap: %q", c.stdout)
		}
	case strings.HasSuffix(line, " --help"):
		if !strings.HasPrefix(r.stdout, "Usage: ") {
			t.Errorf("printed:\n%.300s", r.stdout)
		}
	case has("tcpdump -n -S -r"):
	default:
		t.Logf("%q: its exit status checked; no oracle for its output", line)
	}
}

// firstDiff shows where two outputs first differ.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q", i+1, w, g)
		}
	}
	if want != got {
		return fmt.Sprintf("the ends: want %q, got %q", want[max(0, len(want)-80):], got[max(0, len(got)-80):])
	}
	if want != got {
		return fmt.Sprintf("the ends: want %q, got %q", want[max(0, len(want)-80):], got[max(0, len(got)-80):])
	}
	return ""
}

// live reports whether an example works the network: it captures, or
// serves or dials on fixed ports.
func live(line string) bool {
	return strings.Contains(line, "synfin capture") || strings.Contains(line, "synfin serve") || strings.Contains(line, "synfin dial") ||
		strings.HasPrefix(line, "tcpdump") && strings.Contains(line, "-i ")
}

// runLive runs an example that works the network, in network
// namespaces of its own, with traffic the test makes.
func runLive(t *testing.T, ex example, line, bin string, fx fixture) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin, testenv.CapNetRaw)
	testenv.NeedTool(t, "ip")
	dir, env := exampleEnv(t, bin, fx, false)
	switch {
	case strings.Contains(line, "synfin dial"):
		liveDial(t, ex, line, dir, env)
	case strings.Contains(line, "synfin serve"):
		liveServe(t, line, dir, env)
	default:
		liveCapture(t, line, dir, env)
	}
}

func newNS(t *testing.T) *netns.NS {
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// proc is a program started (in a namespace, if one is given) in a
// process group of its own.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr output
	done           chan struct{}
}

// output is a file a process writes while the test reads it.
type output struct{ *os.File }

func (o output) String() string {
	b, _ := os.ReadFile(o.Name())
	return string(b)
}

func startIn(t *testing.T, ns *netns.NS, dir string, env []string, argv ...string) *proc {
	t.Helper()
	if ns != nil {
		argv = append([]string{"ip", "netns", "exec", ns.Name}, argv...)
	}
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	p.cmd.Dir, p.cmd.Env = dir, env
	for _, o := range []*output{&p.stdout, &p.stderr} {
		f, err := os.CreateTemp(t.TempDir(), "out")
		if err != nil {
			t.Fatal(err)
		}
		o.File = f
		t.Cleanup(func() { f.Close() })
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout.File, p.stderr.File
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
	return p
}

// waitFor waits up to d for the output to say what f looks for.
func (p *proc) waitFor(d time.Duration, f func(stdout, stderr string) bool) bool {
	return waitFor(d, func() bool { return f(p.stdout.String(), p.stderr.String()) })
}

func (p *proc) listening(t *testing.T) {
	t.Helper()
	if !p.waitFor(10*time.Second, func(o, e string) bool { return strings.Contains(o+e, "listening on") }) {
		t.Fatalf("%q did not start:\n%s%s", p.cmd.Args, p.stdout.String(), p.stderr.String())
	}
}

// stop sends sig to the process (the first of a pipeline: the one named
// first) and returns its exit status.
func (p *proc) stop(t *testing.T, sig syscall.Signal, first string) int {
	t.Helper()
	pid := p.cmd.Process.Pid
	if c := childNamed(pid, first); c != 0 {
		pid = c
	}
	syscall.Kill(pid, sig)
	return p.exit(t, 10*time.Second)
}

// exit waits for the process to end by itself.
func (p *proc) exit(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("%q still running after %v:\n%s%s", p.cmd.Args, d, p.stdout.String(), p.stderr.String())
	}
	return -1
}

// childNamed returns the child of ppid whose command is name, or 0.
func childNamed(ppid int, name string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // not a process
		}
		// pid (comm) state ppid ...
		var pid, parent int
		i, j := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
		if i < 0 || j < i || string(b[i+1:j]) != name {
			continue
		}
		fmt.Sscan(string(b[:i]), &pid)
		fmt.Sscan(string(b[j+3:]), &parent)
		if parent == ppid {
			return pid
		}
	}
	return 0
}

// dialIn connects from ns to addr.
func dialIn(t *testing.T, ns *netns.NS, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	if err := ns.Do(func() (err error) { c, err = net.DialTimeout("tcp4", addr, 5*time.Second); return }); err != nil {
		t.Fatal(err)
	}
	return c
}

// connect makes n connections from ns to addr one after another, each
// sending "hello" and closing, and returns their ports.
func connect(t *testing.T, ns *netns.NS, addr string, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		c := dialIn(t, ns, addr)
		ports = append(ports, c.LocalAddr().(*net.TCPAddr).Port)
		c.Write([]byte("hello"))
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the servers' FINs
	return ports
}

// hasPorts reports whether out names each port as an address's.
func hasPorts(out string, ports []int) bool {
	for _, p := range ports {
		if !strings.Contains(out, fmt.Sprint(":", p)) && !strings.Contains(out, fmt.Sprint(".", p)) {
			return false
		}
	}
	return true
}

// sockets returns the kernel's TCP sockets in ns, as ss shows them:
// state by "local peer".
func sockets(t *testing.T, ns *netns.NS) map[string]string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns.Name, testenv.NeedTool(t, "ss"), "-tanH").Output()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) >= 5 {
			m[f[3]+" "+f[4]] = f[0]
		}
	}
	return m
}

// wantStates checks the kernel's states of sockets ("local peer").
func wantStates(t *testing.T, ns *netns.NS, want map[string]string) {
	t.Helper()
	got := sockets(t, ns)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("socket %s: %q, want %q (ss: %v)", k, got[k], w, got)
		}
	}
}

// oracleArgs returns the tcpdump command that prints what a capture
// example prints, or nil.
func oracleArgs(line string) []string {
	args, ok := strings.CutPrefix(strings.TrimPrefix(line, "sudo "), "synfin capture ")
	switch {
	case ok && !regexp.MustCompile(`(^| )(\||-w|--annotate|--explain)( |$)`).MatchString(args):
		return append([]string{"tcpdump", "-l"}, strings.Fields(args)...)
	case strings.HasPrefix(line, "tcpdump -w - ") && strings.Contains(line, "| synfin read -r - "):
		capture, read, _ := strings.Cut(strings.TrimPrefix(line, "tcpdump -w - "), " | synfin read -r - ")
		return append(append([]string{"tcpdump", "-l"}, strings.Fields(capture)...), strings.Fields(read)...)
	}
	return nil
}

// liveCapture runs an example that captures, on loopback in a namespace
// (or on eth0, one end of a veth pair), while the test makes
// connections through it.
func liveCapture(t *testing.T, line, dir string, env []string) {
	ns := newNS(t)
	clients, servers, host := ns, ns, "127.0.0.1"
	if strings.Contains(line, "-i eth0") {
		v, err := netns.Pair(netip.MustParsePrefix("10.9.0.1/24"), netip.MustParsePrefix("10.9.0.2/24"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		for _, args := range [][]string{{"set", v.NameA, "down"}, {"set", v.NameA, "name", "eth0"}, {"set", "eth0", "up"}} {
			if out, err := exec.Command("ip", append([]string{"-n", v.A.Name, "link"}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("ip link %q: %v: %s", args, err, out)
			}
		}
		ns, clients, servers, host = v.A, v.A, v.B, "10.9.0.2"
	} else {
		// As on a machine, an interface other than lo is up: the one
		// tcpdump and synfin capture on when told none.
		for _, args := range [][]string{{"add", "eth0", "type", "veth", "peer", "name", "eth1"}, {"set", "eth1", "up"}, {"set", "eth0", "up"}} {
			if out, err := exec.Command("ip", append([]string{"-n", ns.Name, "link"}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("ip link %q: %v: %s", args, err, out)
			}
		}
	}
	port := "9988"
	if strings.Contains(line, "443") {
		port = "443"
	}
	labtest.Sink(t, servers, net.JoinHostPort(host, port), 50*time.Millisecond)
	var oracle *proc
	if args := oracleArgs(line); args != nil {
		oracle = startIn(t, ns, dir, env, args...)
		oracle.listening(t)
	}
	p := startIn(t, ns, dir, env, "bash", "-c", line)
	p.listening(t)
	n := 2
	if strings.Contains(line, "-c 100") {
		n = 30 // a SYN and a FIN each way: 120 packets the filter passes
	}
	ports := connect(t, clients, net.JoinHostPort(host, port), n)
	has := func(s string) bool { return strings.Contains(line, s) }
	if has("--hold") {
		// Explained 2 s after the close, while the capture goes on.
		if !p.waitFor(10*time.Second, func(o, _ string) bool { return hasPorts(o, ports) }) {
			t.Errorf("connections %v not explained 2 s after their close:\n%s", ports, p.stdout.String())
		}
	}
	// synfin writes lines out within 0.1 s; libpcap hands tcpdump a block
	// of packets 1 s after its first, and drops what it holds when
	// interrupted.
	time.Sleep(1500 * time.Millisecond)
	var code int
	if has("-c ") || has("--for ") {
		code = p.exit(t, 20*time.Second)
	} else {
		code = p.stop(t, syscall.SIGINT, strings.Fields(strings.TrimPrefix(line, "sudo "))[0])
	}
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.stderr.String())
	}
	out := p.stdout.String()
	switch {
	case oracle != nil:
		if c := oracle.stop(t, syscall.SIGINT, ""); c != 0 {
			t.Fatalf("tcpdump: exit %d: %s", c, oracle.stderr.String())
		}
		// Each packet socket stamps its copy of a loopback packet when
		// it gets it (nothing stamped it before): the times may differ by
		// microseconds, the rest of each line not.
		// tcpdump interrupted ends its output with an empty line ("perhaps
		// we didn't manage to finish a line"); synfin does not.
		want := strings.TrimSuffix(oracle.stdout.String(), "\n\n") + "\n"
		if want == "\n" || untimed(out) != untimed(want) {
			t.Errorf("differs from %q on the same traffic (%d and %d bytes):\n%s\nstderr: %s", oracle.cmd.Args[4:], len(want), len(out), firstDiff(untimed(want), untimed(out)), p.stderr.String())
		}
		if d := maxSkew(t, want, out); d > time.Millisecond {
			t.Errorf("times differ from tcpdump's by up to %v", d)
		}
	case has("--annotate -w seed.pcap"):
		// Each line is tcpdump's line of the packet written, annotated.
		want := strings.Split(strings.TrimSpace(tcpdumpOut(t, env, dir, "-n", "-r", "seed.pcap")), "\n")
		got := strings.Split(strings.TrimSpace(out), "\n")
		if len(got) != len(want) {
			t.Fatalf("%d lines printed, %d packets written", len(got), len(want))
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				t.Errorf("line %d: %q, tcpdump -r seed.pcap: %q", i+1, got[i], want[i])
			}
		}
	case has(" -C ") || has(" -G "):
		// One file so far, named as tcpdump names the first: FILE0 of a
		// ring of ten, or FILE formatted by strftime; tcpdump reads the
		// connections in it.
		name := regexp.MustCompile(`-w '?([^' ]+)`).FindStringSubmatch(line)[1]
		files, _ := filepath.Glob(filepath.Join(dir, regexp.MustCompile(`%.`).ReplaceAllString(name, "*")+"*"))
		if len(files) != 1 || !regexp.MustCompile(`^(ring\.pcap0|lo-\d{8}-\d{6}\.pcap)$`).MatchString(filepath.Base(files[0])) {
			t.Fatalf("files written: %q", files)
		}
		if got := tcpdumpOut(t, env, dir, "-n", "-r", files[0]); !hasPorts(got, ports) {
			t.Errorf("connections %v not all in %s:\n%s", ports, files[0], got)
		}
	case has("--lang zh"):
		if !hasPorts(out, ports) || !strings.Contains(out, "连接") {
			t.Errorf("connections %v not explained in Chinese at Ctrl-C:\n%s", ports, out)
		}
	case has("-w handshake.pcap -c 100"):
		all := tcpdumpOut(t, env, dir, "-n", "-r", "handshake.pcap")
		synfin := tcpdumpOut(t, env, dir, "-n", "-r", "handshake.pcap", "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0")
		if strings.Count(all, "\n") != 100 || synfin != all {
			t.Errorf("handshake.pcap: %d packets, %d with SYN or FIN", strings.Count(all, "\n"), strings.Count(synfin, "\n"))
		}
	default: // conns and explain: each connection made
		if !hasPorts(out, ports) {
			t.Errorf("connections %v not all shown:\n%s", ports, out)
		}
	}
}

var timeRE = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{6} `)

// untimed is tcpdump's lines without their times.
func untimed(s string) string { return timeRE.ReplaceAllString(s, "") }

// maxSkew is the largest difference between the times of two outputs'
// lines, taken in order.
func maxSkew(t *testing.T, a, b string) time.Duration {
	ta, tb := timeRE.FindAllString(a, -1), timeRE.FindAllString(b, -1)
	var d time.Duration
	for i := range min(len(ta), len(tb)) {
		x, err1 := time.Parse("15:04:05.000000 ", ta[i])
		y, err2 := time.Parse("15:04:05.000000 ", tb[i])
		if err1 != nil || err2 != nil {
			t.Fatalf("times %q %q", ta[i], tb[i])
		}
		d = max(d, x.Sub(y).Abs())
	}
	return d
}

// liveServe runs a serve example in a namespace and connects to it as
// its description says.
func liveServe(t *testing.T, line, dir string, env []string) {
	ns := newNS(t)
	srv := startIn(t, ns, dir, env, "bash", "-c", line)
	srv.listening(t)
	switch line {
	case "synfin serve":
		// The seed: two clients connect and exit. The server closes the
		// first when it accepts the second: the first client ends in
		// TIME-WAIT, the second waits in FIN-WAIT-2 while the server sits
		// in CLOSE-WAIT (the seed's last lines), as the kernel says.
		var ports []string
		for range 2 {
			c := dialIn(t, ns, "127.0.0.1:9988")
			ports = append(ports, c.LocalAddr().String())
			c.Close()
			time.Sleep(300 * time.Millisecond)
		}
		wantStates(t, ns, map[string]string{
			ports[0] + " 127.0.0.1:9988": "TIME-WAIT",
			"127.0.0.1:9988 " + ports[0]: "",
			ports[1] + " 127.0.0.1:9988": "FIN-WAIT-2",
			"127.0.0.1:9988 " + ports[1]: "CLOSE-WAIT",
		})
	case "synfin serve --mode sink --wait 300ms":
		// tcpdump: FIN, ACK, FIN, ACK, each a segment of its own.
		td := startIn(t, ns, dir, env, "tcpdump", "-l", "-i", "lo", "-n", "-S", "port", "9988")
		td.listening(t)
		c := dialIn(t, ns, "127.0.0.1:9988")
		client := c.LocalAddr().String()
		c.Close()
		time.Sleep(time.Second)
		if code := td.stop(t, syscall.SIGINT, ""); code != 0 {
			t.Fatalf("tcpdump: exit %d", code)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(td.stdout.String()), "\n")[3:] {
			m := regexp.MustCompile(`IP (\S+) > \S+: Flags \[([^\]]*)\]`).FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("tcpdump: %q", l)
			}
			who := "server"
			if m[1] == strings.Replace(client, ":", ".", 1) {
				who = "client"
			}
			got = append(got, who+" "+m[2])
		}
		if want := []string{"client F.", "server .", "server F.", "client ."}; strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("teardown %q, want %q:\n%s", got, want, td.stdout.String())
		}
	case "synfin serve --mode rst --addr 127.0.0.1:7000":
		// The reset comes at once: it may end connect(2) already.
		var c net.Conn
		err := ns.Do(func() (err error) { c, err = net.DialTimeout("tcp4", "127.0.0.1:7000", 5*time.Second); return })
		if err == nil {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Read(make([]byte, 1))
			c.Close()
		}
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%v, want the kernel's connection reset", err)
		}
	case "synfin serve --no-accept":
		// The kernel completes backlog+1 handshakes into the queue and
		// drops the next SYN: ss shows the listener's queue and backlog.
		for range 11 {
			dialIn(t, ns, "127.0.0.1:9988").Close()
		}
		err := ns.Do(func() error { _, err := net.DialTimeout("tcp4", "127.0.0.1:9988", 300*time.Millisecond); return err })
		if err == nil {
			t.Error("the 12th connect succeeded")
		}
		out, _ := exec.Command("ip", "netns", "exec", ns.Name, "ss", "-ltnH").Output()
		if f := strings.Fields(string(out)); len(f) < 3 || f[1] != "11" || f[2] != "10" {
			t.Errorf("ss -ltn: %q, want a queue of 11 for backlog 10", out)
		}
	default:
		// Serves: a connection is accepted.
		c := dialIn(t, ns, "127.0.0.1:9988")
		c.Close()
		if !srv.waitFor(5*time.Second, func(o, _ string) bool { return strings.Contains(o, "accepted #1") }) {
			t.Errorf("no connection accepted:\n%s", srv.stdout.String())
		}
	}
	if code := srv.stop(t, syscall.SIGINT, ""); code != 130 {
		t.Errorf("exit %d at Ctrl-C, want 130:\n%s", code, srv.stderr.String())
	}
}

// liveDial runs a dial example against the server its description
// names, in a namespace.
func liveDial(t *testing.T, ex example, line, dir string, env []string) {
	m := regexp.MustCompile(`\(server: (synfin serve[^)]*)\)`).FindStringSubmatch(ex.desc)
	if m == nil {
		t.Fatalf("%s does not say which server %q needs: %q", ex.from, line, ex.desc)
	}
	ns := newNS(t)
	srv := startIn(t, ns, dir, env, "bash", "-c", m[1])
	srv.listening(t)
	d := startIn(t, ns, dir, env, "bash", "-c", line)
	if code := d.exit(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d against %s:\n%s%s", code, m[1], d.stdout.String(), d.stderr.String())
	}
	out := d.stdout.String()
	switch {
	case line == "synfin dial":
		// The seed's client against the seed's server: the client's FIN
		// is acknowledged and the server, reading nothing, keeps
		// CLOSE-WAIT.
		c := regexp.MustCompile(`connected #1 (\S+) -> `).FindStringSubmatch(out)
		if c == nil {
			t.Fatalf("dial printed:\n%s", out)
		}
		wantStates(t, ns, map[string]string{
			c[1] + " 127.0.0.1:9988": "FIN-WAIT-2",
			"127.0.0.1:9988 " + c[1]: "CLOSE-WAIT",
		})
	case strings.Contains(line, "--send 100 --shutdown"):
		if !strings.Contains(out, "read 100 bytes (peer sent FIN)") {
			t.Errorf("the echo not read:\n%s", out)
		}
	case strings.Contains(line, "--lport 40000 -c 2"):
		// Two connections from port 40000; the server closed first (the
		// client read until its FIN) and holds TIME-WAIT for the port, as
		// the kernel says.
		if !strings.Contains(out, "connected #2 127.0.0.1:40000 -> ") {
			t.Errorf("no second connection from port 40000:\n%s", out)
		}
		wantStates(t, ns, map[string]string{"127.0.0.1:9988 127.0.0.1:40000": "TIME-WAIT"})
	default:
		if !strings.Contains(out, "connected #1") {
			t.Errorf("did not connect:\n%s", out)
		}
	}
	srv.stop(t, syscall.SIGINT, "")
}

// waitFor waits up to d for f to hold.
func waitFor(d time.Duration, f func() bool) bool {
	for end := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		if f() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// TestServeOutOfFiles: "synfin serve" started under "ulimit -n 64" and
// sent 100 connections to hold runs out of file descriptors. It says so
// on standard error, keeps running, and accepts again once the
// connections close, as net/http's server does. The limit is the
// kernel's, as /proc/PID/limits shows it.
func TestServeOutOfFiles(t *testing.T) {
	bin := synfinBin(t)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// sink reads each connection until the client's FIN, then closes it:
	// closing the clients gives the descriptors back.
	p := startIn(t, nil, "", nil, testenv.NeedTool(t, "sh"), "-c", `ulimit -n 64 && exec "$0" serve --mode sink --addr "$1"`, bin, addr)
	p.listening(t)
	limits, err := os.ReadFile(fmt.Sprint("/proc/", p.cmd.Process.Pid, "/limits"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Max open files\s+64\s+64`).Match(limits) {
		t.Fatalf("the limit did not take:\n%s", limits)
	}

	// One at a time, each accepted before the next (a burst would wait in
	// the accept queue, and past it for the SYN-ACK to be sent again),
	// until accept fails; then on until the queue is full too.
	retry := regexp.MustCompile(`accept on ` + regexp.QuoteMeta(addr) + `: too many open files; retrying in \d+(\.\d+)?m?s\n`)
	backedOff := func(_, e string) bool { return retry.MatchString(e) }
	var conns []net.Conn
	for i := 1; i <= 100; i++ {
		c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
		if err != nil {
			break
		}
		conns = append(conns, c)
		p.waitFor(5*time.Second, func(o, e string) bool {
			return strings.Contains(o, fmt.Sprintf("accepted #%d ", i)) || backedOff(o, e)
		})
	}
	if !p.waitFor(10*time.Second, backedOff) {
		t.Errorf("%d connections held; stderr says nothing of backing off:\n%s", len(conns), p.stderr.String())
	}
	select {
	case <-p.done:
		t.Fatalf("serve exited when out of descriptors (%v):\n%s", p.cmd.ProcessState, p.stderr.String())
	default:
	}
	accepted := strings.Count(p.stdout.String(), "accepted #")
	if accepted >= len(conns) {
		t.Errorf("all %d connections held were accepted under a limit of 64 descriptors", accepted)
	}
	t.Logf("%d connections held, %d accepted before the limit", len(conns), accepted)

	for _, c := range conns {
		c.Close()
	}
	// Serves again: the connections still queued, then a new one.
	c, err := net.DialTimeout("tcp4", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial after closing: %v", err)
	}
	from := "from " + c.LocalAddr().String() + " "
	c.Close()
	if !p.waitFor(10*time.Second, func(o, _ string) bool { return strings.Contains(o, from) }) {
		t.Errorf("the connection %s not accepted after the others closed:\n%s", from, p.stdout.String())
	}
	if code := p.stop(t, syscall.SIGINT, ""); code != 130 {
		t.Errorf("exit status %d after SIGINT, want 130:\n%s", code, p.stderr.String())
	}
}
