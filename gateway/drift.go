package gateway

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/modelfile"
)

// The drift guard (shaping.on_drift, shaping.drift_after). A model sets each DSP's
// threshold for its recall target on the days it was trained on; when the DSP changes what
// it buys, the live recall (the estimate the live figures already give: sent bids plus
// explored bids weighted by 1/propensity) falls under the target while the model keeps
// filtering. When a DSP's live recall interval lies wholly below its target (its upper
// bound under the target) for drift_after under the model in force, the DSP has drifted:
//
//   - always: bidsieve_dsp_drift{dsp} is 1, a warning is logged with the figures, the
//     admin page marks the DSP, and drift.json beside model.path lists the drifted DSPs
//     for the next `bidsieve retrain`, which then trains a fresh challenger;
//   - with on_drift shadow, the DSP is also sent everything (decision shadow, so the bid
//     log still records what the filter would have done) until another model is in force.
//
// A new model clears it: the drift belongs to the model it was seen under. The check runs
// every driftEvery on an arriving auction (one at a time), so it costs the hot path
// nothing between checks and needs no goroutine of its own.

// driftEvery is how often the live recall is checked against the targets.
const driftEvery = 10 * time.Second

// drift is one DSP's watch; it outlives reloads with the DSP's runtime.
type drift struct {
	mu         sync.Mutex
	belowSince time.Time // since when the interval has lain below the target; zero: not below
	model      string    // the model version under which belowSince started
	since      time.Time // when the DSP drifted; zero: it has not
	// drifted is the model version the DSP drifted under, read on the hot path; nil or
	// another version: not drifted under the model in force.
	drifted atomic.Pointer[string]
}

// active reports whether the DSP has drifted under the model version in force.
func (d *drift) active(version string) bool {
	v := d.drifted.Load()
	return v != nil && *v == version
}

// observe records one check at now: below is whether the interval lay wholly below the
// target, version the model in force. It reports whether the DSP drifted at this check.
func (d *drift) observe(now time.Time, below bool, after time.Duration, version string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !below || d.model != version {
		d.belowSince, d.model = time.Time{}, version
		if !below {
			return false
		}
	}
	if d.belowSince.IsZero() {
		d.belowSince = now
	}
	if d.active(version) || now.Sub(d.belowSince) < after {
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
		iv := f.Recall()
		below := iv != nil && f.Window >= time.Minute && iv.Upper < d.shaping.RecallTarget
		if !d.rt.drift.observe(now, below, after, st.version) {
			continue
		}
		fresh = true
		action := "alert"
		if st.cfg.Shaping.OnDrift == config.DriftShadow {
			action = "shadow: the DSP is sent everything until another model is in force"
		}
		g.log.Warn("drift: the DSP's live recall has stayed below its target",
			"dsp", d.name, "model", st.version, "target", d.shaping.RecallTarget,
			"recall", iv.Estimate, "recall_lower", iv.Lower, "recall_upper", iv.Upper,
			"for", after.String(), "action", action)
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
