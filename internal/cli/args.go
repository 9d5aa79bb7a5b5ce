package cli

import (
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
	count *int    // counting flag
	val   *string // flag with a value
	seen  bool
	once  string // refuse a second one, saying this
}

func newFlags(cmd, usage string, out io.Writer) *flagSet {
	return &flagSet{cmd: cmd, usage: usage, out: out}
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

// Input defines -r (and --read, if long is not ""), the input to read.
// Only one is read: a second -r is refused rather than silently taking
// the place of the first.
func (f *flagSet) Input(long string, p *string) {
	f.defs = append(f.defs, &flagDef{short: 'r', long: long, val: p,
		once: "-r given twice: synfin reads one input at a time (merge captures first, e.g. with mergecap -w all.pcap a.pcap b.pcap)"})
}

// set gives d its value.
func (d *flagDef) set(val string) error {
	if d.once != "" && d.seen {
		return usagef("%s", d.once)
	}
	d.seen = true
	*d.val = val
	return nil
}

// Int defines a flag with an integer value.
func (f *flagSet) Int(short byte, long string, p *int) {
	s := new(string)
	d := &flagDef{short: short, long: long, val: s}
	f.defs = append(f.defs, d)
	f.checks = append(f.checks, func() error {
		if !d.seen {
			return nil
		}
		n, err := strconv.Atoi(*s)
		if err != nil {
			return usagef("%s takes a whole number, not %q", d.name(), *s)
		}
		*p = n
		return nil
	})
}

// Duration defines a flag with a duration that is not negative.
func (f *flagSet) Duration(short byte, long string, p *time.Duration) {
	s := new(string)
	d := &flagDef{short: short, long: long, val: s}
	f.defs = append(f.defs, d)
	f.checks = append(f.checks, func() (err error) {
		if d.seen {
			if *p, err = time.ParseDuration(*s); err != nil || *p < 0 {
				return usagef("%s takes a duration such as 2s or 1m, not %q", d.name(), *s)
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
			if err := d.set(val); err != nil {
				return err
			}
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
				if err := d.set(val); err != nil {
					return err
				}
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
