package capture

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"

	"synfin/internal/testenv"
)

// TestLoad offers the same UDP packet rate on a namespace's loopback to
// "synfin capture -w" and "tcpdump -w" running side by side and reports
// kernel drops and CPU time of each. It runs only with SYNFIN_LOADTEST=1;
// SYNFIN_LOADTEST_PPS (default 50000) and SYNFIN_LOADTEST_SECS (default
// 3) set the load.
func TestLoad(t *testing.T) {
	if os.Getenv("SYNFIN_LOADTEST") != "1" {
		t.Skip("set SYNFIN_LOADTEST=1 to run the load test")
	}
	pps := envInt("SYNFIN_LOADTEST_PPS", 50000)
	secs := envInt("SYNFIN_LOADTEST_SECS", 3)
	a, _ := netnsPair(t)
	ip := testenv.NeedTool(t, "ip")
	tcpdump := testenv.NeedTool(t, "tcpdump")
	dir := t.TempDir()
	synfin := filepath.Join(dir, "synfin")
	if out, err := exec.Command("go", "build", "-o", synfin, "synfin/cmd/synfin").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	expr := "udp port 9999"
	dur := fmt.Sprintf("%ds", 2*secs+3) // room for a sender slower than asked
	cmds := map[string]*exec.Cmd{
		"synfin":  exec.Command(ip, "netns", "exec", a, synfin, "capture", "-i", "lo", "--for", dur, "-w", filepath.Join(dir, "s.pcap"), expr),
		"tcpdump": exec.Command(ip, "netns", "exec", a, "timeout", "-s", "INT", dur, tcpdump, "-i", "lo", "-w", filepath.Join(dir, "t.pcap"), expr),
	}
	errs := map[string]*bytes.Buffer{}
	for name, c := range cmds {
		errs[name] = new(bytes.Buffer)
		c.Stderr = errs[name]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // both listening

	var conn net.Conn
	inNetns(t, a, func() (err error) { conn, err = net.Dial("udp", "127.0.0.1:9999"); return err })
	sink := func() (err error) {
		var pc net.PacketConn
		inNetns(t, a, func() error { pc, err = net.ListenPacket("udp", "127.0.0.1:9999"); return err })
		go func() {
			b := make([]byte, 2048)
			for {
				if _, _, err := pc.ReadFrom(b); err != nil {
					return
				}
			}
		}()
		t.Cleanup(func() { pc.Close() })
		return nil
	}
	sink()
	payload := make([]byte, 200)
	start := time.Now()
	sent := 0
	total := pps * secs
	for sent < total && time.Since(start) < 2*time.Duration(secs)*time.Second {
		due := min(int(time.Since(start).Seconds()*float64(pps)), total)
		for ; sent < due; sent++ {
			conn.Write(payload)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	conn.Close()

	re := regexp.MustCompile(`(\d+) packets? (captured|received by filter|dropped by kernel)`)
	for _, name := range []string{"synfin", "tcpdump"} {
		c := cmds[name]
		c.Wait()
		st := c.ProcessState
		got := map[string]string{}
		for _, m := range re.FindAllStringSubmatch(errs[name].String(), -1) {
			got[m[2]] = m[1]
		}
		if got["captured"] == "" {
			t.Errorf("%s printed no summary:\n%s", name, errs[name])
			continue
		}
		t.Logf("%-7s offered %d packets in %.1fs (%.0f/s): captured %s, received by filter %s, dropped by kernel %s; CPU user %v sys %v",
			name, sent, elapsed.Seconds(), float64(sent)/elapsed.Seconds(), got["captured"], got["received by filter"],
			got["dropped by kernel"], st.UserTime().Round(time.Millisecond), st.SystemTime().Round(time.Millisecond))
	}
	t.Logf("GOMAXPROCS %d, NumCPU %d", runtime.GOMAXPROCS(0), runtime.NumCPU())
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
