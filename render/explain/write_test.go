package explain

import (
	"testing"
	"unicode"
)

// TestRuneWidthEveryRune checks RuneWidth's shortcut for the runes below
// U+0300 against the rule it stands for (nonspacing marks take no column,
// East Asian wide ranges two, the rest one), over every code point.
func TestRuneWidthEveryRune(t *testing.T) {
	if unicode.Is(unicode.Mn, 0x2ff) || !unicode.Is(unicode.Mn, 0x300) {
		t.Fatal("the nonspacing marks no longer start at U+0300")
	}
	wide := func(r rune) bool {
		for _, w := range [][2]rune{{0x1100, 0x115F}, {0x2E80, 0x303E}, {0x3041, 0x33FF}, {0x3400, 0x4DBF},
			{0x4E00, 0x9FFF}, {0xA000, 0xA4CF}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF}, {0xFE30, 0xFE4F},
			{0xFF00, 0xFF60}, {0xFFE0, 0xFFE6}} {
			if r >= w[0] && r <= w[1] {
				return true
			}
		}
		return false
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		want := 1
		switch {
		case r == 0 || unicode.Is(unicode.Mn, r):
			want = 0
		case wide(r):
			want = 2
		}
		if got := RuneWidth(r); got != want {
			t.Fatalf("RuneWidth(%U) = %d, want %d", r, got, want)
		}
	}
}

// TestPrefixWidths: the width each prefix carries is the columns it takes.
func TestPrefixWidths(t *testing.T) {
	for _, p := range []prefix{top, item, detail, bullet} {
		if w := Width(p.s); w != p.w {
			t.Errorf("prefix %q: width %d, takes %d columns", p.s, p.w, w)
		}
	}
}
