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
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/modelhistory"
)

// swaps is step 4: one filtering gateway under SwapQPS auctions/s for SwapDuration while,
// every 3 s, its model file is replaced by the other of the two models (the file watcher
// reloads it), a reload goes through the admin API, and the model is rolled back through
// the admin API (POST /admin/api/model/rollback) to the version of the history not in
// force. Every scheduled auction must be answered, none fail or time out, and every
// rollback must be in force when its answer comes.
func (r *fullRun) swaps(ctx context.Context) error {
	r.section(fmt.Sprintf("\n== 4. model swaps under load: %g auctions/s for %v; every 3 s the model file replaced, an admin reload and an admin rollback", r.SwapQPS, r.SwapDuration))
	if err := r.startSim(ctx); err != nil {
		return err
	}
	dir := filepath.Join(r.Data, "swap")
	gw, admin := r.addr(1), r.addr(2)
	serve, err := r.startServe(ctx, config.ModeFilter, dir, gw, admin) // a fresh dir
	if err != nil {
		return err
	}
	versions, err := recordSwapHistory(dir, r.model, r.model2)
	if err != nil {
		_ = serve.Stop()
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
	swaps, rollbacks, badRollbacks := 0, 0, 0
	for wait(ctx, load, time.Second) {
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
		if !wait(ctx, load, time.Second) {
			break
		}
		// Roll back to the model the file did not hold.
		want := versions[swaps%2]
		rollbacks++
		body, err := r.callWith(ctx, http.MethodPost, "http://"+admin+"/admin/api/model/rollback", adminToken, `{"version": "`+want+`"}`)
		var ans struct {
			Model *struct{ Version string } `json:"model"`
		}
		if err == nil {
			err = json.Unmarshal(body, &ans)
		}
		if err != nil || ans.Model == nil || ans.Model.Version != want {
			badRollbacks++
			_, _ = fmt.Fprintf(r.Out, "rollback to %s: not in force when answered (%v, %s)\n", want, err, body)
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
	_, _ = fmt.Fprintf(r.Out, "model files replaced: %d; rollbacks: %d (%d not in force on the answer); models loaded (start, watcher, admin reload, rollback): %d; failed reloads: %d\n",
		swaps, rollbacks, badRollbacks, strings.Count(string(log), `msg="model loaded"`), strings.Count(string(log), "reload failed"))
	if badRollbacks != 0 {
		r.failed = append(r.failed, "swaps: a rollback was not in force when answered")
	}
	if res.Failures+res.Timeouts+res.Dropped != 0 || res.Answered != res.Scheduled {
		_, _ = fmt.Fprintln(r.Out, "MISSED: auctions were lost during the swaps")
		r.failed = append(r.failed, "swaps: auctions were lost")
	}
	return nil
}

// recordSwapHistory records the two models in the history beside dir/current.bsm, as
// retrain would have, and returns their versions (first, second).
func recordSwapHistory(dir, first, second string) ([2]string, error) {
	var versions [2]string
	hist := modelhistory.Dir(filepath.Join(dir, "current.bsm"))
	for i, path := range []string{first, second} {
		f, err := modelfile.ReadFile(path)
		if err != nil {
			return versions, err
		}
		versions[i] = f.Meta.Version
		e := &modelhistory.Entry{Version: f.Meta.Version, At: f.Meta.CreatedAt, Status: modelhistory.StatusPromoted}
		if err := modelhistory.Record(hist, e, f); err != nil {
			return versions, err
		}
	}
	if versions[0] == versions[1] {
		return versions, fmt.Errorf("the two models of the swaps have one version, %s: a rollback could not tell them apart", versions[0])
	}
	return versions, nil
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
