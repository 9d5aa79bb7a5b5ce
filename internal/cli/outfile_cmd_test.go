package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"synfin/internal/testenv"
)

// TestOutputsRefuseNonRegular checks that capture -w and gen -w refuse to
// write over anything but a regular file, with one line and exit status 1,
// and leave the target as it was. Capture refuses before opening the
// network, so no privileges are needed.
func TestOutputsRefuseNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	subdir := filepath.Join(dir, "dir")
	if err := os.Mkdir(subdir, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "null-link")
	if err := os.Symlink(os.DevNull, link); err != nil {
		t.Fatal(err)
	}
	targets := []struct{ name, path string }{
		{"directory", subdir},
		{"fifo", fifo},
		{"/dev/null", os.DevNull},
		{"device /dev/full", "/dev/full"},
		{"symlink to /dev/null", link},
	}
	commands := []struct {
		name string
		args func(path string) []string
	}{
		{"capture", func(p string) []string { return []string{"capture", "-i", "lo", "-c", "1", "-w", p} }},
		{"capture pcapng", func(p string) []string { return []string{"capture", "-i", "lo", "--pcapng", "-w", p, "tcp"} }},
		{"gen", func(p string) []string { return []string{"gen", "--conns", "10", "-w", p} }},
	}
	for _, cmd := range commands {
		for _, tg := range targets {
			t.Run(cmd.name+"/"+tg.name, func(t *testing.T) {
				before, err := os.Lstat(tg.path)
				if err != nil {
					t.Skip(err)
				}
				var stdout, stderr bytes.Buffer
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				code := Main(ctx, cmd.args(tg.path), nil, &stdout, &stderr)
				lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
				want := "synfin " + strings.Fields(cmd.name)[0] + ": write " + tg.path + ": not a regular file; refusing to write over it"
				if code != 1 || len(lines) != 1 || lines[0] != want || stdout.Len() != 0 {
					t.Errorf("exit status %d, stdout %q, stderr:\n%s\nwant 1, nothing, and the line %q", code, stdout.String(), stderr.String(), want)
				}
				after, err := os.Lstat(tg.path)
				if err != nil || after.Mode() != before.Mode() || (after.Mode().IsRegular() && after.Size() != before.Size()) {
					t.Errorf("%s changed: %v → %v (%v)", tg.path, before.Mode(), after.Mode(), err)
				}
			})
		}
	}
}

// TestCaptureUsageErrors checks the mistakes caught before the capture
// opens, so they need no privileges.
func TestCaptureUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"capture", "-c", "0"}, "synfin capture: -c takes a positive count"},
		{[]string{"capture", "--for", "soon"}, `synfin capture: --for takes a duration such as 2s or 1m, not "soon"`},
		{[]string{"capture", "-s", "-1"}, "synfin capture: -s takes a snapshot length from 0 to 262144"},
		{[]string{"capture", "-w", "-", "--print"}, "synfin capture: -w - writes the capture to standard output; it cannot print there too"},
		{[]string{"capture", "-w", "-", "--annotate"}, "synfin capture: -w - writes the capture to standard output; it cannot print there too"},
		{[]string{"capture", "-w", "-", "--explain"}, "synfin capture: -w - writes the capture to standard output; it cannot print there too"},
		{[]string{"capture", "--explain", "--annotate"}, "synfin capture: --explain prints explanations instead of lines; it does not go with --print or --annotate"},
		{[]string{"capture", "--lang", "zh"}, "synfin capture: --lang, --json, --width and --hold go with --explain"},
		{[]string{"capture", "--hold", "2s"}, "synfin capture: --lang, --json, --width and --hold go with --explain"},
		{[]string{"capture", "--explain", "--hold", "soon"}, `synfin capture: --hold takes a duration such as 2s or 1m, not "soon"`},
		{[]string{"capture", "--explain", "--hold", "-1s"}, `synfin capture: --hold takes a duration such as 2s or 1m, not "-1s"`},
		{[]string{"capture", "--explain", "--lang", "fr"}, `synfin capture: --lang must be en or zh, not "fr"`},
		{[]string{"capture", "--explain", "--width", "10"}, "synfin capture: --width must be at least 40"},
		{[]string{"capture", "--explain", "--max-conns", "-1"}, "synfin capture: --max-conns must not be negative"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), tc.args, nil, &stdout, &stderr)
		if code != 2 || !strings.HasPrefix(stderr.String(), tc.want+" (see 'synfin capture --help')\n") || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// TestGenFullDisk runs synfin gen on a 64 KiB tmpfs: one line naming the
// file and the error, exit status 1, and no partial file left behind.
func TestGenFullDisk(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	dir := t.TempDir()
	bin := buildSynfin(t, dir, false)
	mnt := filepath.Join(dir, "tmpfs")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	file, kept := filepath.Join(mnt, "gen.pcap"), filepath.Join(dir, "kept.pcap")
	r := startSynfin(t, bin, synfinOpts{tmpfs: mnt + ":64k", copyTo: file + ":" + kept}, "gen", "--conns", "5000", "-w", file)
	code := r.wait(t)
	want := "synfin gen: write " + file + ": no space left on device\n"
	if code != 1 || r.Stderr() != want {
		t.Errorf("exit status %d, stderr:\n%s\nwant 1 and %q", code, r.Stderr(), want)
	}
	if _, err := os.Stat(kept); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the partial file was left behind (%v)", err)
	}
}

// TestStdoutFull: a command whose standard output fails (/dev/full, where
// the kernel refuses every write with ENOSPC) says so in one line and
// exits 1, however little it wrote: the final flush counts as every
// write does.
func TestStdoutFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer full.Close()
	path := generated("--conns", "20", "--seed", "3")(t)
	for _, args := range [][]string{
		{"read"}, {"conns"}, {"conns", "--json"}, {"conns", "--summary"}, {"conns", "--jobs", "1"},
		{"explain"}, {"explain", "--json"}, {"summary"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			code := Main(context.Background(), append(args, "-r", path), nil, full, &stderr)
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if code != 1 || len(lines) != 1 || !strings.HasSuffix(lines[0], "no space left on device") {
				t.Errorf("exit %d, stderr %q; want 1 and one line ending in the kernel's ENOSPC", code, stderr.String())
			}
		})
	}
}
