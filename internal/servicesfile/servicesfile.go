package servicesfile

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Scan calls fn for each entry of r, in order: its port, its protocol
// ("tcp", "udp", …) and its names, the official one first, then the
// aliases. Comments, and lines without a readable port/protocol, are
// passed over.
func Scan(r io.Reader, fn func(port uint16, proto string, names []string)) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		port, proto, ok := strings.Cut(f[1], "/")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			continue
		}
		fn(uint16(n), proto, append(f[:1:1], f[2:]...))
	}
	return sc.Err()
}
