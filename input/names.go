package input

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"synfin/pcapfile"
)

// Expand turns the names of inputs into the files to read, in order: "-"
// (standard input) and files as named; a directory gives the pcap and
// pcapng files in it (by content, not name; not those whose names start
// with a dot, nor its subdirectories), sorted by name; a name that is not
// a file and holds *, ? or [ is a glob, expanded by Go (quote it from the
// shell), in the order of its matches. A file named twice, directly or
// through a directory, a glob or a link, is read once, and warn says so.
// A file that does not exist is left for Open to report.
func Expand(names []string, warn func(string)) ([]string, error) {
	var (
		files []string
		seen  = map[string]string{} // resolved path: name first given
		stdin bool
	)
	add := func(name string) {
		key := name
		if abs, err := filepath.Abs(name); err == nil {
			key = abs
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				key = real
			}
		}
		if first, ok := seen[key]; ok {
			switch {
			case warn == nil:
			case first == name:
				warn(fmt.Sprintf("input: %s named twice: read once", name))
			default:
				warn(fmt.Sprintf("input: %s is %s, named again: read once", name, first))
			}
			return
		}
		seen[key] = name
		files = append(files, name)
	}
	for _, name := range names {
		if name == "-" {
			if stdin {
				return nil, errors.New("input: standard input (-) named twice")
			}
			stdin = true
			files = append(files, name)
			continue
		}
		matches := []string{name}
		if _, err := os.Lstat(name); err != nil && strings.ContainsAny(name, "*?[") {
			m, err := filepath.Glob(name)
			if err != nil {
				return nil, fmt.Errorf("input: %s: %w", name, err)
			}
			// As a shell's, a glob matches a name that starts with a dot
			// only if it starts with one itself.
			dot := strings.HasPrefix(filepath.Base(name), ".")
			matches = matches[:0]
			for _, p := range m {
				if dot || !strings.HasPrefix(filepath.Base(p), ".") {
					matches = append(matches, p)
				}
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("input: no file matches %s", name)
			}
		}
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil || !st.IsDir() {
				add(m)
				continue
			}
			caps, err := captures(m)
			if err != nil {
				return nil, err
			}
			for _, c := range caps {
				add(c)
			}
		}
	}
	return files, nil
}

// captures lists the pcap and pcapng files of directory dir, sorted by
// name.
func captures(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("input: %w", unwrapPath(err))
	}
	var files []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if isCaptureFile(name) {
			files = append(files, name)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("input: %s: no pcap or pcapng file in the directory", dir)
	}
	return files, nil
}

// isCaptureFile reports whether the file named starts as a pcap or
// pcapng file does.
func isCaptureFile(name string) bool {
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [4]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return false
	}
	return pcapfile.Detect(head[:]) != pcapfile.FormatOther
}
