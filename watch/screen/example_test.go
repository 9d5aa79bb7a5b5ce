package screen_test

import (
	"os"
	"time"

	"synfin/lab/kernel"
	"synfin/watch"
	"synfin/watch/screen"
)

// Example draws the screen of a namespace with one listener.
func Example() {
	s := &watch.Snapshot{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Source: "sock_diag", Somaxconn: 4096, PortRange: [2]int{32768, 60999}}
	s.States[kernel.Listen] = 1
	l := watch.Listener{}
	l.Backlog = 10
	s.Listeners = append(s.Listeners, l)
	screen.Draw(os.Stdout, s, "en", 60)
}
