package metrics_test

import (
	"net/http"

	"synfin/watch"
	"synfin/watch/metrics"
)

// Example serves the latest snapshot at /metrics.
func Example() {
	c := metrics.New()
	c.Update(&watch.Snapshot{CloseWaitHist: make([]uint64, len(watch.AgeBuckets)+1)})
	http.Handle("/metrics", metrics.Handler(c))
	// http.ListenAndServe("127.0.0.1:9464", nil)
}
