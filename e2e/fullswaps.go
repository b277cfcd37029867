package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/loadtest"
)

// swaps is step 4: one filtering gateway under SwapQPS auctions/s for SwapDuration while
// its model file is replaced every 3 s by the other of the two models (the file watcher
// reloads it) with a reload through the admin API in between. Every scheduled auction
// must be answered, none fail or time out.
func (r *fullRun) swaps(ctx context.Context) error {
	r.section(fmt.Sprintf("\n== 4. model swaps under load: %g auctions/s for %v, the model replaced every 3 s", r.SwapQPS, r.SwapDuration))
	if err := r.startSim(ctx); err != nil {
		return err
	}
	dir := filepath.Join(r.Data, "swap")
	gw, admin := r.addr(1), r.addr(2)
	serve, err := r.startServe(ctx, config.ModeFilter, dir, gw, admin)
	if err != nil {
		return err
	}
	out := filepath.Join(dir, "load.json")
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	load, err := r.procs.Start(f, os.Stderr, r.loadArgs(r.SwapQPS, r.SwapDuration, 11, gw)...)
	if err != nil {
		_ = f.Close()
		return err
	}
	swaps := 0
	for wait(ctx, load, 2*time.Second) {
		src := r.model
		if swaps%2 == 0 {
			src = r.model2
		}
		if err := copyFile(filepath.Join(dir, "current.bsm"), src); err != nil {
			return err
		}
		swaps++
		if !wait(ctx, load, time.Second) {
			break
		}
		if _, err := r.call(ctx, http.MethodPost, "http://"+admin+"/admin/api/model/reload", adminToken); err != nil {
			_, _ = fmt.Fprintln(r.Out, "admin reload failed:", err)
		}
	}
	if ctx.Err() != nil {
		_ = load.Stop()
	}
	<-load.Done()
	if err := f.Close(); err != nil {
		return err
	}
	if err := load.Err(); err != nil {
		return fmt.Errorf("load test: %w", err)
	}
	if err := serve.Stop(); err != nil {
		return err
	}
	res, err := readReport(out)
	if err != nil {
		return err
	}
	log, err := os.ReadFile(filepath.Join(dir, "serve.log"))
	if err != nil {
		return err
	}
	if err := writeSwapSummary(r.Out, res); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(r.Out, "model files replaced: %d; models loaded (start, watcher and admin API): %d; failed reloads: %d\n",
		swaps, strings.Count(string(log), `msg="model loaded"`), strings.Count(string(log), "reload failed"))
	if res.Failures+res.Timeouts+res.Dropped != 0 || res.Answered != res.Scheduled {
		_, _ = fmt.Fprintln(r.Out, "MISSED: auctions were lost during the swaps")
		r.failed = append(r.failed, "swaps: auctions were lost")
	}
	return nil
}

// wait waits d, or less when p ends or ctx is done; it reports whether p is still running.
func wait(ctx context.Context, p *Proc, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.Done():
	case <-ctx.Done():
	}
	return false
}

// writeSwapSummary writes the load test's figures that step 4 is judged on, as one JSON
// line.
func writeSwapSummary(w io.Writer, res *loadtest.Result) error {
	line, err := json.Marshal(struct {
		Scheduled   int64            `json:"scheduled"`
		Sent        int64            `json:"sent"`
		Dropped     int64            `json:"dropped"`
		Answered    int64            `json:"answered"`
		Timeouts    int64            `json:"timeouts"`
		Failures    int64            `json:"failures"`
		Status      map[int]int64    `json:"status"`
		AchievedQPS float64          `json:"achieved_qps"`
		Latency     loadtest.Latency `json:"latency_ms"`
	}{res.Scheduled, res.Sent, res.Dropped, res.Answered, res.Timeouts, res.Failures, res.Status, res.AchievedQPS, res.Latency})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", line)
	return err
}
