package watch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"synfin/internal/testenv"
)

// TestPrometheus: a Prometheus server (Debian's) scrapes watch --metrics
// in a namespace, and a query through its HTTP API returns the
// CLOSE-WAIT gauge: the n sockets a child process holds.
func TestPrometheus(t *testing.T) {
	ns := newNS(t)
	prom := testenv.NeedTool(t, "prometheus")
	const n = 3
	populations(t, ns, n, 1)
	_, out, _ := helper(t, ns, "synfin", nil, "watch", "--json", "--interval", "1s", "--for", "60s", "--metrics", "127.0.0.1:9464")
	if _, err := out.ReadString('\n'); err != nil { // the first snapshot: metrics are served
		t.Fatal(err)
	}
	go io.Copy(io.Discard, out)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: synfin\n    static_configs:\n      - targets: ['127.0.0.1:9464']\n"), 0o644)
	cmd := exec.Command("ip", "netns", "exec", ns.Name, prom, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:9090", "--log.level=warn")
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
			err = ns.Do(func() (err error) { c, err = (&net.Dialer{}).DialContext(ctx, network, addr); return err })
			return c, err
		},
	}}
	q := "http://127.0.0.1:9090/api/v1/query?query=" + url.QueryEscape(`synfin_watch_sockets{state="CLOSE-WAIT"}`)
	var got string
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end) && got != strconv.Itoa(n); time.Sleep(500 * time.Millisecond) {
		got = query(client, q)
	}
	if got != strconv.Itoa(n) {
		log, _ := os.ReadFile(logf.Name())
		t.Fatalf("Prometheus answered %s for the CLOSE-WAIT gauge, want %d\n%s", got, n, log)
	}

	// The README's query for each finding is one Prometheus accepts, and
	// that is all it says.
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```promql\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no promql block")
	}
	for _, pq := range strings.Split(strings.TrimSpace(string(m[1])), "\n") {
		resp, err := client.Get("http://127.0.0.1:9090/api/v1/query?query=" + url.QueryEscape(pq))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("README's %q: %s", pq, body)
		}
	}
}

// query returns the value of an instant query's single sample, or what
// went wrong.
func query(c *http.Client, q string) string {
	resp, err := c.Get(q)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var v struct {
		Data struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return err.Error()
	}
	if len(v.Data.Result) != 1 {
		return fmt.Sprintf("%d samples", len(v.Data.Result))
	}
	s, _ := v.Data.Result[0].Value[1].(string)
	return s
}
