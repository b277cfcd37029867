package gateway

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
)

// TestDriftGuard: a DSP that bids on what the model filters (a model that no longer fits
// it) shows a live recall interval wholly below its target; after shaping.drift_after of
// that the guard fires: the gauge, drift.json beside model.path, the admin figures, and
// with on_drift shadow the DSP gets every request (decision shadow) until another model
// is in force. Alert alone changes no decision.
func TestDriftGuard(t *testing.T) {
	for _, action := range []string{config.DriftAlert, config.DriftShadow} {
		t.Run(action, func(t *testing.T) {
			a := newFakeDSP(t, bidOn(1, nil)) // bids on everything, the filtered too
			m := newFakeModel("m1", time.Now(), map[string]calibration{"a": {0.5, true}})
			dir := filepath.Join(t.TempDir(), "models")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			tg, sink := shapingGateway(t, m, func(cfg *config.Config) {
				cfg.Shaping.ExplorationRate = 0.5
				cfg.Shaping.OnDrift = action
				cfg.Shaping.DriftAfter = 5 * time.Minute
				cfg.Model.Path = filepath.Join(dir, "current.bsm")
			}, a)
			for i := range 60 {
				tg.post(t, scoredRequest(0.2, i)) // below a's 0.5: filtered or explored
			}
			g, st := tg.g, tg.g.state.Load()
			now := time.Now()
			// The live figures' window must span a minute; the interval must stay below the
			// target for drift_after: a check at +2 min starts the clock, one 5 min later fires.
			g.checkDrift(now.Add(2*time.Minute), st)
			if g.Figures()["a"].Drift || tg.metric(t, "bidsieve_dsp_drift", "dsp", "a") != 0 {
				t.Fatal("drifted before drift_after passed")
			}
			g.checkDrift(now.Add(7*time.Minute+driftEvery), st)
			if f := g.Figures()["a"]; !f.Drift {
				t.Fatalf("not drifted after drift_after below the target: recall %+v", f.Recall())
			}
			if tg.metric(t, "bidsieve_dsp_drift", "dsp", "a") != 1 || tg.metric(t, "bidsieve_dsp_drifts_total", "dsp", "a") != 1 {
				t.Error("the drift gauge or counter does not say so")
			}
			raw, err := os.ReadFile(filepath.Join(dir, DriftFile))
			var rep DriftReport
			if err != nil || json.Unmarshal(raw, &rep) != nil || rep.Model != "m1" || rep.DSPs["a"].Target != 0.95 {
				t.Errorf("drift.json %s (%v): want model m1 and a at target 0.95", raw, err)
			}

			for i := range 20 {
				tg.post(t, scoredRequest(0.2, 100+i))
			}
			decisions := map[string]int{}
			for _, r := range rowsOf(t, sink, 100, 20) {
				decisions[r.Decision]++
			}
			switch action {
			case config.DriftShadow:
				if decisions["shadow"] != 20 {
					t.Errorf("after the drift, decisions %v; want a sent every request in shadow mode", decisions)
				}
			default:
				if decisions["shadow"] != 0 || decisions["filtered"] == 0 {
					t.Errorf("alert: decisions %v; want the filter to go on", decisions)
				}
			}

			// Another model in force clears the drift: it belongs to the model it was seen under.
			g.SetScorer(newFakeModel("m2", time.Now(), map[string]calibration{"a": {0.5, true}}))
			if g.Figures()["a"].Drift || tg.metric(t, "bidsieve_dsp_drift", "dsp", "a") != 0 {
				t.Error("still drifted under a new model")
			}
			for i := range 20 {
				tg.post(t, scoredRequest(0.2, 200+i))
			}
			for _, r := range rowsOf(t, sink, 200, 20) {
				if r.Decision == "shadow" {
					t.Fatal("a new model still sends the drifted DSP everything")
				}
			}
		})
	}
}

// rowsOf waits for the bid-log rows of scoredRequest(0.2, from) to (0.2, from+n-1) (a row
// is logged after the answer is delivered) and returns them.
func rowsOf(t *testing.T, sink *memSink, from, n int) []bidlog.Row {
	t.Helper()
	want := map[string]bool{}
	for i := range n {
		want[scoredRequest(0.2, from+i).ID] = true
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		var got []bidlog.Row
		for _, r := range sink.all() {
			if want[r.RequestID] {
				got = append(got, r)
			}
		}
		if len(got) == n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("%d bid-log rows of requests %d-%d, want %d", len(got), from, from+n-1, n)
			}
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDriftGuardHoldsOnGoodRecall: a DSP whose filtered requests hold no bids keeps its
// recall and never drifts, however long it is watched.
func TestDriftGuardHoldsOnGoodRecall(t *testing.T) {
	a := newFakeDSP(t, bidOn(1, nil))
	m := newFakeModel("m1", time.Now(), map[string]calibration{"a": {0.5, true}})
	tg, _ := shapingGateway(t, m, func(cfg *config.Config) {
		cfg.Shaping.ExplorationRate = 0.5
		cfg.Shaping.DriftAfter = time.Minute
	}, a)
	for i := range 60 {
		tg.post(t, scoredRequest(0.9, i)) // above the threshold: sent, every bid kept
	}
	g, st := tg.g, tg.g.state.Load()
	now := time.Now()
	for k := 2; k < 15; k++ {
		g.checkDrift(now.Add(time.Duration(k)*time.Minute), st)
	}
	if g.Figures()["a"].Drift {
		t.Error("drifted with every bid kept")
	}
}

// TestDriftGuardFollowsTheGatewayClock: under a simulated clock (Options.Now, as `serve
// --clock` gives it) the live figures' window, drift_after and the bid log's timestamps
// are simulated time: a DSP whose recall has lain below target for drift_after of
// simulated time drifts through ordinary auctions, though far less real time has passed.
func TestDriftGuardFollowsTheGatewayClock(t *testing.T) {
	var simNow atomic.Int64
	start := time.Date(2024, 3, 4, 6, 0, 0, 0, time.UTC)
	simNow.Store(start.UnixNano())
	advance := func(d time.Duration) { simNow.Add(int64(d)) }
	clock := func() time.Time { return time.Unix(0, simNow.Load()).UTC() }

	a := newFakeDSP(t, bidOn(1, nil)) // bids on everything, the filtered too
	m := newFakeModel("m1", time.Now(), map[string]calibration{"a": {0.5, true}})
	tg, sink := shapingGatewayWith(t, m, func(cfg *config.Config) {
		cfg.Shaping.ExplorationRate = 0.5
		cfg.Shaping.OnDrift = config.DriftShadow
		cfg.Shaping.DriftAfter = time.Hour
	}, func(o *Options) { o.Now = clock }, a)
	for i := range 60 {
		tg.post(t, scoredRequest(0.2, i)) // filtered or explored: the live recall is low
	}
	for _, r := range rowsOf(t, sink, 0, 60) {
		if r.TS != start.UnixMilli() {
			t.Fatalf("bid-log row at %s, want the simulated %s", time.UnixMilli(r.TS).UTC(), start)
		}
	}
	if f := tg.g.Figures()["a"]; f.Offered != 60 || f.Window != 0 {
		t.Fatalf("live figures %+v: want 60 offered in a window of no simulated time yet", f)
	}
	// Two simulated minutes on, the window spans them and the guard's clock starts; an hour
	// and a check period later it fires, on auctions alone.
	advance(2 * time.Minute)
	tg.post(t, scoredRequest(0.2, 60))
	if f := tg.g.Figures()["a"]; f.Window != 2*time.Minute || f.Drift {
		t.Fatalf("after 2 simulated minutes: window %s, drift %v; want 2m0s and no drift yet", f.Window, f.Drift)
	}
	// Auctions go on every 5 simulated minutes (the window keeps a low recall); the guard
	// fires once an hour of simulated time has passed since it started.
	id := 61
	for elapsed := 5 * time.Minute; ; elapsed += 5 * time.Minute {
		advance(5 * time.Minute)
		for range 5 {
			tg.post(t, scoredRequest(0.2, id))
			id++
		}
		f := tg.g.Figures()["a"]
		if elapsed < time.Hour && f.Drift {
			t.Fatalf("drifted %s of simulated time after the guard started, before drift_after (1h)", elapsed)
		}
		if elapsed >= time.Hour+driftEvery {
			if !f.Drift {
				t.Fatalf("no drift %s of simulated time below target (recall %+v)", elapsed, f.Recall())
			}
			break
		}
	}
	tg.post(t, scoredRequest(0.2, id))
	if r := rowsOf(t, sink, id, 1)[0]; r.Decision != "shadow" {
		t.Errorf("after the drift under on_drift shadow: decision %q, want shadow", r.Decision)
	}
	// A FiguresWindow of simulated time later, the old auctions have left the window.
	advance(FiguresWindow + figSlot)
	if f := tg.g.Figures()["a"]; f.Offered != 0 {
		t.Errorf("live figures a simulated FiguresWindow later: %d offered, want 0", f.Offered)
	}
}

// TestDriftCUSUMErrorRates: the guard's test on a stream of bids from a DSP with 20,000
// bids a day at target 0.95 and exploration 0.1 (a share m of its bids falls below the
// threshold; those are received only when explored). Fixed seed. At recall 0.96 (a model
// a little above its target, as thresholds set on a lower bound leave it) 60 days raise no
// alarm; exactly at the target, at most a few in 60 days (the threshold is set for one in
// 30, by an approximation that overstates the rate); at recall 0.924 (the drop the
// interval test it replaced never caught) every one of 40 changes is caught within a day
// of bids.
func TestDriftCUSUMErrorRates(t *testing.T) {
	const (
		perDay = 20000
		rate   = 0.1
		target = 0.95
	)
	rng := rand.New(rand.NewPCG(7, 11))
	// run feeds received bids at recall r until an alarm or limit received bids, and says
	// how many it took (limit: none).
	run := func(d *drift, version string, r float64, limit int) int {
		for n := 0; n < limit; {
			if rng.Float64() < 1-r { // below the threshold: received only when explored
				if rng.Float64() >= rate {
					continue
				}
				d.bid(version, true, 1, rate, target)
			} else {
				d.bid(version, false, 1, rate, target)
			}
			n++
			if score, _ := d.evidence(version, perDay); score >= 1 {
				return n
			}
		}
		return limit
	}
	alarms := func(r float64, days int) int {
		d, k, left := &drift{}, 0, days*perDay
		for left > 0 {
			n := run(d, fmt.Sprint("m", k), r, left)
			left -= n
			if left > 0 {
				k++ // an alarm: a new model starts the sum again
			}
		}
		return k
	}
	if n := alarms(0.96, 60); n != 0 {
		t.Errorf("recall 0.96: %d false alarms in 60 days, want 0", n)
	}
	n := alarms(target, 60)
	if n > 6 {
		t.Errorf("recall at the target: %d false alarms in 60 days, want at most 6 (designed for 2)", n)
	}
	t.Logf("recall at the target: %d false alarms in 60 days", n)
	var worst int
	for k := range 40 {
		n := run(&drift{}, fmt.Sprint("c", k), 0.924, perDay)
		if n >= perDay {
			t.Fatalf("recall 0.924: change %d not caught within a day of bids", k)
		}
		worst = max(worst, n)
	}
	t.Logf("recall 0.924: caught within %d bids (a day: %d)", worst, perDay)
}
