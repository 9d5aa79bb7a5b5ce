package bpf_test

import (
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"synfin/internal/testenv"
	"synfin/watch/bpf"
	"synfin/watch/tracefs"
)

// collect reads src until stop, keeping the events of port.
func collect(src interface {
	Read(<-chan struct{}, func(*tracefs.Event)) error
}, port uint16, stop <-chan struct{}, mu *sync.Mutex, out *[]tracefs.Event) chan error {
	done := make(chan error, 1)
	go func() {
		done <- src.Read(stop, func(e *tracefs.Event) {
			if e.Local.Port() == port || e.Remote.Port() == port {
				mu.Lock()
				*out = append(*out, *e)
				mu.Unlock()
			}
		})
	}()
	return done
}

// TestAgainstTracefs: every transition of a few loopback connections
// arrives through the eBPF program as the kernel writes it to a tracefs
// instance (package tracefs, checked against lab/kernel's reading of
// trace_pipe): the same sockets, states and time stamps within a
// millisecond, and a process only where the kernel says one acted.
func TestAgainstTracefs(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapBPF, testenv.CapPerfmon)
	tf, err := tracefs.Open(1024)
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	b, err := bpf.Open(1024)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	var mu sync.Mutex
	var fromTF, fromBPF []tracefs.Event
	stop := make(chan struct{})
	d1 := collect(tf, port, stop, &mu, &fromTF)
	d2 := collect(b, port, stop, &mu, &fromBPF)
	for i := range 3 {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		a, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 { // either end closes first
			c, a = a, c
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
		a.Close()
	}
	ln.Close()
	// 3 × 10 changes, and the listener's two.
	const want = 32
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n1, n2 := len(fromTF), len(fromBPF)
		mu.Unlock()
		if n1 >= want && n2 >= want {
			break
		}
	}
	close(stop)
	if err := <-d1; err != nil {
		t.Fatal(err)
	}
	if err := <-d2; err != nil {
		t.Fatal(err)
	}
	if len(fromTF) != want || len(fromBPF) != want || tf.Lost() != 0 || b.Lost() != 0 {
		t.Fatalf("tracefs %d events (%d lost), eBPF %d (%d lost); want %d", len(fromTF), tf.Lost(), len(fromBPF), b.Lost(), want)
	}
	key := func(e tracefs.Event) string {
		return fmt.Sprintf("%v %v %v>%v", e.Local, e.Remote, e.Old.RFC(), e.New.RFC())
	}
	byKey := map[string][]tracefs.Event{}
	for _, e := range fromTF {
		byKey[key(e)] = append(byKey[key(e)], e)
	}
	var tasks int
	for _, e := range fromBPF {
		k := key(e)
		i := slices.IndexFunc(byKey[k], func(o tracefs.Event) bool { return e.Time.Sub(o.Time).Abs() < time.Millisecond })
		if i < 0 {
			t.Errorf("eBPF: %s at %v: not in tracefs's %v", k, e.Time, byKey[k])
			continue
		}
		o := byKey[k][i]
		byKey[k] = slices.Delete(byKey[k], i, i+1)
		if e.Task {
			tasks++
			if !o.Task || o.Pid != e.Pid {
				t.Errorf("%s: eBPF says pid %d (%s) made it, tracefs says task %v pid %d", k, e.Pid, e.Comm, o.Task, o.Pid)
			}
		}
	}
	// listen, its close; a connect, two closes per connection.
	if tasks != 2+3*3 {
		t.Errorf("%d changes by a process, want 11", tasks)
	}
}
