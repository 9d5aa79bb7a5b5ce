package metrics

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"synfin/lab/kernel"
	"synfin/watch"
	"synfin/watch/finding"
	"synfin/watch/procfs"
)

// Collector holds the latest snapshot and turns it into metrics when
// scraped.
type Collector struct {
	mu sync.Mutex
	s  *watch.Snapshot

	sockets, age, queue, backlog, synRecv, trans, counter, find, lost, untracked *prometheus.Desc
}

// New returns an empty Collector; Update gives it snapshots.
func New() *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("synfin_watch_"+name, help, labels, nil)
	}
	return &Collector{
		sockets:   d("sockets", "TCP sockets by RFC 9293 state, as sock_diag lists them.", "state"),
		age:       d("close_wait_age_seconds", "How long each socket in CLOSE-WAIT has been there (a lower bound for sockets older than watch)."),
		queue:     d("listener_queue", "Connections waiting in a listener's accept queue.", "laddr", "lport"),
		backlog:   d("listener_backlog", "A listener's backlog: the queue length past which handshakes are dropped.", "laddr", "lport"),
		synRecv:   d("listener_syn_recv", "Half-open handshakes (request sockets) of a listener.", "laddr", "lport"),
		trans:     d("transitions_total", "State changes the tracepoint reported, by RFC 9293 state.", "from", "to"),
		counter:   d("kernel_counter_total", "The kernel's TCP counters, by nstat's name.", "name"),
		find:      d("findings", "Findings raised at the last snapshot, by kind.", "kind"),
		lost:      d("transitions_lost_total", "State changes the kernel reported losing (its buffer was full)."),
		untracked: d("transitions_untracked_total", "State changes of sockets the full table could not hold."),
	}
}

// Update replaces the snapshot served.
func (c *Collector) Update(s *watch.Snapshot) {
	c.mu.Lock()
	c.s = s
	c.mu.Unlock()
}

// Describe sends every descriptor.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sockets, c.age, c.queue, c.backlog, c.synRecv, c.trans, c.counter, c.find, c.lost, c.untracked} {
		ch <- d
	}
}

// Collect sends the metrics of the latest snapshot.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	s := c.s
	c.mu.Unlock()
	if s == nil {
		return
	}
	g := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, t, v, labels...)
	}
	for name, n := range s.RFCStates() {
		g(c.sockets, prometheus.GaugeValue, float64(n), name)
	}
	buckets := map[float64]uint64{}
	var count uint64
	for i, ub := range watch.AgeBuckets {
		count += s.CloseWaitHist[i]
		buckets[ub] = count
	}
	count += s.CloseWaitHist[len(watch.AgeBuckets)]
	ch <- prometheus.MustNewConstHistogram(c.age, count, s.CloseWaitSum, buckets)
	for _, l := range s.Listeners {
		a, p := l.Addr.Addr().String(), strconv.Itoa(int(l.Addr.Port()))
		g(c.queue, prometheus.GaugeValue, float64(l.Queue), a, p)
		g(c.backlog, prometheus.GaugeValue, float64(l.Backlog), a, p)
		g(c.synRecv, prometheus.GaugeValue, float64(l.SynRecv), a, p)
	}
	// By RFC 9293 name, as --json names them (two kernel states can
	// share one).
	trans := map[[2]string]uint64{}
	for from := kernel.Established; from <= kernel.NewSynRecv; from++ {
		for to := kernel.Established; to <= kernel.NewSynRecv; to++ {
			if n := s.Transitions[from][to]; n > 0 {
				trans[[2]string{from.RFC(), to.RFC()}] += n
			}
		}
	}
	for k, n := range trans {
		g(c.trans, prometheus.CounterValue, float64(n), k[0], k[1])
	}
	for _, n := range procfs.Watched {
		g(c.counter, prometheus.CounterValue, float64(s.Counters[n]), n)
	}
	kinds := map[finding.Kind]int{}
	for _, f := range s.Findings {
		kinds[f.Kind]++
	}
	for _, k := range finding.Kinds {
		g(c.find, prometheus.GaugeValue, float64(kinds[k]), string(k))
	}
	g(c.lost, prometheus.CounterValue, float64(s.Lost))
	g(c.untracked, prometheus.CounterValue, float64(s.Untracked))
}

// Handler returns the HTTP handler of /metrics: c's metrics and the Go
// runtime's and process's (memory, CPU) of watch itself.
func Handler(c *Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
