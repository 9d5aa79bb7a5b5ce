package tcpdump

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"synfin/internal/pcaptest"
	"synfin/wire"
)

// optsFromFlags maps tcpdump flags to Options, for tests. -# and -n are
// implied (tests always run tcpdump with them), as is -tttt unless a -t
// form is given.
func optsFromFlags(t testing.TB, flags []string) Options {
	o := Options{Number: true, Numeric: true, Time: TimeDate, Location: time.UTC}
	seenT := false
	for _, f := range flags {
		switch {
		case f == "--nano":
			o.Nano = true
		case strings.HasPrefix(f, "-") && !strings.HasPrefix(f, "--"):
			for _, c := range f[1:] {
				switch c {
				case 'v':
					o.Verbose++
				case 'e':
					o.Link = true
				case 'q':
					o.Quiet = true
				case 'S':
					o.Absolute = true
				case 'n', '#':
				case 't':
					if !seenT {
						o.Time = 0
						seenT = true
					}
					o.Time++
				case 'x':
					if o.Dump == DumpHex {
						o.DumpLink = true
					}
					if o.Dump != DumpHexA {
						o.Dump = DumpHex
					}
				case 'X':
					if o.Dump == DumpHexA {
						o.DumpLink = true
					}
					o.Dump = DumpHexA
				case 'A':
					if o.Dump == DumpASCII {
						o.DumpLink = true
					}
					if o.Dump == DumpNone {
						o.Dump = DumpASCII
					}
				default:
					t.Fatalf("flag -%c not handled by the test", c)
				}
			}
		default:
			t.Fatalf("argument %q not handled by the test", f)
		}
	}
	return o
}

// printFile prints a capture with the package alone (no CLI).
func printFile(t testing.TB, path string, o Options) string {
	t.Helper()
	frames, err := pcaptest.File(t, path)
	if err != nil {
		t.Logf("%s: %v", path, err)
	}
	pr := New(o)
	var (
		p   wire.Packet
		out []byte
	)
	for i := range frames {
		f := &frames[i]
		err := p.Decode(f.Link, f.Data)
		if err != nil && (p.IPVersion == 0 || p.Proto != wire.ProtoTCP ||
			!errors.Is(err, wire.ErrTruncated) && !errors.Is(err, wire.ErrBadHeader)) {
			pr.Skip(f)
			continue
		}
		out = pr.Append(out, f, &p)
	}
	return string(out)
}

// runTcpdump runs the installed tcpdump as tcpdump's own tests do.
func runTcpdump(t testing.TB, path string, flags []string) string {
	t.Helper()
	out, err := tcpdumpCmd(path, append([]string{"-n"}, flags...)).Output()
	return tcpdumpOutput(t, out, err)
}

// tcpdumpCmd is tcpdump -# -r path with flags (and -tttt unless a -t
// form is among them) in GMT.
func tcpdumpCmd(path string, flags []string) *exec.Cmd {
	args := []string{"-#", "-r", path}
	hasT := false
	for _, f := range flags {
		if strings.HasPrefix(f, "-t") {
			hasT = true
		}
	}
	if !hasT {
		args = append(args, "-tttt")
	}
	args = append(args, flags...)
	cmd := exec.Command("tcpdump", args...)
	cmd.Env = append(os.Environ(), "TZ=GMT0")
	return cmd
}

// tcpdumpOutput returns what tcpdump printed, also when it exited
// non-zero (it does for a damaged file, after printing).
func tcpdumpOutput(t testing.TB, out []byte, err error) string {
	t.Helper()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("tcpdump: %v", err)
		}
	}
	return string(out)
}
