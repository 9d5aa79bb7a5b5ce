package zeekconn_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"synfin/internal/cli"
	"synfin/internal/corpus"
)

// ratchet is, per corpus folder, how many of its baseline rows the
// product (synfin conns --json, run in-process through cli.Main) agrees
// with on every field the baseline gives, on every field but duration, and
// out of how many rows. The test fails when a folder agrees on fewer rows,
// or when the product logs a row the baseline does not have; raise a
// number when a change makes more agree.
//
// Before conns --json split rows by Zeek's timers and logged Zeek's
// duration, 38 rows agreed on every field and 96 on all but duration; now
// 114 of 116 do. Zeek's timers (tcp_attempt_delay, tcp_close_delay after
// a RST, its reuse check) had ended a connection and begun another row on
// the same tuple in ssh.half-duplex-client (10 rows), pop3.basic (6) and
// modbus (2, one of them the RSTO ShR then RSTRH Dr of a reset attempt
// whose tuple is used again 16 s later).
//
// What still disagrees, and why:
//   - bad-checksum-syn: Zeek ran without -C and dropped the SYN (history
//     C); conns never verifies checksums (as Zeek with -C).
//   - connection_flipped: Zeek ran with -b, without port 80 among its
//     likely server ports, so the SYN-ACK that comes first made its sender
//     the originator until the SYN flipped the roles (Hs^ADadFf); conns
//     runs as Zeek with its default scripts, whose port 80 flips the roles
//     at the SYN-ACK (^hSADadFf).
var ratchet = map[string][3]int{
	"conn_state-RST-behavior.single-rst":                              {1, 1, 1},
	"conn_state-RST-behavior.syn-then-rst":                            {1, 1, 1},
	"conn_state-RST-behavior.syn-then-stuff-then-rst":                 {1, 1, 1},
	"core.conn-size-flip.one-sided":                                   {2, 2, 2},
	"core.connection_flipped":                                         {0, 0, 1},
	"core.history-flip":                                               {1, 1, 1},
	"core.local-flip":                                                 {1, 1, 1},
	"core.tcp-padding":                                                {1, 1, 1},
	"core.tcp.bad-checksum-syn":                                       {0, 0, 1},
	"core.tcp.large-file-reassembly":                                  {3, 3, 3},
	"core.tcp.miss-end-data":                                          {1, 1, 1},
	"core.tcp.missing-syn":                                            {1, 1, 1},
	"core.tcp.rxmit-history-1":                                        {1, 1, 1},
	"core.tcp.rxmit-history-2":                                        {10, 10, 10},
	"core.tcp.tcp-dups":                                               {1, 1, 1},
	"core.vlan-mpls":                                                  {3, 3, 3},
	"scripts.base.protocols.ftp.ftp-auth-tls":                         {1, 1, 1},
	"scripts.base.protocols.ftp.ftp-ipv4":                             {5, 5, 5},
	"scripts.base.protocols.http.concurrent-range-requests":           {3, 3, 3},
	"scripts.base.protocols.http.http-connect":                        {1, 1, 1},
	"scripts.base.protocols.http.http-connect-with-header":            {1, 1, 1},
	"scripts.base.protocols.http.m57-long-download-windowsupdate-1":   {1, 1, 1},
	"scripts.base.protocols.imap.starttls":                            {1, 1, 1},
	"scripts.base.protocols.irc.basic":                                {3, 3, 3},
	"scripts.base.protocols.modbus.modbus_and_non_modbus_on_port_502": {8, 8, 8},
	"scripts.base.protocols.pop3.basic":                               {11, 11, 11},
	"scripts.base.protocols.redis.django-cloud":                       {1, 1, 1},
	"scripts.base.protocols.ssh.basic":                                {23, 23, 23},
	"scripts.base.protocols.ssh.half-duplex-client":                   {25, 25, 25},
	"scripts.base.protocols.ssh.pre-banner":                           {1, 1, 1},
	"scripts.base.protocols.xmpp.starttls":                            {1, 1, 1},
}

// zeekTest is one row of the Zeek corpus index.
type zeekTest struct {
	folder, pcap, oracles string
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
		tests = append(tests, zeekTest{get("folder"), get("pcap"), get("oracle_files")})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return tests
}

// row is one connection, from a baseline or from the product, with its
// fields as conn.log writes them.
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

// conns runs synfin conns --json on file, as a user would, and returns its
// connections with their fields written as conn.log writes them.
func conns(t *testing.T, file string) []row {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := cli.Main(context.Background(), []string{"conns", "--json", "-r", file}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("synfin conns --json -r %s: exit status %d: %s", file, code, stderr.String())
	}
	var rows []row
	for _, line := range bytes.Split(stdout.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		var j map[string]any
		if err := d.Decode(&j); err != nil {
			t.Fatalf("%s: %v in %s", file, err, line)
		}
		f := map[string]string{}
		for k, v := range j {
			switch v := v.(type) {
			case string:
				f[k] = v
			case json.Number:
				f[k] = v.String()
			}
		}
		if f["history"] == "" {
			f["history"] = "-"
		}
		// Zeek logs duration and the byte counts only for a connection
		// that lasted: the same fields of a product row are its.
		if d, _ := strconv.ParseFloat(f["duration"], 64); d <= 0 {
			f["duration"], f["orig_bytes"], f["resp_bytes"] = "-", "-", "-"
		}
		o, err1 := addrPort(f["id.orig_h"], f["id.orig_p"])
		r, err2 := addrPort(f["id.resp_h"], f["id.resp_p"])
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: bad addresses in %s", file, line)
		}
		rows = append(rows, row{o, r, f})
	}
	return rows
}

// tally counts, per field, baseline values checked and matched, and the
// rows that agree on every field checked.
type tally struct {
	rows, agreed, agreedBut int // agreedBut: on every field but duration
	checked, match          map[string]int
}

func newTally() *tally { return &tally{checked: map[string]int{}, match: map[string]int{}} }

func (a *tally) add(b *tally) {
	a.rows += b.rows
	a.agreed += b.agreed
	a.agreedBut += b.agreedBut
	for k, v := range b.checked {
		a.checked[k] += v
	}
	for k, v := range b.match {
		a.match[k] += v
	}
}

// compareRows matches baseline rows to the product's by 5-tuple and
// tallies every field the baseline gives, logging each mismatch.
func compareRows(t *testing.T, want, got []row) *tally {
	tl := newTally()
	used := make([]bool, len(got))
	for _, w := range want {
		tl.rows++
		// Several connections may share a tuple: take the one that agrees
		// on most fields.
		best, bestScore := -1, -1
		for i := range got {
			g := &got[i]
			if used[i] || w.orig.IsValid() && (g.orig != w.orig || g.resp != w.resp) {
				continue
			}
			score := 0
			for _, name := range compared {
				if v, ok := w.f[name]; ok && g.f[name] == v {
					score++
				}
			}
			if score > bestScore {
				best, bestScore = i, score
			}
		}
		if best < 0 {
			why := "no connection with this 5-tuple"
			for i := range got {
				if got[i].orig == w.resp && got[i].resp == w.orig {
					why = fmt.Sprintf("found with roles reversed (history %s)", got[i].f["history"])
				}
			}
			for _, name := range compared {
				if _, ok := w.f[name]; ok {
					tl.checked[name]++
				}
			}
			t.Logf("MISS %v -> %v: %s", w.orig, w.resp, why)
			continue
		}
		used[best] = true
		g := &got[best]
		agreed, agreedBut := true, true
		for _, name := range compared {
			v, ok := w.f[name]
			if !ok || strings.HasPrefix(v, "X") {
				continue
			}
			tl.checked[name]++
			if g.f[name] == v {
				tl.match[name]++
			} else {
				agreed = false
				agreedBut = agreedBut && name == "duration"
				t.Logf("DIFF %v -> %v %s: want %s, got %s (history want %s got %s)", g.orig, g.resp, name, v, g.f[name], w.f["history"], g.f["history"])
			}
		}
		if agreed {
			tl.agreed++
		}
		if agreedBut {
			tl.agreedBut++
		}
	}
	for i := range got {
		if !used[i] && len(want) > 0 && want[0].orig.IsValid() {
			t.Errorf("EXTRA %v -> %v %s %s: not in the baseline", got[i].orig, got[i].resp, got[i].f["conn_state"], got[i].f["history"])
		}
	}
	return tl
}

// TestZeekCorpus holds the product's conn.log fields to Zeek's baselines
// in the corpus, trace by trace (see ratchet).
func TestZeekCorpus(t *testing.T) {
	dir := corpus.Dir(t, "zeek")
	total := newTally()
	for _, zt := range readIndex(t, dir) {
		t.Run(zt.folder, func(t *testing.T) {
			folder := filepath.Join(dir, zt.folder)
			var want []row
			for _, o := range strings.Split(zt.oracles, ",") {
				o = strings.TrimSpace(o)
				path := filepath.Join(folder, o)
				if _, err := os.Stat(path); err != nil {
					continue
				}
				switch {
				case strings.HasPrefix(o, "conn"):
					want = append(want, readLog(t, path)...)
				case (o == "out" || o == ".stdout" || o == "expected.out") && !strings.Contains(zt.oracles, "conn"):
					want = append(want, readPrinted(t, path)...)
				}
			}
			if len(want) == 0 {
				t.Skipf("no connection fields in the oracle (%s)", zt.oracles)
			}
			tl := compareRows(t, want, conns(t, filepath.Join(folder, zt.pcap)))
			total.add(tl)
			t.Logf("%d/%d rows agree, %d but for duration; %s", tl.agreed, tl.rows, tl.agreedBut, tl.summary())
			got := [3]int{tl.agreed, tl.agreedBut, tl.rows}
			r, ok := ratchet[zt.folder]
			switch {
			case !ok:
				t.Errorf("not in the ratchet: add %q: {%d, %d, %d}, after checking the differences", zt.folder, got[0], got[1], got[2])
			case got[0] < r[0] || got[1] < r[1] || got[2] != r[2]:
				t.Errorf("rows agreeing with Zeek (all fields, all but duration, rows) %v, recorded %v", got, r)
			case got != r:
				t.Logf("rows agreeing with Zeek %v, recorded %v: raise the ratchet", got, r)
			}
		})
	}
	t.Logf("TOTAL %d/%d rows agree, %d but for duration; %s", total.agreed, total.rows, total.agreedBut, total.summary())
}

func (tl *tally) summary() string {
	var b strings.Builder
	for _, name := range compared {
		if c := tl.checked[name]; c > 0 {
			fmt.Fprintf(&b, " %s %d/%d", name, tl.match[name], c)
		}
	}
	return strings.TrimSpace(b.String())
}
