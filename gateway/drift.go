package gateway

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/stats"
)

// The drift guard (shaping.on_drift, shaping.drift_after). A model sets each DSP's
// threshold for its recall target on the days it was trained on; when the DSP changes what
// it buys, its recall falls under the target while the model keeps filtering. The evidence
// is in the bids the gateway receives from a filtered DSP: a bid on a request sent on its
// score says nothing was missed, a bid on an explored request (sent by the exploration
// draw although below the threshold) stands for 1/propensity bids the filter withheld.
//
// The test is a Bernoulli CUSUM (Page's cumulative sum) over those bids, under the model
// in force. Of all the DSP's bids, a share m falls below the threshold; the share of the
// received bids that were explored is then q(m) = m·e / (m·e + 1 - m) at exploration rate
// e. In control m = m0 = 1 - target (recall exactly at the target); the design shift is
// m1 = 1.5·m0 (at target 0.95, recall 0.925). Each received bid adds its log-likelihood
// ratio log(q(m1)/q(m0)) when explored, log((1-q(m1))/(1-q(m0))) otherwise, and the sum
// is floored at 0. The DSP has drifted when the sum reaches h and stays there for
// drift_after. h is set, at every check, for one false alarm per driftFalseAlarmDays days
// at the DSP's current bid rate with its recall exactly at the target (Siegmund's
// approximation of the in-control run length, (e^h - h - 1) / KL(q0 || q1), which
// understates it, so the real rate is lower); a DSP above its target alarms far less
// often. A windowed interval re-tested every few seconds, which this replaces, raised
// about one false alarm a day over six DSPs and missed a recall drop of 2.6 points.
//
// When it fires:
//
//   - always: bidsieve_dsp_drift{dsp} is 1, a warning is logged with the figures, the
//     admin page marks the DSP, and drift.json beside model.path lists the drifted DSPs
//     for the next `bidsieve retrain`, which then trains a fresh challenger;
//   - with on_drift shadow, the DSP is also sent everything (decision shadow, so the bid
//     log still records what the filter would have done) until another model is in force.
//
// A new model clears it and restarts the sum: the drift belongs to the model it was seen
// under. The sum is updated as the bids are recorded (after the answer); the check runs
// every driftEvery on an arriving auction (one at a time), so it needs no goroutine.

// driftFalseAlarmDays sets the CUSUM's threshold: one false alarm per this many days at a
// recall exactly at the target.
const driftFalseAlarmDays = 30

// driftShift is the design shift of the CUSUM: the miss share it is tuned to detect, as a
// multiple of the share the target allows.
const driftShift = 1.5

// driftMinH is the lowest CUSUM threshold, for a DSP with few bids a day: a handful of
// explored bids in a row must not be enough.
const driftMinH = 3.0

// driftEvery is how often the live recall is checked against the targets.
const driftEvery = 10 * time.Second

// drift is one DSP's watch; it outlives reloads with the DSP's runtime.
type drift struct {
	mu    sync.Mutex
	model string  // the model version the evidence below was gathered under
	cusum float64 // the CUSUM statistic under model
	llr   llrCache
	// aboveSince is since when the sum has stood at or over its threshold; zero: it has not.
	aboveSince time.Time
	since      time.Time // when the DSP drifted; zero: it has not
	// drifted is the model version the DSP drifted under, read on the hot path; nil or
	// another version: not drifted under the model in force.
	drifted atomic.Pointer[string]
}

// llrCache holds the CUSUM's increments for one exploration rate and target.
type llrCache struct {
	rate, target float64
	explored     float64 // log(q1/q0): added for an explored bid
	sent         float64 // log((1-q1)/(1-q0)): added for a bid sent on its score
	kl0          float64 // KL(q0 || q1), the in-control drift of the sum per bid
}

// driftQ is the share of received bids that were explored when a share m of all bids
// falls below the threshold, at exploration rate e.
func driftQ(m, e float64) float64 { return m * e / (m*e + 1 - m) }

func (c *llrCache) set(rate, target float64) {
	if c.rate == rate && c.target == target {
		return
	}
	m0 := 1 - target
	m1 := math.Min(driftShift*m0, 1-1e-9)
	q0, q1 := driftQ(m0, rate), driftQ(m1, rate)
	*c = llrCache{rate: rate, target: target,
		explored: math.Log(q1 / q0), sent: math.Log((1 - q1) / (1 - q0)),
		kl0: q0*math.Log(q0/q1) + (1-q0)*math.Log((1-q0)/(1-q1))}
}

// driftH is the CUSUM threshold for one false alarm in arl bids in control: the h that
// solves (e^h - h - 1) / kl0 = arl, at least driftMinH.
func driftH(arl, kl0 float64) float64 {
	a := arl * kl0
	h := driftMinH
	for range 8 { // h = log(a + h + 1) converges in a few steps for a >= e^3
		h = math.Max(driftMinH, math.Log(a+h+1))
	}
	return h
}

// under starts the evidence afresh when version is not the model it was gathered under;
// the caller holds mu.
func (d *drift) under(version string) {
	if d.model != version {
		d.model, d.cusum, d.aboveSince = version, 0, time.Time{}
	}
}

// bid adds n bids received under model version on a request the filter judged: explored
// (sent by the draw, below the threshold) or sent on its score, at exploration rate and
// recall target. Without exploration the bids say nothing about what was withheld.
func (d *drift) bid(version string, explored bool, n int64, rate, target float64) {
	if n <= 0 || !(rate > 0 && rate < 1) || !(target > 0 && target < 1) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.under(version)
	d.llr.set(rate, target)
	if explored {
		d.cusum += float64(n) * d.llr.explored
	} else {
		d.cusum = math.Max(0, d.cusum+float64(n)*d.llr.sent)
	}
}

// evidence is the CUSUM statistic under version over its threshold h for bidsPerDay
// received bids a day (0 under another version or before any bid).
func (d *drift) evidence(version string, bidsPerDay float64) (score, h float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.model != version || d.llr.kl0 <= 0 {
		return 0, driftMinH
	}
	h = driftH(bidsPerDay*driftFalseAlarmDays, d.llr.kl0)
	return d.cusum / h, h
}

// bidsPerDay is the DSP's rate of received bids a day over the live figures' window, 0
// while the window spans less than a minute.
func bidsPerDay(f *stats.Figures) float64 {
	if f.Window < time.Minute {
		return 0
	}
	return float64(f.Bids) * float64(24*time.Hour) / float64(f.Window)
}

// active reports whether the DSP has drifted under the model version in force.
func (d *drift) active(version string) bool {
	v := d.drifted.Load()
	return v != nil && *v == version
}

// observe records one check at now: above is whether the CUSUM stood at or over its
// threshold, version the model in force. It reports whether the DSP drifted at this check.
func (d *drift) observe(now time.Time, above bool, after time.Duration, version string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.under(version)
	if !above {
		d.aboveSince = time.Time{}
		return false
	}
	if d.aboveSince.IsZero() {
		d.aboveSince = now
	}
	if d.active(version) || now.Sub(d.aboveSince) < after {
		return false
	}
	d.since = now
	v := version
	d.drifted.Store(&v)
	return true
}

// driftCheck is the gateway's schedule of checks.
type driftCheck struct {
	mu   sync.Mutex
	next atomic.Int64 // unix nanos of the next check
}

// checkDrift checks every DSP of st when driftEvery has passed (one caller at a time; the
// others go on), at now on the gateway's clock (Options.Now), the clock the live figures'
// windows and drift_after are measured on: under `serve --clock` a simulated day of
// drift passes in simulated time.
func (g *Gateway) checkDrift(now time.Time, st *state) {
	after := st.cfg.Shaping.DriftAfter
	t := now.UnixNano()
	if after <= 0 || st.model == nil || t < g.drift.next.Load() || !g.drift.mu.TryLock() {
		return
	}
	defer g.drift.mu.Unlock()
	if t < g.drift.next.Load() {
		return
	}
	g.drift.next.Store(now.Add(driftEvery).UnixNano())
	var fresh bool
	for _, d := range st.dsps {
		if d.shaping.Mode != config.ModeFilter || !d.known || d.source == modelfile.ThresholdNone {
			d.rt.drift.observe(now, false, after, st.version)
			continue
		}
		f := d.figures(now)
		perDay := bidsPerDay(&f)
		score, h := d.rt.drift.evidence(st.version, perDay)
		if !d.rt.drift.observe(now, perDay > 0 && score >= 1, after, st.version) {
			continue
		}
		iv := f.Recall()
		if iv == nil {
			iv = &stats.Interval{}
		}
		fresh = true
		action := "alert"
		if st.cfg.Shaping.OnDrift == config.DriftShadow {
			action = "shadow: the DSP is sent everything until another model is in force"
		}
		g.log.Warn("drift: the DSP's recall has fallen below its target",
			"dsp", d.name, "model", st.version, "target", d.shaping.RecallTarget,
			"recall", iv.Estimate, "recall_lower", iv.Lower, "recall_upper", iv.Upper,
			"cusum", score*h, "cusum_threshold", h, "for", after.String(), "action", action)
		g.m.dspDrifts.Add(context.Background(), 1, d.m.dsp...)
	}
	if fresh {
		if err := writeDriftFile(st); err != nil {
			g.log.Error("drift: drift.json not written; the next retrain will not know", "err", err)
		}
	}
}

// shadowsOnDrift reports whether DSP d is sent everything in shadow mode because it has
// drifted under the model of st.
func (st *state) shadowsOnDrift(d *dspState) bool {
	return st.cfg.Shaping.OnDrift == config.DriftShadow && d.shaping.Mode == config.ModeFilter && d.rt.drift.active(st.version)
}

// DriftFile is the name of the file beside model.path that lists the drifted DSPs.
const DriftFile = "drift.json"

// DriftReport is drift.json: the DSPs that drifted under model Model, for `retrain`.
type DriftReport struct {
	Model string               `json:"model"`
	DSPs  map[string]DriftedAt `json:"dsps"`
}

// DriftedAt is one drifted DSP of a DriftReport.
type DriftedAt struct {
	Since  time.Time `json:"since"`
	Target float64   `json:"target"`
}

// writeDriftFile writes drift.json beside model.path (nothing without a model path), by a
// rename, so a reader never sees half a file.
func writeDriftFile(st *state) error {
	if st.cfg.Model.Path == "" {
		return nil
	}
	rep := DriftReport{Model: st.version, DSPs: map[string]DriftedAt{}}
	for _, d := range st.dsps {
		if d.rt.drift.active(st.version) {
			d.rt.drift.mu.Lock()
			rep.DSPs[d.name] = DriftedAt{Since: d.rt.drift.since.UTC(), Target: d.shaping.RecallTarget}
			d.rt.drift.mu.Unlock()
		}
	}
	out, err := json.MarshalIndent(&rep, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(filepath.Dir(st.cfg.Model.Path), DriftFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
