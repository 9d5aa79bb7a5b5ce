package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"synfin/gen"
	"synfin/internal/testenv"
)

func TestGenCommand(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		cfg  gen.Config
	}{
		{"pcap", []string{"--conns", "300", "--seed", "9"}, gen.Config{Conns: 300, Seed: 9}},
		{"pcapng", []string{"--conns=200", "--scale", "2", "--pcapng"}, gen.Config{Conns: 200, Scale: 2, Seed: 1, PcapNG: true}},
		{"transfer", []string{"--transfer", "500", "--reorder", "--seed", "2"}, gen.Config{Transfer: 500, Reorder: true, Seed: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name)
			var stdout, stderr bytes.Buffer
			args := append([]string{"gen", "-w", file}, tc.args...)
			if code := Main(context.Background(), args, nil, &stdout, &stderr); code != 0 {
				t.Fatalf("exit status %d: %s", code, stderr.String())
			}
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if _, err := gen.Write(&want, tc.cfg); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("synfin gen %s wrote other bytes than gen.Write(%+v)", strings.Join(tc.args, " "), tc.cfg)
			}
			if !strings.Contains(stderr.String(), "packets") || stdout.Len() != 0 {
				t.Errorf("stdout %q, stderr %q; want a summary on stderr only", stdout.String(), stderr.String())
			}
		})
	}
}

func TestGenUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"gen"}, "synfin gen: -w FILE is required"},
		{[]string{"gen", "-w", "x", "--conns", "0"}, "synfin gen: --conns must be positive"},
		{[]string{"gen", "-w", "x", "--scale", "-1"}, "synfin gen: --scale must be positive"},
		{[]string{"gen", "-w", "x", "--seed", "abc"}, `synfin gen: --seed takes a whole number, not "abc"`},
		{[]string{"gen", "-w", "x", "extra"}, `synfin gen: unexpected argument "extra"`},
		{[]string{"gen", "-w", "x", "--transfer", "6"}, "synfin gen: --transfer takes at least 7 segments"},
		{[]string{"gen", "-w", "x", "--reorder"}, "synfin gen: --transfer takes at least 7 segments (handshake and close); --reorder needs it"},
	} {
		var stderr bytes.Buffer
		code := Main(context.Background(), tc.args, nil, &bytes.Buffer{}, &stderr)
		if code != 2 || !strings.HasPrefix(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// TestGenOutOfRange: counts beyond what gen can write are refused in one
// line, with a non-zero exit and no capture left behind, even when their
// product overflows 64 bits.
func TestGenOutOfRange(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--conns", "4294967296"},
		{"--conns", "4294967296", "--scale", "4294967296"},
		{"--conns", "65536", "--scale", "281474976710656"},
	} {
		file := filepath.Join(dir, "x.pcap")
		var stderr bytes.Buffer
		code := Main(context.Background(), append([]string{"gen", "-w", file}, args...), nil, &bytes.Buffer{}, &stderr)
		if code == 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "is more than the") {
			t.Errorf("%v: exit %d, stderr %q; want one line refusing the count", args, code, stderr.String())
		}
		if _, err := os.Stat(file); err == nil {
			t.Errorf("%v: a capture was left behind", args)
			os.Remove(file)
		}
	}
}

// TestTransferExamples runs the help's examples of a long transfer as
// written, in a folder of their own: gen writes the connection, and
// explain --full lists every one of its segments, which tcpdump counts.
func TestTransferExamples(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	t.Chdir(t.TempDir())
	var out bytes.Buffer
	for _, usage := range []string{usage("gen"), usage("explain")} {
		for _, l := range strings.Split(usage, "\n") {
			if !strings.Contains(l, "long.pcap") {
				continue
			}
			args := strings.Fields(l)[1:]
			out.Reset()
			var stderr bytes.Buffer
			if code := Main(context.Background(), args, nil, &out, &stderr); code != 0 {
				t.Fatalf("%s: exit %d: %s", strings.TrimSpace(l), code, stderr.String())
			}
		}
	}
	lines, err := exec.Command(tcpdump, "-n", "-r", "long.pcap").Output()
	if err != nil {
		t.Fatal(err)
	}
	frames := bytes.Count(lines, []byte("\n"))
	if n := len(regexp.MustCompile(`(?m)^  #\d+  `).FindAll(out.Bytes(), -1)); n != frames || frames != 20000 {
		t.Errorf("explain --full lists %d segments, tcpdump reads %d, gen was asked for 20000", n, frames)
	}
}
