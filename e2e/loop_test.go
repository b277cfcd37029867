package e2e

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/simtest"
	"github.com/bidsieve/bidsieve/internal/filetest"
	"github.com/bidsieve/bidsieve/training"
)

// bigChange makes alpha buy most phone traffic in three countries outside North America
// from day 1: a change whose fall in true recall shows at test scale.
const bigChange = `dsps:
  - name: alpha
    latency_ms: {median: 35, p99: 120}
    qps_limit: 3000
    intent:
      intercept: -3.2
      country: {USA: 1.4, CAN: 0.9, "*": -1.5}
      format: {"300x250": 0.7, video: 1.3, native: -2.5}
      interactions:
        - {if: {country: IND, device_type: phone}, add: 5.0}
        - {if: {country: BRA, device_type: phone}, add: 5.0}
        - {if: {country: GBR, device_type: phone}, add: 5.0}
    price: {median_cpm: 1.10, sigma: 0.6}
`

// The loop at test scale (a small network, 3,000 requests a day, 3 days: alpha changes on
// day 2, golf joins on day 3): every retrain round runs on the gateway's own log with the
// day just served held out and what it promotes is in force the next day; the ground truth
// never counts fewer bids than the DSP made, and exactly its bids for a DSP sent
// everything (golf, which no model knows on its first day); after alpha's change its live
// recall falls below the target. (The drift guard needs more traffic than a test can send:
// TestDriftGuardFollowsTheGatewayClock tests it on a simulated clock, `make loop` in the loop.)
func TestLoopSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four small models and serves 9,000 auctions")
	}
	l := &Loop{
		Dir: t.TempDir(), Profiles: filetest.Read(t, simtest.ExamplePath()),
		Changes: []byte(bigChange), Added: filetest.Read(t, "testdata/loop/add.yaml"),
		Start: time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC), Days: 3, WarmDays: 3, PerDay: 3000,
		Phases: []int{2, 8, 14, 20}, Span: 30 * time.Minute, ChangeDay: 1, AddDay: 2, Seed: 1,
		RecallTarget: 0.9, ExplorationRate: 0.1, DriftAfter: 5 * time.Minute, WindowDays: 3,
		Train:       training.Options{MaxEpochs: 2, Net: training.NetConfig{Hidden: []int{16, 8}, BatchSize: 256, LearningRate: 3e-3}},
		MaxInFlight: 16,
	}
	var out strings.Builder
	l.Out = &out
	rep, err := l.Run(t.Context())
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Days) != 3 || len(rep.Retrains) != 3 {
		t.Fatalf("%d days and %d retrain rounds, want 3 and 3", len(rep.Days), len(rep.Retrains))
	}
	inForce := rep.Initial
	for i, day := range rep.Days {
		figs := rep.Figures[day]
		if logged := rep.Logged[i]; logged != int64(l.PerDay) {
			t.Errorf("%s: %d of %d auctions in the bid log", day, logged, l.PerDay)
		}
		for _, dn := range []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"} {
			f := figs[dn]
			if f == nil || f.Offered != rep.Logged[i] {
				t.Fatalf("%s %s: figures %+v, want the %d auctions logged offered", day, dn, f, rep.Logged[i])
			}
			if f.Model != inForce {
				t.Errorf("%s %s: model %s in force, want %s (the last promoted)", day, dn, f.Model, inForce)
			}
		}
		for dn, f := range figs {
			if f.Bids > f.WouldBid {
				t.Errorf("%s %s: %d bids received, more than the %d the ground truth says it would make", day, dn, f.Bids, f.WouldBid)
			}
		}
		r := rep.Retrains[i]
		if r.After != day || r.TrainRows == 0 {
			t.Errorf("retrain after %s: held out %s with %d training rows, want the day served held out", day, r.After, r.TrainRows)
		}
		if r.Promoted {
			inForce = r.Version
		}
	}
	golf := rep.Figures[rep.Days[2]]["golf"]
	switch {
	case golf == nil:
		t.Fatal("golf has no figures on the day it joined")
	case golf.Known || golf.Withheld != 0:
		t.Errorf("golf on its first day: known %v, withheld %.3f; want unknown and sent everything", golf.Known, golf.Withheld)
	case golf.WouldBid == 0 || golf.Bids != golf.WouldBid:
		t.Errorf("golf sent everything: %d bids, ground truth %d; want them equal (and some)", golf.Bids, golf.WouldBid)
	}
	if rep.Figures[rep.Days[0]]["golf"] != nil {
		t.Error("golf has figures before it joined")
	}
	// The change bites: the filter's own true recall falls below the target. What alpha
	// receives falls with it, unless the drift guard fired and shadow sent it everything
	// from then on (it may at this scale, or may not: the live interval is wide).
	before, after := rep.Figures[rep.Days[0]]["alpha"], rep.Figures[rep.Days[1]]["alpha"]
	if after.FilterTrue >= l.RecallTarget || after.FilterTrue >= before.FilterTrue-0.05 {
		t.Errorf("alpha's filter true recall %.3f after its change, %.3f the day before: want a fall below the target %.2f",
			after.FilterTrue, before.FilterTrue, l.RecallTarget)
	}
	switch {
	case after.Drift && (after.ShadowedByDrift == 0 || after.True <= after.TrueUntilDrift):
		t.Errorf("alpha drifted, yet %d requests shadowed and true recall %.3f against %.3f before the guard fired: want shadow to restore it",
			after.ShadowedByDrift, after.True, after.TrueUntilDrift)
	case !after.Drift && (after.True >= l.RecallTarget || after.True >= before.True-0.05):
		t.Errorf("alpha's true recall %.3f after its change without drift, %.3f the day before: want a fall below the target %.2f",
			after.True, before.True, l.RecallTarget)
	}
	for dn, f := range rep.Figures[rep.Days[0]] {
		// No exploration bids counted, no shadow: the filter's recall is at most what was received.
		if f.FilterTrue > f.True+1e-9 && f.Late == 0 {
			t.Errorf("%s: the filter's true recall %.3f above the delivered %.3f", dn, f.FilterTrue, f.True)
		}
	}
}

// overlay replaces DSPs by name in place and appends new ones; the result parses.
func TestOverlay(t *testing.T) {
	base := filetest.Read(t, simtest.ExamplePath())
	y, names, err := overlay(base, filetest.Read(t, "testdata/loop/change.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	y, added, err := overlay(y, filetest.Read(t, "testdata/loop/add.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := sim.Parse(y)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Names(), ","); got != "alpha,bravo,charlie,delta,echo,foxtrot,golf" {
		t.Errorf("DSPs %s, want the six in place and golf appended", got)
	}
	if strings.Join(names, ",") != "alpha,bravo" || strings.Join(added, ",") != "golf" {
		t.Errorf("names %v, %v", names, added)
	}
	orig, _ := sim.Parse(base)
	if reflect.DeepEqual(orig.DSP("alpha"), p.DSP("alpha")) || reflect.DeepEqual(orig.DSP("bravo"), p.DSP("bravo")) ||
		!reflect.DeepEqual(orig.DSP("charlie"), p.DSP("charlie")) {
		t.Error("want alpha and bravo changed by the overlay and charlie not")
	}
	if _, _, err := overlay(base, []byte("dsps:\n  - {latency_ms: {median: 1}}\n")); err == nil {
		t.Error("an entry without a name was accepted")
	}
}

// The loop's bar judges the day after the next retrain, not only the last day: a run
// whose withheld share comes back only with a later model misses it.
func TestLoopCheckNextRetrain(t *testing.T) {
	days := []string{"d0", "d1", "d2", "d3", "d4", "d5"}
	day := func(withheld float64, drift bool) *LoopDay {
		return &LoopDay{True: 0.96, FilterTrue: 0.96, Withheld: withheld, Drift: drift}
	}
	report := func(afterNext float64, promotedAfter int) *LoopReport {
		r := &LoopReport{Days: days, Changed: []string{"alpha"}, Target: 0.95, Figures: map[string]map[string]*LoopDay{}}
		for i, d := range days {
			r.Retrains = append(r.Retrains, LoopRetrain{After: d, Promoted: i == promotedAfter || i == 4})
			r.Figures[d] = map[string]*LoopDay{"alpha": day(0.45, false)}
		}
		r.Figures["d2"]["alpha"] = &LoopDay{True: 0.99, FilterTrue: 0.90, Withheld: 0.1, Drift: true} // the change
		r.Figures[days[promotedAfter+1]]["alpha"] = day(afterNext, false)
		return r
	}
	if miss := report(0.43, 3).Check(2, -1, 0.94, 0.05); len(miss) != 0 {
		t.Errorf("withheld back after the next retrain: misses %v", miss)
	}
	miss := report(0.30, 3).Check(2, -1, 0.94, 0.05)
	if len(miss) != 1 || !strings.Contains(miss[0], "after the next retrain") || !strings.Contains(miss[0], "d4") {
		t.Errorf("withheld 30%% against 45%% on d4, after the next retrain, back on the last day: misses %v, want that one", miss)
	}
	// A round after the change day itself (held out d2) trained on no changed day: the
	// next retrain is the first promoted after it.
	r := report(0.45, 3)
	r.Retrains[2].Promoted = true
	r.Figures["d3"]["alpha"] = day(0.2, false)
	if miss := r.Check(2, -1, 0.94, 0.05); len(miss) != 0 {
		t.Errorf("a model promoted on the change day's own hold-out judged as the next retrain: %v", miss)
	}
}
