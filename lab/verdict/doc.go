// Package verdict sets the states synfin infers from a lab run's packets
// beside the states the stack itself reported (the kernel's tracepoint
// and sock_diag, or gVisor netstack's samples), endpoint by endpoint, and
// says whether they agree; it also compares the TIME-WAIT holders and the
// teardown patterns with what the scenario expects.
//
// Agreement is equality, with three rules for what the packets cannot
// show: an old duplicate SYN that the client rejects, for which the
// kernel never had a socket at either end ("no socket" rows); a capture
// that began mid-connection, which shows only the stack's last states
// (those before it are set apart, not compared); and, for a stack whose
// states are sampled, a brief state missing from the samples, found by
// aligning the two sequences on their longest common subsequence. A
// connect that times out is no exception: the packets show it once the
// capture runs past the time the next SYN was due (see lab.Scenario's
// Tail). The table's verdict never agrees over a row that differs.
//
// OnKernel and OnNetstack run a scenario on either stack and give the
// same Run: what was captured, and the stack's View of its endpoints.
// Compare turns a View and the connections tracked from the capture into
// a Report. A Report is what `synfin lab --json` prints as "comparison"
// (its field names are part of that output), and Report.Write prints it
// as the lab's table, in English or Chinese.
package verdict
