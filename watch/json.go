package watch

import (
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"time"

	"synfin/watch/procfs"
)

// JSON writes JSON Lines, one object per event, each with "type":
// "transition", "snapshot" or "finding". It is safe for concurrent use.
// Once a write fails, it writes nothing more and returns that error.
type JSON struct {
	w    io.Writer
	lang string
	mu   sync.Mutex
	b    []byte
	err  error
}

// NewJSON writes to w, findings' text in lang.
func NewJSON(w io.Writer, lang string) *JSON { return &JSON{w: w, lang: lang} }

// Handler returns the Handler that writes every event.
func (j *JSON) Handler() Handler { return Handler{Transition: j.Transition, Snapshot: j.Snapshot} }

// obj builds one object with keys in the order they are added.
type obj struct{ b []byte }

func (o *obj) key(k string) {
	if o.b[len(o.b)-1] != '{' {
		o.b = append(o.b, ',')
	}
	o.b = strconv.AppendQuote(o.b, k)
	o.b = append(o.b, ':')
}

func (o *obj) str(k, v string) { o.key(k); o.b = appendString(o.b, v) }
func (o *obj) num(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}
func (o *obj) raw(k string, v []byte) { o.key(k); o.b = append(o.b, v...) }
func (o *obj) any(k string, v any) {
	b, _ := json.Marshal(v)
	o.raw(k, b)
}
func (o *obj) time(k string, t time.Time) {
	o.key(k)
	o.b = strconv.AppendFloat(o.b, float64(t.UnixMicro())/1e6, 'f', 6, 64)
}

func appendString(b []byte, s string) []byte {
	v, _ := json.Marshal(s)
	return append(b, v...)
}

// begin starts an object of type typ at time t in j's buffer; j.mu is
// held.
func (j *JSON) begin(typ string, t time.Time) obj {
	o := obj{append(j.b[:0], '{')}
	o.str("type", typ)
	o.time("t", t)
	return o
}

func (j *JSON) write(o *obj) {
	o.b = append(o.b, '}', '\n')
	if j.err == nil {
		_, j.err = j.w.Write(o.b)
	}
}

// Transition writes {"type":"transition","t":...,"laddr":...,"lport":...,
// "raddr":...,"rport":...,"from":...,"to":...,"ms_in_from":...,"pid":...,
// "comm":...}, the last three when known.
func (j *JSON) Transition(t *Transition) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	o := j.begin("transition", t.Time)
	o.str("laddr", t.Local.Addr().String())
	o.num("lport", int64(t.Local.Port()))
	o.str("raddr", t.Remote.Addr().String())
	o.num("rport", int64(t.Remote.Port()))
	o.str("from", t.From.RFC())
	o.str("to", t.To.RFC())
	if t.InFrom >= 0 {
		o.key("ms_in_from")
		o.b = strconv.AppendFloat(o.b, float64(t.InFrom.Microseconds())/1000, 'f', -1, 64)
	}
	if t.Pid != 0 {
		o.num("pid", int64(t.Pid))
		o.str("comm", t.Comm)
	}
	j.write(&o)
	j.b = o.b
	return j.err
}

// Snapshot writes the snapshot line, then a line per finding.
func (j *JSON) Snapshot(s *Snapshot) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	o := j.begin("snapshot", s.Time)
	o.str("source", s.Source)
	o.any("states", s.RFCStates())
	o.key("listeners")
	o.b = append(o.b, '[')
	for i, l := range s.Listeners {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		lo := obj{append(o.b, '{')}
		lo.str("laddr", l.Addr.Addr().String())
		lo.num("lport", int64(l.Addr.Port()))
		lo.num("queue", int64(l.Queue))
		lo.num("backlog", int64(l.Backlog))
		lo.num("syn_recv", int64(l.SynRecv))
		if l.Pid != 0 {
			lo.num("pid", int64(l.Pid))
			lo.str("comm", l.Comm)
		}
		o.b = append(lo.b, '}')
	}
	o.b = append(o.b, ']')
	o.key("counters")
	o.b = append(o.b, '{')
	for i, n := range procfs.Watched {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = strconv.AppendQuote(o.b, n)
		o.b = append(o.b, ':')
		o.b = strconv.AppendUint(o.b, s.Counters[n], 10)
	}
	o.b = append(o.b, '}')
	o.num("transitions", int64(s.Seen))
	o.num("lost", int64(s.Lost))
	o.num("untracked", int64(s.Untracked))
	j.write(&o)
	for _, f := range s.Findings {
		j.b = o.b
		o = j.begin("finding", s.Time)
		o.str("kind", string(f.Kind))
		for _, fl := range f.Fields() {
			o.any(fl.Name, fl.Value)
		}
		o.str("text", f.Text(j.lang))
		j.write(&o)
	}
	j.b = o.b
	return j.err
}
