package gateway

import (
	"encoding/json"
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
