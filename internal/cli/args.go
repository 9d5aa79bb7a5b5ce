package cli

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// flagSet parses tcpdump-style arguments: short flags that combine and
// repeat ("-nS", "-tttt", "-vv"), short flags with a value ("-r FILE",
// "-c5"), long flags ("--lang zh", "--lang=zh"), and positional words
// (a filter expression), which may be interleaved with flags.
type flagSet struct {
	cmd    string
	usage  string
	out    io.Writer
	defs   []*flagDef
	args   []string
	after  []func()
	checks []func() error
}

type flagDef struct {
	short byte
	long  string
	count *int      // counting flag
	val   *string   // flag with a value
	list  *[]string // flag with a value, repeatable
	seen  bool
}

// help holds each command's --help, one text file per command: the one
// source of the manual page, the completion scripts and the examples
// the tests run.
//
//go:embed help/*.txt
var help embed.FS

// usage is the help of the command cmd.
func usage(cmd string) string {
	b, err := help.ReadFile("help/" + cmd + ".txt")
	if err != nil {
		panic("cli: no help for " + cmd) // every command has a file; the tests run each --help
	}
	return string(b)
}

func newFlags(cmd string, out io.Writer) *flagSet {
	return &flagSet{cmd: cmd, usage: usage(cmd), out: out}
}

// Count defines a flag counted each time it appears.
func (f *flagSet) Count(short byte, long string, p *int) {
	f.defs = append(f.defs, &flagDef{short: short, long: long, count: p})
}

// Bool defines a flag that is set when present.
func (f *flagSet) Bool(short byte, long string, p *bool) {
	var n int
	d := &flagDef{short: short, long: long, count: &n}
	f.defs = append(f.defs, d)
	f.after = append(f.after, func() { *p = *p || n > 0 })
}

// String defines a flag with a value.
func (f *flagSet) String(short byte, long string, p *string) {
	f.defs = append(f.defs, &flagDef{short: short, long: long, val: p})
}

// Strings defines a flag with a value that may be given more than once.
func (f *flagSet) Strings(short byte, long string, p *[]string) {
	f.defs = append(f.defs, &flagDef{short: short, long: long, list: p})
}

// set gives d its value.
func (d *flagDef) set(val string) {
	d.seen = true
	if d.list != nil {
		*d.list = append(*d.list, val)
	} else {
		*d.val = val
	}
}

// Int defines a flag with an integer value.
func (f *flagSet) Int(short byte, long string, p *int) {
	parsed(f, short, long, p, "a whole number", strconv.Atoi)
}

// Duration defines a flag with a duration, positive or (zero too) not
// negative.
func (f *flagSet) Duration(short byte, long string, p *time.Duration, positive bool) {
	parsed(f, short, long, p, "a duration such as 2s or 1m", func(s string) (time.Duration, error) {
		d, err := time.ParseDuration(s)
		if d < 0 || positive && d == 0 {
			err = errors.New("out of range")
		}
		return d, err
	})
}

// parsed defines a flag whose value parse reads; what says what it takes.
func parsed[T any](f *flagSet, short byte, long string, p *T, what string, parse func(string) (T, error)) {
	s := new(string)
	d := &flagDef{short: short, long: long, val: s}
	f.defs = append(f.defs, d)
	f.checks = append(f.checks, func() (err error) {
		if d.seen {
			if *p, err = parse(*s); err != nil {
				return usagef("%s takes %s, not %q", d.name(), what, *s)
			}
		}
		return nil
	})
}

func (d *flagDef) name() string {
	if d.long != "" {
		return "--" + d.long
	}
	return "-" + string(d.short)
}

// Args returns the positional arguments.
func (f *flagSet) Args() []string { return f.args }

// Seen reports whether the flag with that long (or short) name was given.
func (f *flagSet) Seen(name string) bool {
	for _, d := range f.defs {
		if d.long == name || (len(name) == 1 && d.short == name[0]) {
			return d.seen
		}
	}
	return false
}

// Parse parses args. It prints the usage and returns errHelp for -h/--help.
func (f *flagSet) Parse(args []string) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			f.args = append(f.args, args[i+1:]...)
			i = len(args)
		case a == "-h" || a == "--help" || a == "-help":
			fmt.Fprint(f.out, f.usage)
			return errHelp
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			d := f.long(name)
			if d == nil {
				return usagef("unknown flag --%s", name)
			}
			if d.count != nil {
				if hasVal {
					return usagef("--%s takes no value", name)
				}
				d.seen = true
				*d.count++
				continue
			}
			if !hasVal {
				if i+1 >= len(args) {
					return usagef("--%s needs a value", name)
				}
				i++
				val = args[i]
			}
			d.set(val)
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				d := f.short(a[j])
				if d == nil {
					return usagef("unknown flag -%c", a[j])
				}
				if d.count != nil {
					d.seen = true
					*d.count++
					continue
				}
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return usagef("-%c needs a value", a[j])
					}
					i++
					val = args[i]
				}
				d.set(val)
				break
			}
		default:
			f.args = append(f.args, a)
		}
	}
	for _, fn := range f.after {
		fn()
	}
	for _, c := range f.checks {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

func (f *flagSet) long(name string) *flagDef {
	for _, d := range f.defs {
		if d.long == name {
			return d
		}
	}
	return nil
}

func (f *flagSet) short(c byte) *flagDef {
	for _, d := range f.defs {
		if d.short == c && c != 0 {
			return d
		}
	}
	return nil
}
