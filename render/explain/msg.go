package explain

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"synfin/tcpstate"
)

// Arg is one named argument of a message. A Value starting with '@' is a
// catalogue key, translated when the message is formatted. A number or a
// time is kept as one and written when the message is (String), so that
// making a message makes no strings of numbers.
type Arg struct {
	Name  string
	Value string // a text argument's value
	num   int64
	kind  argKind
}

// argKind is what an Arg holds.
type argKind uint8

const (
	argText  argKind = iota // Value
	argInt                  // num, in decimal
	argDur                  // num, a time.Duration written as Dur
	argClock                // num, a time stamp written as Clock
	argWord                 // Value, a word (Word), its entry's index in entries in num
)

// str is a text argument.
func str(name, v string) Arg { return Arg{Name: name, Value: v} }

// num is an integer argument, written as itoa writes it.
func num[T ~int | ~int8 | ~int64 | ~uint64 | ~uint32 | ~uint16 | ~uint8](name string, v T) Arg {
	return Arg{Name: name, num: int64(v), kind: argInt}
}

// dur is a duration argument, written as Dur writes it.
func dur(name string, d time.Duration) Arg { return Arg{Name: name, num: int64(d), kind: argDur} }

// clock is a time stamp argument, written as Clock writes it.
func clock(name string, ns int64) Arg { return Arg{Name: name, num: ns, kind: argClock} }

// wd is a word argument (see word).
func wd(name string, w word) Arg { return Arg{Name: name, Value: w.v, num: int64(w.i), kind: argWord} }

// String is the argument's value as text.
func (a Arg) String() string {
	if a.kind == argText || a.kind == argWord {
		return a.Value
	}
	var b [40]byte
	return string(a.appendNum(b[:0]))
}

// appendNum appends the value of an argument that is not text.
func (a *Arg) appendNum(b []byte) []byte {
	switch a.kind {
	case argDur:
		return AppendDur(b, time.Duration(a.num))
	case argClock:
		return appendClock(b, a.num)
	}
	return strconv.AppendInt(b, a.num, 10)
}

// Msg is a message in no particular language: a catalogue key and its
// arguments.
type Msg struct {
	Key  string
	Args []Arg
	t    *[2]template // Key's entry, when found already: printing need not look it up
}

// msg is the message of key with no arguments, its entry found now (for
// messages made once and printed many times).
func msg(key string) Msg { return Msg{Key: key, t: compiled[key]} }

// M makes a message from a key and name, value pairs.
func M(key string, kv ...string) Msg {
	m := Msg{Key: key}
	if len(kv) > 1 {
		m.Args = make([]Arg, 0, len(kv)/2)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Args = append(m.Args, str(kv[i], kv[i+1]))
	}
	return m
}

// Word is an argument value that is translated: the catalogue key of a
// word such as "w.client".
func Word(key string) string {
	if w, ok := words[key]; ok {
		return w
	}
	return "@" + key
}

// words holds Word of every catalogue key, made once rather than at
// every message.
var words = func() map[string]string {
	m := make(map[string]string, len(catalogue))
	for k := range catalogue {
		m[k] = "@" + k
	}
	return m
}()

// word is an argument value that is translated, as Word is, with its
// catalogue entry found once: its index in entries.
type word struct {
	v string
	i int32
}

// entries lists the catalogue's entries, in no order, for words to index.
var entries, entryIndex = func() (l []*[2]template, m map[string]int32) {
	m = make(map[string]int32, len(compiled))
	for k, t := range compiled {
		m[k] = int32(len(l))
		l = append(l, t)
	}
	return l, m
}()

// wordOf is the word of catalogue key, found now.
func wordOf(key string) word { return word{Word(key), entryIndex[key]} }

// anomalyWords holds AnomalyWord of every anomaly.
var anomalyWords = func() (w [tcpstate.NumAnomalies]string) {
	for a := range w {
		w[a] = Word("ann." + tcpstate.Anomaly(a).String())
	}
	return w
}()

// AnomalyWord is an argument value naming anomaly a: tcpstate's name in
// English, translated in other languages.
func AnomalyWord(a tcpstate.Anomaly) string {
	if a < tcpstate.NumAnomalies {
		return anomalyWords[a]
	}
	return Word("ann." + a.String())
}

// PatternWord is an argument value naming teardown pattern p: tcpstate's
// name in English, translated in other languages.
func PatternWord(p tcpstate.Pattern) string { return Word("pn." + p.String()) }

// sideWords are sideWord's values.
var sideWords = [...]word{wordOf("w.client"), wordOf("w.server"), wordOf("w.both")}

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
			return a.String(), true
		}
	}
	return "", false
}

// Text formats the message in lang ("en" or "zh"). A key missing from the
// catalogue comes out as "[key]" so that it shows, and is caught by tests.
func (m Msg) Text(lang string) string { return string(m.AppendText(nil, lang)) }

// AppendText appends the message formatted in lang (see Text) to b.
func (m Msg) AppendText(b []byte, lang string) []byte {
	t := m.t
	if t == nil {
		t = compiled[m.Key]
	}
	if t == nil || t[langIndex(lang)].missing {
		b = append(b, '[')
		b = append(b, m.Key...)
		return append(b, ']')
	}
	return t[langIndex(lang)].appendFill(b, lang, m.Args)
}

// template is a catalogue entry in one language cut at its {name}
// placeholders once, rather than searched for them at every message.
type template struct {
	pieces  []piece
	tail    string // the text after the last placeholder
	missing bool   // the language has no text for the key
}

// piece is the literal text before a placeholder, and its name.
type piece struct{ lit, name string }

// compiled holds every catalogue entry as a template, by language.
var compiled = func() map[string]*[2]template {
	m := make(map[string]*[2]template, len(catalogue))
	for k, e := range catalogue {
		m[k] = &[2]template{compile(e.en), compile(e.zh)}
	}
	return m
}()

func langIndex(lang string) int {
	if lang == Chinese {
		return 1
	}
	return 0
}

// compile cuts tmpl at its placeholders: "{" up to the next "}"; a "{"
// with no "}" after it is text.
func compile(tmpl string) template {
	t := template{missing: tmpl == ""}
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			break
		}
		t.pieces = append(t.pieces, piece{tmpl[:i], tmpl[i+1 : i+j]})
		tmpl = tmpl[i+j+1:]
	}
	t.tail = tmpl
	return t
}

// appendFill appends t to b with its placeholders filled from args: a
// name no argument has stays as "{name}". The HTML report's script does
// the same with the same catalogue.
func (t *template) appendFill(b []byte, lang string, args []Arg) []byte {
	for _, p := range t.pieces {
		b = append(b, p.lit...)
		var arg *Arg
		for i := range args {
			if args[i].Name == p.name {
				arg = &args[i]
				break
			}
		}
		if arg != nil && arg.kind == argWord {
			b = Msg{Key: arg.Value[1:], t: entries[arg.num]}.AppendText(b, lang)
			continue
		}
		if arg != nil && arg.kind != argText {
			b = arg.appendNum(b)
			continue
		}
		v, found := "", arg != nil
		if found {
			v = arg.Value
		}
		switch {
		case !found:
			b = append(b, '{')
			b = append(b, p.name...)
			b = append(b, '}')
		case strings.HasPrefix(v, "@@"):
			b = appendList(b, v[2:], lang)
		case strings.HasPrefix(v, "@"):
			b = Msg{Key: v[1:]}.AppendText(b, lang)
		default:
			b = append(b, v...)
		}
	}
	return append(b, t.tail...)
}

// listSep joins the items of a list.
var listSep = msg("w.list")

// appendList appends the messages listArg packed into v, joined with the
// language's separator.
func appendList(b []byte, v, lang string) []byte {
	sep := listSep.phrase(lang)
	var argv [8]Arg
	var last Msg // the previous item's key and entry: runs of a key ("w.v") are found once
	for i := 0; v != "" || i == 0; i++ {
		if i > 0 {
			b = append(b, sep...)
		}
		var part string
		part, v, _ = strings.Cut(v, "\x1f")
		key, rest, _ := strings.Cut(part, "\x1e")
		args := argv[:0]
		for rest != "" {
			var f string
			f, rest, _ = strings.Cut(rest, "\x1e")
			name, val, _ := strings.Cut(f, "=")
			args = append(args, str(name, val))
		}
		if key != last.Key {
			last = msg(key)
		}
		b = Msg{Key: key, Args: args, t: last.t}.AppendText(b, lang)
	}
	return b
}

func itoa[T ~int | ~int8 | ~int64 | ~uint64 | ~uint32 | ~uint16 | ~uint8](v T) string {
	return strconv.FormatInt(int64(v), 10)
}

// Dur formats a duration compactly and the same way in every language:
// "26 µs", "1.699 ms", "60 s".
func Dur(d time.Duration) string {
	var b [24]byte // one allocation, the string's
	return string(AppendDur(b[:0], d))
}

// AppendDur appends Dur(d) to b.
func AppendDur(b []byte, d time.Duration) []byte {
	if d < 0 {
		b, d = append(b, '-'), -d
	}
	switch {
	case d < time.Millisecond:
		return append(strconv.AppendInt(b, int64(d/time.Microsecond), 10), " µs"...)
	case d < time.Second:
		if d%1e3 != 5e2 {
			return append(appendFixed(b, int64(d), 1e3, 1e3), " ms"...)
		}
	case d < time.Minute:
		if d%1e6 != 5e5 {
			return append(appendFixed(b, int64(d), 1e6, 1e3), " s"...)
		}
	case d < 1<<45: // where the float's error is far below a nanosecond
		if d%1e8 != 5e7 {
			return append(appendFixed(b, int64(d), 1e8, 10), " s"...)
		}
	}
	// Exactly halfway between two values shown: rounded as the float
	// nearest to it is.
	switch {
	case d < time.Second:
		return append(appendTrimmed(b, float64(d)/1e6, 3), " ms"...)
	case d < time.Minute:
		return append(appendTrimmed(b, float64(d)/1e9, 3), " s"...)
	}
	return append(appendTrimmed(b, float64(d)/1e9, 1), " s"...)
}

// appendFixed appends n/(unit·scale) rounded to 1/scale, as
// appendTrimmed would write it, in integers: n is unit·scale times the
// value, and is not halfway between two multiples of unit.
func appendFixed(b []byte, n, unit, scale int64) []byte {
	v := n / unit
	if n%unit > unit/2 {
		v++
	}
	b = strconv.AppendInt(b, v/scale, 10)
	frac := v % scale
	if frac == 0 {
		return b
	}
	b = append(b, '.')
	for scale /= 10; frac != 0; scale /= 10 {
		b = append(b, byte('0'+frac/scale))
		frac %= scale
	}
	return b
}

// appendTrimmed appends f with prec decimals, less its trailing zeros.
func appendTrimmed(b []byte, f float64, prec int) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', prec, 64)
	if bytes.IndexByte(b[start:], '.') >= 0 {
		b = bytes.TrimRight(bytes.TrimRight(b, "0"), ".")
	}
	return b
}

// Phrase is the text of catalogue key in lang when it takes no
// arguments: M(key).Text(lang) without making the message or the string.
func Phrase(key, lang string) string { return msg(key).phrase(lang) }

// phrase is Phrase of m's key, m's entry found already.
func (m Msg) phrase(lang string) string {
	if m.t != nil {
		if t := &m.t[langIndex(lang)]; !t.missing && len(t.pieces) == 0 {
			return t.tail
		}
	}
	return Msg{Key: m.Key}.Text(lang)
}

// Clock formats a capture time stamp (Unix ns) in UTC with microseconds;
// the date is left out for captures without one (tcpdump text without -tttt
// reads as 1970-01-01).
func Clock(ns int64) string {
	var b [32]byte // one allocation, the string's
	return string(appendClock(b[:0], ns))
}

// appendClock appends Clock(ns) to b.
func appendClock(b []byte, ns int64) []byte {
	if ns >= 0 && ns < int64(24*time.Hour) {
		return appendTimeOfDay(b, ns)
	}
	y, m, d := time.Unix(0, ns).UTC().Date()
	if y < 1000 || y > 9999 {
		return appendTimeOfDay(time.Unix(0, ns).UTC().AppendFormat(b, "2006-01-02 "), ns)
	}
	// "2006-01-02 " without parsing the layout, as every header has two.
	b = append2(append2(b, int64(y/100)), int64(y%100))
	b = append2(append(b, '-'), int64(m))
	b = append2(append(b, '-'), int64(d))
	return appendTimeOfDay(append(b, ' '), ns)
}

// TimeOfDay formats a time stamp as hours to microseconds, UTC.
func TimeOfDay(ns int64) string {
	var b [24]byte
	return string(appendTimeOfDay(b[:0], ns))
}

// appendTimeOfDay appends TimeOfDay(ns): time.Time's "15:04:05.000000"
// (the fraction cut, not rounded) without going through a time.Time, as
// every segment of a timeline has one.
func appendTimeOfDay(b []byte, ns int64) []byte {
	if ns < 0 {
		return time.Unix(0, ns).UTC().AppendFormat(b, "15:04:05.000000")
	}
	us := ns / 1000 % (24 * 3600 * 1e6)
	s := us / 1e6
	b = append2(b, s/3600)
	b = append2(append(b, ':'), s/60%60)
	b = append2(append(b, ':'), s%60)
	b = append(b, '.')
	us %= 1e6
	return append2(append2(append2(b, us/10000), us/100%100), us%100)
}

// append2 appends v, below 100, in two digits.
func append2(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
