package testenv

import (
	"testing"

	"golang.org/x/sys/unix"
)

// Capability numbers used by synfin's privileged tests.
const (
	CapNetAdmin = unix.CAP_NET_ADMIN
	CapNetRaw   = unix.CAP_NET_RAW
	CapSysAdmin = unix.CAP_SYS_ADMIN
	CapBPF      = unix.CAP_BPF
	CapPerfmon  = unix.CAP_PERFMON
)

var capNames = map[int]string{
	CapNetAdmin: "CAP_NET_ADMIN",
	CapNetRaw:   "CAP_NET_RAW",
	CapSysAdmin: "CAP_SYS_ADMIN",
	CapBPF:      "CAP_BPF",
	CapPerfmon:  "CAP_PERFMON",
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
