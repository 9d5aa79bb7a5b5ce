package explain

import (
	"strconv"
	"strings"
	"time"

	"synfin/tcpstate"
)

// Arg is one named argument of a message. A Value starting with '@' is a
// catalogue key, translated when the message is formatted.
type Arg struct {
	Name  string
	Value string
}

// Msg is a message in no particular language: a catalogue key and its
// arguments.
type Msg struct {
	Key  string
	Args []Arg
}

// M makes a message from a key and name, value pairs.
func M(key string, kv ...string) Msg {
	m := Msg{Key: key}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Args = append(m.Args, Arg{kv[i], kv[i+1]})
	}
	return m
}

// Word is an argument value that is translated: the catalogue key of a
// word such as "w.client".
func Word(key string) string { return "@" + key }

// AnomalyWord is an argument value naming anomaly a: tcpstate's name in
// English, translated in other languages.
func AnomalyWord(a tcpstate.Anomaly) string { return Word("ann." + a.String()) }

// PatternWord is an argument value naming teardown pattern p: tcpstate's
// name in English, translated in other languages.
func PatternWord(p tcpstate.Pattern) string { return Word("pn." + p.String()) }

// Name is a name of tcpstate's (an anomaly's or a teardown pattern's, as
// String() gives it) in lang; kind is "ann" or "pn". A name the catalogue
// lacks stays as it is.
func Name(kind, name, lang string) string {
	if t, ok := lookup(kind+"."+name, lang); ok {
		return t
	}
	return name
}

// Names is names (see Name) in lang, joined as lang joins a list.
func Names(kind string, names []string, lang string) string {
	sep, _ := lookup("w.list", lang)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = Name(kind, n, lang)
	}
	return strings.Join(out, sep)
}

// Arg returns the value of the argument name.
func (m Msg) Arg(name string) (string, bool) {
	for _, a := range m.Args {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// Text formats the message in lang ("en" or "zh"). A key missing from the
// catalogue comes out as "[key]" so that it shows, and is caught by tests.
func (m Msg) Text(lang string) string {
	tmpl, ok := lookup(m.Key, lang)
	if !ok {
		return "[" + m.Key + "]"
	}
	return fill(tmpl, lang, m.Args)
}

// fill substitutes {name} placeholders. The HTML report's script does the
// same with the same catalogue.
func fill(tmpl, lang string, args []Arg) string {
	if !strings.Contains(tmpl, "{") {
		return tmpl
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		name := tmpl[i+1 : i+j]
		v, found := "", false
		for _, a := range args {
			if a.Name == name {
				v, found = a.Value, true
				break
			}
		}
		switch {
		case !found:
			b.WriteString("{" + name + "}")
		case strings.HasPrefix(v, "@@"):
			b.WriteString(expandList(v[2:], lang))
		case strings.HasPrefix(v, "@"):
			b.WriteString(Msg{Key: v[1:]}.Text(lang))
		default:
			b.WriteString(v)
		}
		tmpl = tmpl[i+j+1:]
	}
}

// expandList formats a list packed by listArg, joined with the language's
// separator.
func expandList(v, lang string) string {
	sep, _ := lookup("w.list", lang)
	var out []string
	for _, part := range strings.Split(v, "\x1f") {
		fields := strings.Split(part, "\x1e")
		m := Msg{Key: fields[0]}
		for _, f := range fields[1:] {
			name, val, _ := strings.Cut(f, "=")
			m.Args = append(m.Args, Arg{name, val})
		}
		out = append(out, m.Text(lang))
	}
	return strings.Join(out, sep)
}

func itoa[T ~int | ~int8 | ~int64 | ~uint64 | ~uint32 | ~uint16 | ~uint8](v T) string {
	return strconv.FormatInt(int64(v), 10)
}

// Dur formats a duration compactly and the same way in every language:
// "26 µs", "1.699 ms", "60 s".
func Dur(d time.Duration) string {
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	switch {
	case d < time.Millisecond:
		return neg + strconv.FormatInt(int64(d/time.Microsecond), 10) + " µs"
	case d < time.Second:
		return neg + trimFloat(float64(d)/1e6, 3) + " ms"
	case d < time.Minute:
		return neg + trimFloat(float64(d)/1e9, 3) + " s"
	}
	return neg + trimFloat(float64(d)/1e9, 1) + " s"
}

func trimFloat(f float64, prec int) string {
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Clock formats a capture time stamp (Unix ns) in UTC with microseconds;
// the date is left out for captures without one (tcpdump text without -tttt
// reads as 1970-01-01).
func Clock(ns int64) string {
	t := time.Unix(0, ns).UTC()
	if t.Year() == 1970 && t.YearDay() == 1 {
		return t.Format("15:04:05.000000")
	}
	return t.Format("2006-01-02 15:04:05.000000")
}

// TimeOfDay formats a time stamp as hours to microseconds, UTC.
func TimeOfDay(ns int64) string { return time.Unix(0, ns).UTC().Format("15:04:05.000000") }
