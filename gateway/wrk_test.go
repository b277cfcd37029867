package gateway

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"
)

// TestWrkLoopback measures requests/s with wrk against a gateway and 8 instant fake DSPs
// (one bids) on loopback. It runs only with BIDSIEVE_WRK=1 and wrk installed (make bench
// sets it); BIDSIEVE_WRK_DURATION and BIDSIEVE_WRK_CONNECTIONS tune it.
func TestWrkLoopback(t *testing.T) {
	if os.Getenv("BIDSIEVE_WRK") != "1" {
		t.Skip("set BIDSIEVE_WRK=1 to run the wrk load test (make bench does)")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed (apt-get install wrk)")
	}
	duration := envOr("BIDSIEVE_WRK_DURATION", "10s")
	conns := envOr("BIDSIEVE_WRK_CONNECTIONS", "64")

	cfg := config.Defaults()
	cfg.AdminListen = ""
	addLoopbackDSPs(t, cfg)
	cfg.Overload.MaxWait = 0 // the fake DSPs and the clients share the process: their scheduler waits are not the gateway's load
	tg := newTestGateway(t, cfg)

	script := filepath.Join(t.TempDir(), "post.lua")
	lua := fmt.Sprintf("wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = %s\n", strconv.Quote(benchRequest))
	if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, wrk, "-t2", "-c"+conns, "-d"+duration, "--latency", "-s", script,
		tg.srv.URL+"/openrtb2/auction").CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	t.Logf("wrk -t2 -c%s -d%s (gateway, 8 fake DSPs and wrk on the same machine):\n%s", conns, duration, out)
	if strings.Contains(string(out), "Non-2xx") {
		t.Errorf("some answers were not 2xx")
	}
	sold, unsold := tg.metric(t, "bidsieve_auctions_total", "result", "bid"), tg.metric(t, "bidsieve_auctions_total", "result", "nobid")
	t.Logf("auctions: %d sold (200), %d unsold (204); DSP calls: %d, timeouts %d, skipped by an open breaker %d",
		sold, unsold, tg.metric(t, "bidsieve_dsp_requests_total"), tg.metric(t, "bidsieve_dsp_timeouts_total"),
		tg.metric(t, "bidsieve_dsp_decisions_total", "decision", "breaker_open"))
	if sold == 0 {
		t.Error("no auction sold")
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
