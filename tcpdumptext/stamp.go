package tcpdumptext

import "time"

// TimeFormat says how to read "HH:MM:SS.frac" stamps, which tcpdump prints
// for three different flags.
type TimeFormat int

const (
	// TimeAuto reads them as the time of day (the default format), unless
	// the first packet reads 00:00:00.000000: then as the time since the
	// first packet (-ttttt), switching to the time since the previous
	// packet (-ttt) as soon as a stamp goes backwards.
	TimeAuto TimeFormat = iota
	TimeOfDay
	TimeSincePrev  // -ttt
	TimeSinceFirst // -ttttt
)

// stampKind is the shape of a printed time stamp.
type stampKind uint8

const (
	stampNone  stampKind = iota
	stampClock           // [H]HH:MM:SS.frac (default, -ttt, -ttttt)
	stampUnix            // seconds.frac (-tt)
	stampDate            // YYYY-MM-DD HH:MM:SS.frac (-tttt)
)

// stamp is one parsed time stamp.
type stamp struct {
	kind   stampKind
	sec    int64 // clock: seconds since 00:00; unix: Unix seconds
	nsec   int64
	digits int // fraction digits (6 or 9)
	year   int
	month  time.Month
	day    int
}

// parseStamp reads a time stamp at the start of s and returns it with the
// rest of s after the following space.
func parseStamp(s string) (st stamp, rest string, ok bool) {
	if len(s) > 1 && s[0] == '-' && s[1] >= '0' && s[1] <= '9' {
		// -ttt and -ttttt print a time going backwards with a sign.
		st, rest, ok = parseClock(s[1:])
		if !ok {
			return st, s, false
		}
		st.sec, st.nsec = -st.sec, -st.nsec
		return st, rest, true
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return st, s, false
	}
	switch {
	case i == 4 && len(s) > 11 && s[4] == '-' && s[7] == '-' && s[10] == ' ':
		y, ok1 := atou(s[:4])
		m, ok2 := atou(s[5:7])
		d, ok3 := atou(s[8:10])
		if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > 31 {
			return st, s, false
		}
		st, rest, ok = parseClock(s[11:])
		if !ok || st.sec >= 86400 {
			return st, s, false
		}
		st.kind, st.year, st.month, st.day = stampDate, int(y), time.Month(m), int(d)
		return st, rest, true
	case i < len(s) && s[i] == ':':
		return parseClock(s)
	case i < len(s) && s[i] == '.' && i <= 12:
		sec, _ := atou(s[:i])
		ns, n, r, ok := frac(s[i+1:])
		if !ok {
			return st, s, false
		}
		return stamp{kind: stampUnix, sec: int64(sec), nsec: ns, digits: n}, r, true
	}
	return st, s, false
}

// parseClock reads H+:MM:SS.frac followed by a space.
func parseClock(s string) (st stamp, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 9 || len(s) < i+7 || s[i] != ':' || s[i+3] != ':' || s[i+6] != '.' {
		return st, s, false
	}
	h, _ := atou(s[:i])
	m, ok1 := atou(s[i+1 : i+3])
	sec, ok2 := atou(s[i+4 : i+6])
	if !ok1 || !ok2 || m > 59 || sec > 60 {
		return st, s, false
	}
	ns, n, r, ok := frac(s[i+7:])
	if !ok {
		return st, s, false
	}
	return stamp{kind: stampClock, sec: int64(h*3600 + m*60 + sec), nsec: ns, digits: n}, r, true
}

// frac reads the fraction and the space after it: 6 digits of µs, 9 of
// ns, or more than 6 for a µs field beyond 999999, which tcpdump prints
// as it stands (a damaged record) and readers carry into the seconds.
func frac(s string) (ns int64, digits int, rest string, ok bool) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n < 6 || n > 10 || n >= len(s) || s[n] != ' ' {
		return 0, 0, s, false
	}
	v, _ := atou(s[:n])
	digits = 9
	if n != 9 {
		v *= 1000
		digits = 6
	}
	return int64(v), digits, s[n+1:], true
}

// clock turns parsed stamps into Unix nanoseconds, keeping what it needs
// across packets (the day, the previous stamp).
type clock struct {
	format  TimeFormat
	guessed bool // format was guessed as TimeSinceFirst and may turn out -ttt
	drops   int  // stamps that went backwards while guessed
	loc     *time.Location
	day     time.Time // midnight of the current day
	started bool
	prevRaw int64 // previous printed clock value, ns
	prevT   int64 // previous result, Unix ns
	nano    bool
}

func (c *clock) unix(st stamp) int64 {
	if st.digits == 9 {
		c.nano = true
	}
	switch st.kind {
	case stampUnix:
		return st.sec*1e9 + st.nsec
	case stampDate:
		t := time.Date(st.year, st.month, st.day, 0, 0, 0, 0, c.loc)
		return t.UnixNano() + st.sec*1e9 + st.nsec
	case stampNone:
		return c.day.UnixNano()
	}
	raw := st.sec*1e9 + st.nsec
	if !c.started {
		c.started = true
		if c.format == TimeAuto {
			c.format = TimeOfDay
			if raw == 0 {
				c.format, c.guessed = TimeSinceFirst, true
			}
		}
		c.prevT, c.prevRaw = c.day.UnixNano(), raw
	} else if c.guessed && c.format == TimeSinceFirst && raw < c.prevRaw {
		// Since-first stamps go backwards only when the capture's clock
		// did, rarely and by little; -ttt gaps do all the time.
		c.drops++
		if raw < c.prevRaw/2 || c.drops >= 3 {
			c.format = TimeSincePrev
		}
	}
	var t int64
	switch c.format {
	case TimeSincePrev:
		t = c.prevT + raw
	case TimeSinceFirst:
		t = c.day.UnixNano() + raw
	default:
		if raw < c.prevRaw-12*3600*1e9 {
			c.day = c.day.AddDate(0, 0, 1)
		}
		t = c.day.UnixNano() + raw
	}
	c.prevRaw, c.prevT = raw, t
	return t
}
