package testenv

import (
	"os"
	"os/exec"
	"testing"
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
	case "man":
		return "man-db"
	case "getcap", "setcap":
		return "libcap2-bin"
	case "mergecap", "editcap":
		return "wireshark-common"
	}
	return tool
}
