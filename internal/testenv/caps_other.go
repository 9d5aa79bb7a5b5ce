//go:build !linux

package testenv

import "testing"

// Capability numbers used by synfin's privileged tests, as Linux numbers
// them; elsewhere there are none to have.
const (
	CapNetAdmin = 12
	CapNetRaw   = 13
	CapSysAdmin = 21
	CapPerfmon  = 38
	CapBPF      = 39
)

// NeedCaps requires Linux capabilities, which this system does not have.
func NeedCaps(t testing.TB, caps ...int) {
	t.Helper()
	Unavailable(t, "needs Linux capabilities")
}

// WithHosts needs Linux mount namespaces, which this system does not have.
func WithHosts(t testing.TB, hosts string, fn func()) {
	t.Helper()
	Unavailable(t, "needs Linux mount namespaces")
}
