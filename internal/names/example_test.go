package names_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"synfin/internal/names"
)

// ParseHosts reads a hosts file as the C library's gethostbyaddr does:
// the first name of the first line listing an address (as "getent hosts"
// shows it for this file).
func ExampleParseHosts() {
	m, _ := names.ParseHosts(strings.NewReader(`
127.0.0.1   localhost
127.0.1.1   box.example box
127.0.0.1   not-this-one
::1         ip6-localhost ip6-loopback
`))
	for _, a := range []string{"127.0.0.1", "127.0.1.1", "::1"} {
		fmt.Println(a, m[netip.MustParseAddr(a)])
	}
	// Output:
	// 127.0.0.1 localhost
	// 127.0.1.1 box.example
	// ::1 ip6-localhost
}

// A Resolver without DNS names what its hosts file names; other
// addresses have no name and print as numbers.
func ExampleResolver_HostName() {
	dir, _ := os.MkdirTemp("", "names")
	defer os.RemoveAll(dir)
	hosts := filepath.Join(dir, "hosts")
	os.WriteFile(hosts, []byte("127.0.0.1 localhost\n"), 0o644)
	r := names.New(names.Options{HostsFile: hosts})
	for _, a := range []string{"127.0.0.1", "192.0.2.1"} {
		name, ok := r.HostName(netip.MustParseAddr(a))
		fmt.Printf("%s: %q %v\n", a, name, ok)
	}
	// Output:
	// 127.0.0.1: "localhost" true
	// 192.0.2.1: "" false
}
