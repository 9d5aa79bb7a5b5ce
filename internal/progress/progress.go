package progress

import (
	"io"
	"strconv"
	"time"
)

// Defaults for Config's zero fields.
const (
	DefaultDelay    = 500 * time.Millisecond
	DefaultInterval = 100 * time.Millisecond
	DefaultWidth    = 80
)

// Config says where and how a bar is drawn.
type Config struct {
	W        io.Writer        // where the bar goes: a terminal
	Delay    time.Duration    // nothing is drawn before (DefaultDelay if 0, none if negative)
	Interval time.Duration    // least time between redraws (DefaultInterval if 0)
	Width    int              // columns (the terminal's, or DefaultWidth, if 0)
	Now      func() time.Time // the clock (time.Now if nil)
}

// Bar is the progress of one read. Not safe for concurrent use.
type Bar struct {
	w        io.Writer
	total    int64
	done     int64
	now      func() time.Time
	start    time.Time
	next     time.Time // no redraw before
	interval time.Duration
	width    int
	line     []byte
	drawn    bool // a line is on the screen
	finished bool
}

// New starts a bar for reading total bytes.
func New(total int64, c Config) *Bar {
	b := &Bar{w: c.W, total: total, now: c.Now, interval: c.Interval, width: c.Width}
	if b.now == nil {
		b.now = time.Now
	}
	if b.interval <= 0 {
		b.interval = DefaultInterval
	}
	if b.width <= 0 {
		b.width = Width(c.W)
	}
	delay := c.Delay
	switch {
	case delay == 0:
		delay = DefaultDelay
	case delay < 0:
		delay = 0
	}
	b.start = b.now()
	b.next = b.start.Add(delay)
	return b
}

// Add counts n more bytes read and redraws if it is time to.
func (b *Bar) Add(n int) {
	if b.finished {
		return
	}
	b.done += int64(n)
	t := b.now()
	if t.Before(b.next) {
		return
	}
	b.next = t.Add(b.interval)
	b.line = append(b.line[:0], '\r')
	b.line = Render(b.line, b.done, b.total, t.Sub(b.start), b.width-1)
	b.line = append(b.line, "\x1b[K"...) // erase what a longer line left
	b.drawn = true
	b.w.Write(b.line)
}

// Done returns the bytes counted so far.
func (b *Bar) Done() int64 { return b.done }

// Finish erases the bar, if one was drawn, and stops drawing. It may be
// called more than once.
func (b *Bar) Finish() {
	if b.finished {
		return
	}
	b.finished = true
	if b.drawn {
		b.w.Write([]byte("\r\x1b[K"))
	}
}

// Reader returns r counting into b; the bar is finished when r reports
// an error or the end, so that it is gone before the results print.
func (b *Bar) Reader(r io.Reader) io.Reader { return &reader{r: r, b: b} }

// Start starts a bar drawn as c says for reading size bytes, and
// returns its Add and its Finish: the shape of input.Options.Progress.
func (c *Config) Start(size int64) (add func(n int), finish func()) {
	b := New(size, *c)
	return b.Add, b.Finish
}

type reader struct {
	r io.Reader
	b *Bar
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.b.Add(n)
	}
	if err != nil {
		r.b.Finish()
	}
	return n, err
}

// Render appends the bar's text for done of total bytes after elapsed,
// at most width columns:
//
//	45% [#########           ] 273.1 MB / 606.4 MB  301.2 MB/s  ETA 0:01
//
// The bracketed bar is left out when it would be shorter than ten
// columns, and the text is cut to width.
func Render(dst []byte, done, total int64, elapsed time.Duration, width int) []byte {
	if done < 0 {
		done = 0
	}
	frac := 1.0
	if total > 0 && done < total {
		frac = float64(done) / float64(total)
	}
	var tail [64]byte
	// Counts that change are padded to a fixed width, so that the bar
	// keeps its length from one redraw to the next.
	t := append(tail[:0], ' ')
	t = padLeft(appendSize(t, done), len(t), sizeWidth)
	t = append(t, " / "...)
	t = appendSize(t, total)
	t = append(t, "  "...)
	var (
		rate     float64
		etaStart int
	)
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	if rate > 0 {
		t = padLeft(appendSize(t, int64(rate)), len(t), sizeWidth)
		t = append(t, "/s  ETA "...)
		etaStart = len(t)
		left := total - done
		if left < 0 {
			left = 0
		}
		eta := float64(left) / rate
		if eta < maxETA {
			t = appendClock(t, time.Duration(eta*float64(time.Second)))
		} else {
			t = append(t, "--:--"...)
		}
	} else {
		t = append(t, "      --/s  ETA "...)
		etaStart = len(t)
		t = append(t, "--:--"...)
	}
	for len(t)-etaStart < etaWidth {
		t = append(t, ' ') // the time left varies in length too
	}

	start := len(dst)
	pct := int(frac * 100)
	if pct < 10 {
		dst = append(dst, ' ', ' ')
	} else if pct < 100 {
		dst = append(dst, ' ')
	}
	dst = strconv.AppendInt(dst, int64(pct), 10)
	dst = append(dst, '%')
	if cells := width - (len(dst) - start) - 3 - len(t); cells >= 10 {
		dst = append(dst, ' ', '[')
		full := int(frac * float64(cells))
		for i := 0; i < cells; i++ {
			if i < full {
				dst = append(dst, '#')
			} else {
				dst = append(dst, ' ')
			}
		}
		dst = append(dst, ']')
	}
	dst = append(dst, t...)
	if width >= 0 && len(dst)-start > width {
		dst = dst[:start+width]
	}
	return dst
}

// etaWidth is the columns kept for the time left, "H:MM:SS" and a space;
// maxETA (in seconds) is where it shows as "--:--" instead.
const (
	etaWidth = 8
	maxETA   = 100 * 3600
)

// sizeWidth is the longest appendSize text below 1000 EB: "999.9 MB".
const sizeWidth = 8

// padLeft right-aligns b[from:] in width columns with spaces.
func padLeft(b []byte, from, width int) []byte {
	n := len(b) - from
	if n >= width {
		return b
	}
	pad := width - n
	for range pad {
		b = append(b, ' ')
	}
	copy(b[from+pad:], b[from:from+n])
	for i := from; i < from+pad; i++ {
		b[i] = ' '
	}
	return b
}

// appendSize appends n bytes in decimal units with one decimal: "512 B",
// "1.5 kB", "606.4 MB", "2.1 GB".
func appendSize(b []byte, n int64) []byte {
	const k = 1000
	if n < k {
		b = strconv.AppendInt(b, n, 10)
		return append(b, " B"...)
	}
	units := [...]string{"kB", "MB", "GB", "TB", "PB", "EB"}
	v := float64(n) / k
	u := 0
	for v >= 999.95 && u < len(units)-1 {
		v /= k
		u++
	}
	b = strconv.AppendFloat(b, v, 'f', 1, 64)
	b = append(b, ' ')
	return append(b, units[u]...)
}

// appendClock appends d, rounded up to the second, as M:SS or H:MM:SS.
func appendClock(b []byte, d time.Duration) []byte {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 0 {
		s = 0
	}
	h, m := s/3600, s/60%60
	s %= 60
	if h > 0 {
		b = strconv.AppendInt(b, h, 10)
		b = append(b, ':')
		b = append(b, byte('0'+m/10), byte('0'+m%10))
	} else {
		b = strconv.AppendInt(b, m, 10)
	}
	return append(b, ':', byte('0'+s/10), byte('0'+s%10))
}
