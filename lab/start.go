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

// StartRecording starts rec on ns's loopback interface. stop ends the
// capture and returns its frames the first time, nothing after, so it
// can be deferred as a cleanup too.
func StartRecording(rec Recorder, ns *netns.NS) (stop func() ([]wire.Frame, wire.LinkType, error), err error) {
	if err := rec.Start(ns, "lo"); err != nil {
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
// and sock_diag in the run's namespace.
type KernelView struct {
	Diag *netlink.Handle
	rec  *kernel.Recorder
}

// StartKernel starts the tracepoint on port (notify, if set, sees each
// event as it is read) and opens sock_diag in ns.
func StartKernel(ns *netns.NS, port uint16, notify func(kernel.Event)) (*KernelView, error) {
	rec, err := kernel.Start(kernel.Filter{Ports: []uint16{port}}, notify)
	if err != nil {
		return nil, err
	}
	diag, err := kernel.DiagHandle(ns.Handle())
	if err != nil {
		rec.Stop()
		return nil, err
	}
	return &KernelView{Diag: diag, rec: rec}, nil
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
	k.Diag.Close()
	return err
}
