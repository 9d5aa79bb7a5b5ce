package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"synfin/internal/testenv"
	"synfin/lab"
)

// TestLabAgainstKernel runs every scenario and checks that the states
// synfin infers from the packets equal the kernel's (tracepoint and
// sock_diag), that the TIME-WAIT holders are the ones sock_diag shows, and
// that the teardown patterns have the names the scenario expects from
// RFC 9293.
func TestLabAgainstKernel(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin, testenv.CapNetRaw)
	for i, sc := range lab.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			var out, errb bytes.Buffer
			// A port of its own, so scenarios never share a listener in the
			// (global) tracepoint.
			port := 9988 + i
			code := Main(context.Background(), []string{"lab", sc.Name, "--json", "--port", itoa(port)}, nil, &out, &errb)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			var got struct {
				Stack      string    `json:"stack"`
				Comparison labReport `json:"comparison"`
			}
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("%v in %s", err, out.String())
			}
			c := got.Comparison
			if got.Stack != "kernel" || c.Source != "kernel" {
				t.Fatalf("stack %q: want the kernel", got.Stack)
			}
			for _, r := range c.Rows {
				if !r.Agree {
					t.Errorf("connection %d %s: packets say %v, kernel says %v", r.Conn, r.Role, r.Inferred, r.Reported)
				}
			}
			if !c.TimeWaitAgree {
				t.Errorf("TIME-WAIT: packets say %v, sock_diag says %v", c.TimeWaitInferred, c.TimeWaitReported)
			}
			if !c.PatternsAgree {
				t.Errorf("teardown: %v, want %v", c.Patterns, c.PatternsExpected)
			}
			if len(c.Rows) == 0 {
				t.Error("no endpoints compared")
			}
		})
	}
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}
