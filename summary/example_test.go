package summary_test

import (
	"context"
	"fmt"

	"synfin/input"
	"synfin/summary"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// A capture of the lab's last-ack-lost scenario, where tcpdump shows
// the server's FIN twice: the summary finds the lost last ACK.
func Example() {
	src, err := input.OpenAll([]string{"../lab/verdict/testdata/u-last-ack-lost.pcap"}, nil, input.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	sum := summary.New()
	t := track.New(track.Config{Done: sum.Add})
	err = input.Each(context.Background(), src, input.NewFilter(""), func(f *wire.Frame) error {
		t.Frame(f)
		return nil
	}, t.Flush)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := sum.Summary()
	for _, f := range s.Findings {
		fmt.Println(f.Kind, f.Conns)
	}
	fmt.Println(s.Conns, s.Teardown, s.Final)
	// Output:
	// lost-last-ack [1]
	// 1 [{four-segment 1}] [{TIME-WAIT/CLOSED 1}]
}

// The HTML report's form of a summary: the numbers, each finding's
// explanation in English and Chinese, and the words to show them with.
func ExampleSummary_Page() {
	p := summary.New().Summary().Page()
	fmt.Println(p.Conns, len(p.Findings), p.Words["h.findings"])
	// Output:
	// 0 0 [findings 发现]
}
