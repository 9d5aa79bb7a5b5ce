package corpus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Shared returns the shared folder, skipping the test when it is missing
// outside CI and failing it in CI.
func Shared(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("SYNFIN_SHARED"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			s := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(filepath.Join(s, "testdata", "corpus")); err == nil {
				return s
			}
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("shared test corpus not found beside the repository (set SYNFIN_SHARED)")
	}
	t.Skip("shared test corpus not found beside the repository (set SYNFIN_SHARED)")
	return ""
}

// Dir returns a folder of the corpus, e.g. Dir(t, "tcpdump").
func Dir(t testing.TB, sub ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Shared(t), "testdata", "corpus"}, sub...)...)
}

// Seed returns a file of the seed folder, e.g. Seed(t, "capture.txt").
func Seed(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(Shared(t), "seed", name)
}

// Captures lists the files of the tcpdump, zeek and other folders whose
// names end in one of exts (".pcap", ".pcapng", …), in walk order.
func Captures(t testing.TB, exts ...string) []string {
	t.Helper()
	var files []string
	for _, sub := range []string{"tcpdump", "zeek", "other"} {
		err := filepath.WalkDir(Dir(t, sub), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			for _, ext := range exts {
				if strings.HasSuffix(p, ext) {
					files = append(files, p)
					break
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) == 0 {
		t.Fatal("no captures in the corpus")
	}
	return files
}
