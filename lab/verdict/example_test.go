package verdict_test

import (
	"os"

	"synfin/lab/verdict"
)

// A connection refused on the kernel: the packets show the client's
// SYN-SENT and its return to CLOSED, as the kernel's tracepoint does,
// and no socket at the server's port.
func ExampleReport_Write() {
	rep := verdict.Report{
		Source: "kernel",
		Rows: []verdict.Row{
			{Conn: 1, Role: "client", Addr: "127.0.0.1:41000",
				Inferred: []string{"CLOSED", "SYN-SENT", "CLOSED"},
				Reported: []string{"CLOSED", "SYN-SENT", "CLOSED"}, Agree: true},
			{Conn: 1, Role: "server", Addr: "127.0.0.1:9988", Agree: true},
		},
		TimeWaitAgree: true,
		Patterns:      []string{"refused"}, PatternsExpected: []string{"refused"}, PatternsAgree: true,
		Agree: true,
	}
	rep.Write(os.Stdout, "en")
	// Output:
	// states inferred from the packets beside the kernel's
	//
	//   #1 client 127.0.0.1:41000
	//          packets                kernel
	//     1    CLOSED                 CLOSED                 ✓ agree
	//     2    SYN-SENT               SYN-SENT               ✓ agree
	//     3    CLOSED                 CLOSED                 ✓ agree
	//
	//   #1 server 127.0.0.1:9988
	//          packets                kernel
	//          (no transitions)       (no socket)            ✓ agree
	//
	//   TIME-WAIT held by: packets -, kernel -  ✓ agree
	//   teardown pattern: refused, expected refused  ✓ agree
	//   verdict: 3/3 rows agree  ✓ agree
}
