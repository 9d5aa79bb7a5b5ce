package names

import (
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"synfin/internal/testenv"
)

// trickyHosts holds the lines where readers of hosts files part ways:
// comments, repeated addresses, lines without names, forms inet_pton
// refuses, IPv4-mapped and loopback IPv6 lines (which also list the
// IPv4 address), zones, and "::".
const trickyHosts = `# comment line
::1 six-loop first
127.0.0.1	localhost
127.0.0.1 second-localhost
192.0.2.1 alpha.example alpha   # trailing comment
192.0.2.2
192.0.2.2 beta
  192.0.2.3   Gamma.Example
192.0.2.4#hash right after
192.0.2.005 leadingzero
0xc0.0.2.6 hexform
192.0.2.7.8 toolong
192.0.519 threepart
2001:db8::1 v6-one
2001:DB8:0:0:0:0:0:2 v6-two
::ffff:192.0.2.9 mapped
192.0.2.9 plain-nine
192.0.2.11 plain-eleven
::ffff:192.0.2.11 mapped-eleven
fe80::1%lo zoned
192.0.2.10	tab	separated
:: unspecified
0.0.0.0 zero
::2 not-loop
`

// TestHostsAsGlibc reads trickyHosts with a Resolver and, for every
// address it mentions and a few it does not, compares the name with what
// the C library's gethostbyaddr gives (getent -s files hosts ADDR, with
// the file mounted as /etc/hosts): found or not, and the name.
func TestHostsAsGlibc(t *testing.T) {
	getent := testenv.NeedTool(t, "getent")
	r := New(Options{HostsFile: hostsFile(t, trickyHosts)})
	for _, addr := range []string{
		"127.0.0.1", "::1", "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5",
		"192.0.2.6", "192.0.2.7", "192.0.2.9", "::ffff:192.0.2.9", "192.0.2.11", "::ffff:192.0.2.11",
		"2001:db8::1", "2001:db8::2", "fe80::1", "192.0.2.10", "192.0.2.200", "::", "0.0.0.0",
		"::2", "0.0.0.2", "::ffff:127.0.0.1",
	} {
		var (
			out []byte
			err error
		)
		testenv.WithHosts(t, trickyHosts, func() { out, err = exec.Command(getent, "-s", "files", "hosts", addr).Output() })
		var want answer
		var ee *exec.ExitError
		switch {
		case err == nil:
			f := strings.Fields(string(out))
			want.ok = true
			if len(f) > 1 {
				want.name = f[1]
			}
		case errors.As(err, &ee) && ee.ExitCode() == 2: // not found
		default:
			t.Fatalf("getent %s: %v %s", addr, err, ee.Stderr)
		}
		n, ok := r.HostName(netip.MustParseAddr(addr))
		if got := (answer{n, ok}); got != want {
			t.Errorf("%s: %+v, the C library says %+v", addr, got, want)
		}
	}
}
