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
}

// OnKernel runs sc on the kernel (see lab.Run) with the server on port.
// A run that fails part way returns what it captured with its error.
func OnKernel(ctx context.Context, sc *lab.Scenario, port uint16) (*Run, error) {
	res, err := lab.Run(ctx, sc, lab.Options{Port: port})
	if res == nil {
		return nil, err
	}
	return &Run{Stack: "kernel", StackName: "Linux kernel", Namespace: res.Namespace, Server: res.Server, Link: res.Link,
		Frames: res.Frames, Log: res.Log, Sockets: res.Sockets, View: Kernel(res)}, err
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
