package bpf_test

import (
	"fmt"
	"time"

	"synfin/watch/bpf"
	"synfin/watch/tracefs"
)

// ExampleOpen prints the TCP state changes of this host for a second.
// It needs CAP_BPF and CAP_PERFMON, so it is compiled, not run.
func ExampleOpen() {
	src, err := bpf.Open(1024)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	stop := make(chan struct{})
	time.AfterFunc(time.Second, func() { close(stop) })
	src.Read(stop, func(e *tracefs.Event) {
		fmt.Println(e.Time.Format(time.TimeOnly), e.Local, e.Remote, e.Old.RFC(), "->", e.New.RFC())
	})
	fmt.Println(src.Lost(), "lost")
}
