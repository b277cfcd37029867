package gateway

import (
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/modelfile"
)

// calibrate sets the threshold in force from the model's calibration of the DSP (nil: the
// model does not know it) and the DSP's shaping settings, as a model load does.
func (d *dspState) calibrate(cal *modelfile.DSP) {
	d.known = cal != nil
	d.threshold, d.source = cal.OperatingThreshold(d.shaping.Threshold, d.shaping.RecallTarget)
}

// ReplayDSP is the gateway's shaping rule for one DSP outside a running gateway, for tools
// that replay unfiltered logs through a model to get the log the gateway would have
// written (training/ips): the threshold in force is set as a model load sets it, and each
// (request, DSP) pair is decided as an auction decides it (decide, with the pair's
// exploration draw). The gateway itself does not use it.
type ReplayDSP struct {
	d    dspState
	seed uint64
}

// NewReplayDSP is DSP name with shaping settings sh (config.DSP.ShapingFor), the model's
// calibration cal of the DSP (nil when the model does not know it) and the seed of the
// exploration draws (shaping.seed).
func NewReplayDSP(name string, sh config.DSPShaping, cal *modelfile.DSP, exploreSeed uint64) *ReplayDSP {
	r := &ReplayDSP{d: dspState{name: name, shaping: sh}, seed: exploreSeed}
	r.d.calibrate(cal)
	return r
}

// Threshold is the threshold in force and whether there is one (without one, every pair
// is sent).
func (r *ReplayDSP) Threshold() (float64, bool) {
	return r.d.threshold, r.d.known && r.d.source != modelfile.ThresholdNone
}

// Decide is the decision for the pair of the DSP and request requestID whose request score
// (RequestScore over its imps) is score, scored false when the model gave none: the bid
// log's decision, the propensity and the threshold it records.
func (r *ReplayDSP) Decide(requestID string, scored bool, score float64) (decision string, propensity, threshold float64) {
	v := decideDrawn(&r.d, r.seed, requestID, failNone, scored, score)
	return v.decision.String(), v.propensity, v.threshold
}
