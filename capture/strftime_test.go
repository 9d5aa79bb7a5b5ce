package capture

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"synfin/internal/testenv"
)

// TestStrftime holds strftime to GNU date's (C's strftime in the C
// locale), for every conversion, at times that cross a year, a week
// boundary and daylight saving time, in three zones.
func TestStrftime(t *testing.T) {
	date := testenv.NeedTool(t, "date")
	layouts := []string{
		"%a %A %b %B %h %C %d %D %e %F %g %G %H %I %j %k %l %m %M %p %P %r %R %s %S %T %u %U %V %w %W %x %X %y %Y %z %Z %%",
		"%c", "trace-%Y%m%d-%H%M%S.pcap", "x%n%ty", "100%", "%Q%E", "plain",
	}
	times := []int64{0, 1, 946684799, 946684800, 1104537600, 1230681600, 1262303999, 1711846799, 1711846800,
		1730000000, 1735603200, 1766000000, 4102444800}
	for _, zone := range []string{"UTC", "America/New_York", "Asia/Kolkata"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			testenv.Unavailable(t, "no time zone data: "+err.Error())
		}
		for _, layout := range layouts {
			for _, sec := range times {
				cmd := exec.Command(date, "-d", "@"+strconv.FormatInt(sec, 10), "+"+layout)
				cmd.Env = append(os.Environ(), "TZ="+zone, "LC_ALL=C")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("date %s: %v", layout, err)
				}
				want := strings.TrimSuffix(string(out), "\n")
				if got := strftime(layout, time.Unix(sec, 0).In(loc)); got != want {
					t.Errorf("TZ=%s strftime(%q, %d) = %q; date says %q", zone, layout, sec, got, want)
				}
			}
		}
	}
}
