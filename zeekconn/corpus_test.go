package zeekconn

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"synfin/internal/corpus"
	"synfin/internal/pcaptest"
	"synfin/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/expected.tsv with the current match counts")

// zeekTest is one row of the Zeek corpus index.
type zeekTest struct {
	folder, pcap, commands, oracles string
}

func readIndex(t *testing.T, dir string) []zeekTest {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "index.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var cols map[string]int
	var tests []zeekTest
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = map[string]int{}
			for i, c := range fields {
				cols[c] = i
			}
			continue
		}
		get := func(name string) string {
			i, ok := cols[name]
			if !ok || i >= len(fields) {
				t.Fatalf("index.tsv: no column %q", name)
			}
			return fields[i]
		}
		tests = append(tests, zeekTest{get("folder"), get("pcap"), get("zeek_commands"), get("oracle_files")})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return tests
}

// zeekRun is how the upstream test ran Zeek on the trace.
func zeekRun(zt zeekTest) *Config {
	cmd := zt.commands
	if i := strings.Index(cmd, ";"); i >= 0 {
		cmd = cmd[:i]
	}
	args := strings.Fields(cmd)
	bare, checksums := false, true
	for _, a := range args {
		switch a {
		case "-b":
			bare = true
		case "-C":
			checksums = false
		}
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(a) > 2 {
			bare = bare || strings.Contains(a, "b")
			checksums = checksums && !strings.Contains(a, "C")
		}
	}
	cfg := &Config{VerifyChecksums: checksums}
	if !bare {
		cfg.LikelyServerPorts = DefaultServerPorts()
	} else {
		// In bare mode only the protocol scripts the test loads add ports.
		var s PortSet
		for _, proto := range bareLoads[zt.folder] {
			s.Add(ProtocolPorts[proto]...)
		}
		if m := regexp.MustCompile(`^scripts\.base\.protocols\.([a-z0-9-]+)\.`).FindStringSubmatch(zt.folder); m != nil {
			s.Add(ProtocolPorts[m[1]]...)
		}
		cfg.LikelyServerPorts = &s
	}
	if zt.folder == "core.tcp.miss-end-data" {
		cfg.ReportGapsForPartial = true // the test's script redefs it
	}
	return cfg
}

// bareLoads lists protocol scripts @load-ed by core tests run with -b.
var bareLoads = map[string][]string{
	"core.tcp.missing-syn": {"http"},
	"core.history-flip":    {"http"},
	"core.local-flip":      {"http"},
	"core.vlan-mpls":       {"http"},
	"core.tcp-padding":     {"http"},
}

// replay runs the trace through a Table and returns the records.
func replay(t *testing.T, file string, cfg *Config) []Record {
	t.Helper()
	frames, err := pcaptest.File(t, file)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var out []Record
	tab := NewTable(cfg, func(r *Record) { out = append(out, *r) })
	var p wire.Packet
	for i := range frames {
		if !decode(&p, &frames[i]) {
			continue
		}
		tab.Packet(frames[i].Time, &p)
	}
	tab.Flush()
	return out
}

// decode decodes a frame, following MPLS label stacks on Ethernet, which
// Zeek reads and package wire leaves alone.
func decode(p *wire.Packet, fr *wire.Frame) bool {
	err := p.Decode(fr.Link, fr.Data)
	if err == nil {
		return true
	}
	if !errors.Is(err, wire.ErrNotIP) || fr.Link != wire.LinkEthernet {
		return false
	}
	b := fr.Data
	off := 12
	for off+4 <= len(b) {
		et := binary.BigEndian.Uint16(b[off:])
		switch et {
		case 0x8100, 0x88a8, 0x9100:
			off += 4
			continue
		case 0x8847:
			off += 2
			for off+4 <= len(b) {
				bottom := b[off+2]&1 != 0
				off += 4
				if bottom {
					return p.Decode(wire.LinkRaw, b[off:]) == nil
				}
			}
		}
		return false
	}
	return false
}

// row is one connection from a baseline, with the fields it gives.
type row struct {
	orig, resp netip.AddrPort
	f          map[string]string
}

// readLog parses a Zeek TSV log (with #fields) or a zeek-cut -m file (one
// header line naming the columns). It keeps TCP rows.
func readLog(t *testing.T, file string) []row {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	var rows []row
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "###"):
			continue
		case strings.HasPrefix(line, "#fields\t"):
			cols = strings.Split(line, "\t")[1:]
			continue
		case strings.HasPrefix(line, "#"):
			continue
		case cols == nil:
			cols = strings.Split(line, "\t")
			continue
		}
		vals := strings.Split(line, "\t")
		m := map[string]string{}
		for i, c := range cols {
			if i < len(vals) {
				m[c] = vals[i]
			}
		}
		if p, ok := m["proto"]; ok && p != "tcp" {
			continue
		}
		var o, r netip.AddrPort
		if _, ok := m["id.orig_h"]; ok {
			var err1, err2 error
			o, err1 = addrPort(m["id.orig_h"], m["id.orig_p"])
			r, err2 = addrPort(m["id.resp_h"], m["id.resp_p"])
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: bad row %q", file, line)
			}
		}
		rows = append(rows, row{o, r, m})
	}
	return rows
}

func addrPort(h, p string) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.AddrPort{}, err
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(p, "/tcp"), 10, 16)
	return netip.AddrPortFrom(a, uint16(n)), err
}

var connIDRe = regexp.MustCompile(`\[orig_h=([^,]+), orig_p=(\d+)/tcp, resp_h=([^,]+), resp_p=(\d+)/tcp.*\], ([^,\s]+)`)

// readPrinted parses text printed by a test script: lines of the
// connection_state_remove handler ("..., [orig_h=..., ...], HISTORY, ..."),
// or "HISTORY, CONN_STATE" lines for a trace of one connection.
func readPrinted(t *testing.T, file string) []row {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rows []row
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "###") {
			continue
		}
		if m := connIDRe.FindStringSubmatch(line); m != nil {
			if !strings.Contains(strings.ToLower(line), "remove") {
				continue
			}
			o, _ := addrPort(m[1], m[2])
			r, _ := addrPort(m[3], m[4])
			rows = append(rows, row{o, r, map[string]string{"history": m[5]}})
			continue
		}
		if parts := strings.Split(line, ", "); len(parts) == 2 && !strings.ContainsAny(line, "[]=") {
			rows = append(rows, row{f: map[string]string{"history": parts[0], "conn_state": parts[1]}})
		}
	}
	return rows
}

// compared are the fields checked, in report order.
var compared = []string{"conn_state", "history", "orig_pkts", "resp_pkts", "orig_bytes", "resp_bytes", "missed_bytes", "orig_ip_bytes", "resp_ip_bytes", "duration"}

func fieldOf(r *Record, name string) string {
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	switch name {
	case "conn_state":
		return r.ConnState
	case "history":
		if r.History == "" {
			return "-"
		}
		return r.History
	case "orig_pkts":
		return u(r.OrigPkts)
	case "resp_pkts":
		return u(r.RespPkts)
	case "orig_ip_bytes":
		return u(r.OrigIPBytes)
	case "resp_ip_bytes":
		return u(r.RespIPBytes)
	case "missed_bytes":
		return u(r.MissedBytes)
	case "orig_bytes", "resp_bytes", "duration":
		if !r.HasBytes {
			return "-"
		}
		switch name {
		case "orig_bytes":
			return u(r.OrigBytes)
		case "resp_bytes":
			return u(r.RespBytes)
		}
		return fmt.Sprintf("%.6f", float64(r.Duration)/1e9)
	}
	return ""
}

// tally counts, per field, baseline values checked and matched.
type tally struct {
	rows           int
	checked, match map[string]int
}

func newTally() *tally { return &tally{checked: map[string]int{}, match: map[string]int{}} }

func (a *tally) add(b *tally) {
	a.rows += b.rows
	for k, v := range b.checked {
		a.checked[k] += v
	}
	for k, v := range b.match {
		a.match[k] += v
	}
}

// compareRows matches baseline rows to records by 5-tuple and tallies
// every field the baseline gives, logging each mismatch.
func compareRows(t *testing.T, rows []row, recs []Record) *tally {
	tl := newTally()
	used := make([]bool, len(recs))
	for _, want := range rows {
		tl.rows++
		// Several connections may share a tuple: take the one that agrees
		// on most fields.
		best, bestScore := -1, -1
		for i := range recs {
			if used[i] {
				continue
			}
			r := &recs[i]
			if want.orig.IsValid() && (r.Orig != want.orig || r.Resp != want.resp) {
				continue
			}
			score := 0
			for _, name := range compared {
				if w, ok := want.f[name]; ok && fieldOf(r, name) == w {
					score++
				}
			}
			if score > bestScore {
				best, bestScore = i, score
			}
		}
		if best < 0 {
			why := "no connection with this 5-tuple"
			for i := range recs {
				if recs[i].Orig == want.resp && recs[i].Resp == want.orig {
					why = fmt.Sprintf("found with roles reversed (history %s)", recs[i].History)
				}
			}
			for _, name := range compared {
				if _, ok := want.f[name]; ok {
					tl.checked[name]++
				}
			}
			t.Logf("MISS %v -> %v: %s", want.orig, want.resp, why)
			continue
		}
		used[best] = true
		got := &recs[best]
		for _, name := range compared {
			w, ok := want.f[name]
			if !ok || strings.HasPrefix(w, "X") {
				continue
			}
			tl.checked[name]++
			if g := fieldOf(got, name); g == w {
				tl.match[name]++
			} else {
				t.Logf("DIFF %v -> %v %s: want %s, got %s (history want %s got %s)", got.Orig, got.Resp, name, w, g, want.f["history"], got.History)
			}
		}
	}
	for i := range recs {
		if !used[i] && len(rows) > 0 && rows[0].orig.IsValid() {
			t.Logf("EXTRA %v -> %v %s %s: not in the baseline", recs[i].Orig, recs[i].Resp, recs[i].ConnState, recs[i].History)
		}
	}
	return tl
}

const expectedFile = "testdata/expected.tsv"

func TestZeekCorpus(t *testing.T) {
	dir := corpus.Dir(t, "zeek")
	tests := readIndex(t, dir)
	total := newTally()
	got := map[string]*tally{}
	for _, zt := range tests {
		t.Run(zt.folder, func(t *testing.T) {
			folder := filepath.Join(dir, zt.folder)
			var rows []row
			for _, o := range strings.Split(zt.oracles, ",") {
				o = strings.TrimSpace(o)
				path := filepath.Join(folder, o)
				if _, err := os.Stat(path); err != nil {
					continue
				}
				switch {
				case strings.HasPrefix(o, "conn"):
					rows = append(rows, readLog(t, path)...)
				case (o == "out" || o == ".stdout" || o == "expected.out") && !hasConnLog(zt.oracles):
					rows = append(rows, readPrinted(t, path)...)
				}
			}
			if len(rows) == 0 {
				t.Skipf("no connection fields in the oracle (%s)", zt.oracles)
			}
			recs := replay(t, filepath.Join(folder, zt.pcap), zeekRun(zt))
			tl := compareRows(t, rows, recs)
			got[zt.folder] = tl
			total.add(tl)
			t.Logf("%d rows; %s", tl.rows, tl.summary())
		})
	}
	t.Logf("TOTAL %d rows; %s", total.rows, total.summary())

	if *update {
		writeExpected(t, got)
		return
	}
	want := readExpected(t)
	for folder, tl := range got {
		w, ok := want[folder]
		if !ok {
			t.Errorf("%s: no recorded expectation (run with -update after reviewing)", folder)
			continue
		}
		for _, name := range compared {
			if tl.match[name] < w.match[name] {
				t.Errorf("%s: %s matches %d of %d, recorded %d", folder, name, tl.match[name], tl.checked[name], w.match[name])
			}
		}
	}
}

func hasConnLog(oracles string) bool { return strings.Contains(oracles, "conn") }

func (tl *tally) summary() string {
	var b strings.Builder
	for _, name := range compared {
		if c := tl.checked[name]; c > 0 {
			fmt.Fprintf(&b, " %s %d/%d (%.0f%%)", name, tl.match[name], c, 100*float64(tl.match[name])/float64(c))
		}
	}
	return strings.TrimSpace(b.String())
}

func writeExpected(t *testing.T, got map[string]*tally) {
	var b strings.Builder
	b.WriteString("# Fields of the Zeek baselines this package reproduces, per corpus folder:\n")
	b.WriteString("# matched/checked. Regenerate with go test -run TestZeekCorpus -update after\n")
	b.WriteString("# checking each remaining difference against the baseline.\n")
	b.WriteString("folder")
	for _, name := range compared {
		b.WriteString("\t" + name)
	}
	b.WriteString("\n")
	folders := make([]string, 0, len(got))
	for f := range got {
		folders = append(folders, f)
	}
	sort.Strings(folders)
	for _, f := range folders {
		b.WriteString(f)
		for _, name := range compared {
			fmt.Fprintf(&b, "\t%d/%d", got[f].match[name], got[f].checked[name])
		}
		b.WriteString("\n")
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(expectedFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readExpected(t *testing.T) map[string]*tally {
	b, err := os.ReadFile(expectedFile)
	if err != nil {
		t.Fatalf("zeekconn: %v (run with -update)", err)
	}
	out := map[string]*tally{}
	var cols []string
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if cols == nil {
			cols = f
			continue
		}
		tl := newTally()
		for i := 1; i < len(f) && i < len(cols); i++ {
			var m, c int
			if _, err := fmt.Sscanf(f[i], "%d/%d", &m, &c); err != nil {
				t.Fatalf("%s: bad cell %q", expectedFile, f[i])
			}
			tl.match[cols[i]], tl.checked[cols[i]] = m, c
		}
		out[f[0]] = tl
	}
	return out
}
