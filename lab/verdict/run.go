package verdict

import (
	"context"
	"net/netip"

	"synfin/lab"
	"synfin/lab/kernel"
	"synfin/lab/userstack"
	"synfin/wire"
)

// Run is what a lab run on either stack gives the lab's output: what it
// captured, and the stack's own view of its endpoints to compare with.
type Run struct {
	Stack     string // "kernel" or "netstack"
	StackName string // which TCP, in a few words
	Namespace string // the kernel's network namespace; "" on netstack
	Server    netip.AddrPort
	Link      wire.LinkType
	Frames    []wire.Frame
	Log       []string
	Sockets   []kernel.Socket // sock_diag at the end; nil on netstack
	View      View
	// Far is the capture on the server's side of a path's router (and
	// Frames the one on the client's side); nil without a path.
	Far   []wire.Frame
	Iface string // the kernel's capture interface: lo, or the client's side of a path
}

// OnKernel runs sc on the kernel (see lab.Run) with the server on port.
// A run that fails part way returns what it captured with its error.
func OnKernel(ctx context.Context, sc *lab.Scenario, port uint16) (*Run, error) {
	return OnPath(ctx, sc, port, nil)
}

// OnPath is OnKernel across the path p (see lab.Path); nil: on loopback.
func OnPath(ctx context.Context, sc *lab.Scenario, port uint16, p *lab.Path) (*Run, error) {
	res, err := lab.Run(ctx, sc, lab.Options{Port: port, Path: p})
	if res == nil {
		return nil, err
	}
	return &Run{Stack: "kernel", StackName: "Linux kernel", Namespace: res.Namespace, Server: res.Server, Link: res.Link,
		Frames: res.Frames, Log: res.Log, Sockets: res.Sockets, View: Kernel(res), Far: res.Far, Iface: res.Iface}, err
}

// OnNetstack runs sc on gVisor's netstack (see userstack.Run) with the
// server on port, as OnKernel does on the kernel.
func OnNetstack(ctx context.Context, sc *lab.Scenario, port uint16) (*Run, error) {
	res, err := userstack.Run(ctx, sc, userstack.Options{Port: port})
	if res == nil {
		return nil, err
	}
	return &Run{Stack: userstack.Source, StackName: userstack.StackName, Server: res.Server, Link: res.Link,
		Frames: res.Frames, Log: res.Log, View: Netstack(res)}, err
}
