// Package testenv decides whether tests that need privileges or external
// tools may run. Outside CI a missing capability or tool skips the test and
// says which; with CI=true it fails the test, because CI must run them all.
package testenv

import (
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// InCI reports whether the tests run in CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips the test outside CI and fails it in CI.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI: %s", why)
	}
	t.Skip(why)
}

// Capability numbers used by synfin's privileged tests.
const (
	CapNetAdmin = unix.CAP_NET_ADMIN
	CapNetRaw   = unix.CAP_NET_RAW
	CapSysAdmin = unix.CAP_SYS_ADMIN
)

var capNames = map[int]string{
	CapNetAdmin: "CAP_NET_ADMIN",
	CapNetRaw:   "CAP_NET_RAW",
	CapSysAdmin: "CAP_SYS_ADMIN",
}

// NeedCaps requires the effective capabilities caps.
func NeedCaps(t testing.TB, caps ...int) {
	t.Helper()
	var hdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		Unavailable(t, "cannot read capabilities: "+err.Error())
		return
	}
	for _, c := range caps {
		if data[c/32].Effective&(1<<(uint(c)%32)) == 0 {
			Unavailable(t, "needs "+capNames[c]+" (run as root)")
			return
		}
	}
}

// NeedTool requires an external program on PATH and returns its path.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, name+" is not installed (apt-get install "+pkgOf(name)+")")
	}
	return p
}

func pkgOf(tool string) string {
	switch tool {
	case "nft":
		return "nftables"
	case "ss", "ip":
		return "iproute2"
	case "chromium":
		return "chromium"
	}
	return tool
}
