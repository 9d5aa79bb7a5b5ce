package client

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSteps(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Step
		err  string
	}{
		{"", nil, ""},
		{"send 100, wait 50ms; shutdown, read, read 10, close", []Step{
			{Kind: Send, Bytes: 100}, {Kind: Wait, Wait: 50 * time.Millisecond}, {Kind: Shutdown},
			{Kind: Read}, {Kind: Read, Bytes: 10}, {Kind: Close}}, ""},
		{"abort", []Step{{Kind: Abort}}, ""},
		{"hold", []Step{{Kind: Hold}}, ""},
		{"send", nil, "client: step"},
		{"send x", nil, "bad byte count"},
		{"wait", nil, "want \"wait DURATION\""},
		{"wait -1s", nil, "bad duration"},
		{"close now", nil, "takes no argument"},
		{"jump", nil, "unknown step"},
	} {
		got, err := ParseSteps(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSteps(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSteps(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseSteps(%q) (-want +got):\n%s", tc.in, diff)
		}
		// String round-trips.
		var parts []string
		for _, s := range got {
			parts = append(parts, s.String())
		}
		again, err := ParseSteps(strings.Join(parts, ", "))
		if err != nil || !cmp.Equal(got, again) {
			t.Errorf("round trip of %q: %v %v", tc.in, again, err)
		}
	}
}
