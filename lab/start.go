package lab

import (
	"context"
	"net/netip"
	"slices"
	"sync"

	"github.com/vishvananda/netlink"

	"synfin/lab/kernel"
	"synfin/lab/netns"
	"synfin/lab/server"
	"synfin/wire"
)

// Logger returns a function that appends a line to *lines, from any
// goroutine, and passes it on to also unless that is nil.
func Logger(lines *[]string, also func(string)) func(string) {
	var mu sync.Mutex
	return func(s string) {
		mu.Lock()
		*lines = append(*lines, s)
		mu.Unlock()
		if also != nil {
			also(s)
		}
	}
}

// StartServer listens with so inside ns and serves until ctx ends or
// stop is called; stop waits for the server to finish and returns its
// error.
func StartServer(ctx context.Context, ns *netns.NS, so server.Options) (stop func() error, err error) {
	ctx, cancel := context.WithCancel(ctx)
	var srv *server.Server
	if err := ns.Do(func() (err error) { srv, err = server.Listen(ctx, so); return }); err != nil {
		cancel()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	return sync.OnceValue(func() error { cancel(); return <-done }), nil
}

// StartRecording starts rec on iface inside ns. stop ends the capture
// and returns its frames the first time, nothing after, so it can be
// deferred as a cleanup too.
func StartRecording(rec Recorder, ns *netns.NS, iface string) (stop func() ([]wire.Frame, wire.LinkType, error), err error) {
	if err := rec.Start(ns, iface); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() (frames []wire.Frame, link wire.LinkType, err error) {
		once.Do(func() { frames, link, err = rec.Stop() })
		return
	}, nil
}

// KernelView is the kernel's own view of a run: the tracepoint
// sock/inet_sock_set_state, filtered in the kernel on the server's port,
// and sock_diag in each namespace of the run.
type KernelView struct {
	Diags []*netlink.Handle // in the order of the namespaces given to StartKernel
	rec   *kernel.Recorder
}

// StartKernel starts the tracepoint on port (notify, if set, sees each
// event as it is read) and opens sock_diag in each of nss.
func StartKernel(port uint16, notify func(kernel.Event), nss ...*netns.NS) (*KernelView, error) {
	rec, err := kernel.Start(kernel.Filter{Ports: []uint16{port}}, notify)
	if err != nil {
		return nil, err
	}
	k := &KernelView{rec: rec}
	for _, ns := range nss {
		diag, err := kernel.DiagHandle(ns.Handle())
		if err != nil {
			k.Close()
			return nil, err
		}
		k.Diags = append(k.Diags, diag)
	}
	return k, nil
}

// Sockets returns what sock_diag shows in every namespace (what ss -tan
// prints): those between addresses ours accepts, or all if ours is nil.
func (k *KernelView) Sockets(ours func(local, remote netip.AddrPort) bool) ([]kernel.Socket, error) {
	var all []kernel.Socket
	for _, diag := range k.Diags {
		s, err := kernel.Sockets(diag)
		if err != nil {
			return nil, err
		}
		all = append(all, s...)
	}
	if ours == nil {
		return all, nil
	}
	return slices.DeleteFunc(all, func(s kernel.Socket) bool { return !ours(s.Local, s.Remote) }), nil
}

// Events stops the tracepoint and returns the events between addresses
// that ours accepts: the tracepoint is global, and other labs may use the
// same port in namespaces of their own.
func (k *KernelView) Events(ours func(src, dst netip.AddrPort) bool) ([]kernel.Event, error) {
	all, err := k.rec.Stop()
	return slices.DeleteFunc(all, func(e kernel.Event) bool { return !ours(e.Src, e.Dst) }), err
}

// Close stops the tracepoint, if Events did not, and closes sock_diag.
func (k *KernelView) Close() error {
	_, err := k.rec.Stop()
	for _, diag := range k.Diags {
		diag.Close()
	}
	return err
}
