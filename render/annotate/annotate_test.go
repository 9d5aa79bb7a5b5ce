package annotate_test

import (
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/input"
	"synfin/internal/corpus"
	"synfin/render/annotate"
	"synfin/render/tcpdump"
	"synfin/wire"
)

// seedFrames reads the seed: the blog post's capture, as tcpdump printed
// it.
func seedFrames(t *testing.T) []wire.Frame {
	t.Helper()
	src, err := input.Open(corpus.Seed(t, "capture.txt"), nil, input.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var frames []wire.Frame
	for {
		var f wire.Frame
		err := src.Next(&f)
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Data = slices.Clone(f.Data)
		frames = append(frames, f)
	}
}

// print prints frames with a fresh Printer.
func print(frames []wire.Frame, popt tcpdump.Options, opt annotate.Options) string {
	fp := annotate.New(tcpdump.New(popt), opt)
	var out []byte
	for i := range frames {
		out, _ = fp.Append(out, &frames[i])
	}
	return string(out)
}

// step is the annotation at the end of a line.
var step = regexp.MustCompile(`(?m)  \[([^\]\n]*)\]$`)

// TestSeedSteps checks the seed's seven steps. They are the capture read
// by hand with RFC 9293 (port 41631 opens and its client closes; port
// 41474 is seen only at the server's FIN and its ACK); taking them away
// gives the lines without annotation.
func TestSeedSteps(t *testing.T) {
	frames := seedFrames(t)
	popt := tcpdump.Options{Absolute: true}
	plain := print(frames, popt, annotate.Options{})
	out := print(frames, popt, annotate.Options{Steps: true})
	want := []string{
		"handshake 1/3: client SYN; client SYN-SENT, server SYN-RECEIVED",
		"handshake 2/3: server SYN-ACK; client ESTABLISHED",
		"handshake 3/3: client ACK; server ESTABLISHED",
		"teardown: server FIN; server FIN-WAIT-1, client CLOSE-WAIT",
		"teardown: client ACK of the FIN; server FIN-WAIT-2",
		"teardown: client FIN; client FIN-WAIT-1, server CLOSE-WAIT",
		"teardown: server ACK of the FIN; client FIN-WAIT-2",
	}
	var got []string
	for _, m := range step.FindAllStringSubmatch(out, -1) {
		got = append(got, m[1])
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("steps (-want +got):\n%s", d)
	}
	if d := cmp.Diff(plain, step.ReplaceAllString(out, "")); d != "" {
		t.Errorf("without the steps (-plain +annotated):\n%s", d)
	}
}

// TestStepsWithOptions checks that with any printing options the step
// goes at the end of the tcpdump line (not of the IP header's line under
// -v, nor of a hex dump) and that taking it away gives the lines without
// annotation.
func TestStepsWithOptions(t *testing.T) {
	frames := seedFrames(t)
	for _, tc := range []struct {
		name string
		opt  tcpdump.Options
	}{
		{"-n", tcpdump.Options{Numeric: true}},
		{"-n -x", tcpdump.Options{Numeric: true, Dump: tcpdump.DumpHex}},
		{"-n -XX", tcpdump.Options{Numeric: true, Dump: tcpdump.DumpHexA, DumpLink: true}},
		{"-n -A", tcpdump.Options{Numeric: true, Dump: tcpdump.DumpASCII}},
		{"-# -v -e", tcpdump.Options{Number: true, Verbose: 1, Link: true}},
		{"-vv -x", tcpdump.Options{Verbose: 2, Dump: tcpdump.DumpHex}},
		{"-tttt -S", tcpdump.Options{Time: 4, Absolute: true}},
		{"-q", tcpdump.Options{Quiet: true}},
		{"-q -v", tcpdump.Options{Quiet: true, Verbose: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain := print(frames, tc.opt, annotate.Options{})
			out := print(frames, tc.opt, annotate.Options{Steps: true})
			if n := len(step.FindAllString(out, -1)); n != len(frames) {
				t.Errorf("%d steps for %d segments:\n%s", n, len(frames), out)
			}
			if d := cmp.Diff(plain, step.ReplaceAllString(out, "")); d != "" {
				t.Errorf("without the steps (-plain +annotated):\n%s", d)
			}
			for _, l := range strings.Split(out, "\n") {
				if step.MatchString(l) && !strings.Contains(l, "Flags [") && !strings.Contains(l, ": tcp ") {
					t.Errorf("step not on the TCP line: %s", l)
				}
			}
		})
	}
}
