//go:build linux

package cli

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/lab/client"
	"synfin/lab/fault"
	"synfin/wire"
)

// kernelTransfer records a real upload of 40 MB over loopback in a
// network namespace, with the client's 60th segment after the handshake
// dropped on its way in, so that the kernel sends it again, and returns
// the capture's path.
func kernelTransfer(t *testing.T) string {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin, testenv.CapNetRaw)
	steps, err := client.ParseSteps("send 40000000, close")
	if err != nil {
		t.Fatal(err)
	}
	// The server of client-closes-first reads to the end of the stream.
	sc, err := lab.Lookup("client-closes-first")
	if err != nil {
		t.Fatal(err)
	}
	sc.Clients = []lab.ClientRun{{Steps: steps}}
	sc.Faults = []lab.Fault{{From: lab.Client, Rule: fault.Rule{Name: "data", Flags: wire.ACK,
		Mask: wire.SYN | wire.FIN | wire.RST | wire.ACK, Nth: 60}}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := lab.Run(ctx, sc, lab.Options{Port: 9961})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "transfer.pcap")
	pcaptest.WriteFile(t, path, res.Link, res.Frames)
	return path
}
