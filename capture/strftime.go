package capture

import (
	"strconv"
	"strings"
	"time"
)

// strftime formats t as C's strftime(3) does in the C locale, for the
// file names of -G (tcpdump formats them so). No module of strftime is
// among those this project takes, and the names need only the plain
// conversions, so they are here: every conversion of POSIX and glibc
// without flags or widths; anything else is copied as it stands, as
// glibc copies a conversion it does not know.
func strftime(layout string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(layout); i++ {
		c := layout[i]
		if c != '%' || i+1 == len(layout) {
			b.WriteByte(c)
			continue
		}
		i++
		if s, ok := conversion(layout[i], t); ok {
			b.WriteString(s)
		} else {
			b.WriteByte('%')
			b.WriteByte(layout[i])
		}
	}
	return b.String()
}

// conversion is the text of %c for t, and whether c is a conversion.
func conversion(c byte, t time.Time) (string, bool) {
	pad := func(n, width int, with byte) string {
		s := strconv.Itoa(n)
		for len(s) < width {
			s = string(with) + s
		}
		return s
	}
	hour12 := (t.Hour()+11)%12 + 1
	isoYear, isoWeek := t.ISOWeek()
	yday, wday := t.YearDay()-1, int(t.Weekday())
	switch c {
	case 'a':
		return t.Format("Mon"), true
	case 'A':
		return t.Format("Monday"), true
	case 'b', 'h':
		return t.Format("Jan"), true
	case 'B':
		return t.Format("January"), true
	case 'c':
		return strftime("%a %b %e %H:%M:%S %Y", t), true
	case 'C':
		return pad(t.Year()/100, 2, '0'), true
	case 'd':
		return pad(t.Day(), 2, '0'), true
	case 'D', 'x':
		return strftime("%m/%d/%y", t), true
	case 'e':
		return pad(t.Day(), 2, ' '), true
	case 'F':
		return strftime("%Y-%m-%d", t), true
	case 'g':
		return pad(isoYear%100, 2, '0'), true
	case 'G':
		return strconv.Itoa(isoYear), true
	case 'H':
		return pad(t.Hour(), 2, '0'), true
	case 'I':
		return pad(hour12, 2, '0'), true
	case 'j':
		return pad(yday+1, 3, '0'), true
	case 'k':
		return pad(t.Hour(), 2, ' '), true
	case 'l':
		return pad(hour12, 2, ' '), true
	case 'm':
		return pad(int(t.Month()), 2, '0'), true
	case 'M':
		return pad(t.Minute(), 2, '0'), true
	case 'n':
		return "\n", true
	case 'p':
		return t.Format("PM"), true
	case 'P':
		return strings.ToLower(t.Format("PM")), true
	case 'r':
		return strftime("%I:%M:%S %p", t), true
	case 'R':
		return strftime("%H:%M", t), true
	case 's':
		return strconv.FormatInt(t.Unix(), 10), true
	case 'S':
		return pad(t.Second(), 2, '0'), true
	case 't':
		return "\t", true
	case 'T', 'X':
		return strftime("%H:%M:%S", t), true
	case 'u':
		return strconv.Itoa((wday+6)%7 + 1), true
	case 'U':
		return pad((yday+7-wday)/7, 2, '0'), true
	case 'V':
		return pad(isoWeek, 2, '0'), true
	case 'w':
		return strconv.Itoa(wday), true
	case 'W':
		return pad((yday+7-(wday+6)%7)/7, 2, '0'), true
	case 'y':
		return pad(t.Year()%100, 2, '0'), true
	case 'Y':
		return strconv.Itoa(t.Year()), true
	case 'z':
		return t.Format("-0700"), true
	case 'Z':
		return t.Format("MST"), true
	case '%':
		return "%", true
	}
	return "", false
}
