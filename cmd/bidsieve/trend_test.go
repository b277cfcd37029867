package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bidsieve/bidsieve/admin"
	"github.com/bidsieve/bidsieve/stats"
)

type oneDSPFigures struct{}

func (oneDSPFigures) Figures() map[string]stats.Figures {
	return map[string]stats.Figures{"alpha": {Offered: 100, Filtered: 40, Sent: 60, BidsSent: 30, ExplorationRate: 0.02}}
}

// TestServeRecordsTheTrend: with admin_trend_every set, the control plane writes
// trend.jsonl beside model.path, stamped with the gateway's clock, and serves it at
// /admin/api/trend; a restart reads the points back.
func TestServeRecordsTheTrend(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	cfg := adminTestConfig(t, dir)
	cfg.Model.Path = filepath.Join(dir, "models", "current.bsm")
	cfg.AdminTrendEvery = 10 * time.Millisecond
	if err := os.MkdirAll(filepath.Dir(cfg.Model.Path), 0o755); err != nil {
		t.Fatal(err)
	}
	sim := time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC)
	ar, err := openAdmin(t.Context(), cfg, adminOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gw := &applied{}
	if err := ar.Start(t.Context(), adminDeps{Apply: gw.apply, Figures: oneDSPFigures{}, Now: func() time.Time { return sim }}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "models", admin.TrendFile)
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		if strings.Count(string(data), "\n") >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trend.jsonl has %q after 5 s at one point per 10 ms", data)
		}
		time.Sleep(10 * time.Millisecond)
	}
	status, body := adminDo(t, "GET", ar.Addr(), "/admin/api/trend", testAdminToken, "")
	var resp struct{ Points []admin.TrendPoint }
	if err := json.Unmarshal([]byte(body), &resp); status != 200 || err != nil || len(resp.Points) < 2 {
		t.Fatalf("GET /admin/api/trend: %d %s", status, body)
	}
	p := resp.Points[0]
	if !p.At.Equal(sim) || p.DSPs["alpha"].Withheld != 0.4 {
		t.Errorf("point %+v, want the simulated time %s and alpha withholding 40%%", p, sim)
	}
	if err := ar.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	again, err := admin.OpenTrend(path, nil)
	if err != nil || len(again.Last(time.Hour)) < 2 {
		t.Fatalf("after a restart: %v, %d points", err, len(again.Last(time.Hour)))
	}
}
