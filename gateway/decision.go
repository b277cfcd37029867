package gateway

import (
	"errors"
	"math"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/rnd"
)

// Decision is what the gateway did with a (request, DSP) pair; the names are the bid log's
// decision column.
type Decision uint8

// Decisions.
const (
	DecisionNone           Decision = iota // not considered (disabled, or targeting does not match)
	DecisionSent                           // sent: shaping off, no threshold, or the score passed the threshold
	DecisionFiltered                       // withheld by the model
	DecisionExplored                       // below the threshold but sent at the exploration rate
	DecisionThrottled                      // the DSP's QPS cap was reached
	DecisionBreakerOpen                    // the DSP's circuit breaker refused it
	DecisionShadow                         // shadow mode: decided, logged, but sent anyway
	DecisionFailOpen                       // no model, the model failed, or it is too old: sent
	DecisionPrivacyBlocked                 // withheld by the privacy signals (package privacy), before any scoring
	numDecisions
)

var decisionNames = [numDecisions]string{
	DecisionNone:        "none",
	DecisionSent:        bidlog.DecisionSent,
	DecisionFiltered:    bidlog.DecisionFiltered,
	DecisionExplored:    bidlog.DecisionExplored,
	DecisionThrottled:   bidlog.DecisionThrottled,
	DecisionBreakerOpen: bidlog.DecisionBreakerOpen,
	DecisionShadow:      bidlog.DecisionShadow,
	DecisionFailOpen:    bidlog.DecisionFailOpen,

	DecisionPrivacyBlocked: bidlog.DecisionPrivacyBlocked,
}

func (d Decision) String() string {
	if d < numDecisions {
		return decisionNames[d]
	}
	return "unknown"
}

// sends reports whether the decision sends the request to the DSP (before admission by
// the QPS cap and the circuit breaker).
func (d Decision) sends() bool {
	switch d {
	case DecisionSent, DecisionExplored, DecisionShadow, DecisionFailOpen:
		return true
	}
	return false
}

var errNoModel = errors.New("no model loaded")

// failReason says why an auction fails open (sends every eligible DSP the request).
type failReason uint8

const (
	failNone       failReason = iota
	failNoModel               // no model is loaded
	failModelError            // the model failed to score the request
	failModelStale            // the model is older than model.max_age
	numFailReasons
)

var failReasonNames = [numFailReasons]string{"", "no_model", "model_error", "model_stale"}

func (f failReason) String() string { return failReasonNames[f] }

// unfilteredReason says why a scored DSP is sent everything in filter or shadow mode.
type unfilteredReason uint8

const (
	unfilteredNone        unfilteredReason = iota
	unfilteredUnknownDSP                   // the model has no calibration for the DSP
	unfilteredNoThreshold                  // it has one, but no threshold (not OK, or the curve misses the target)
	numUnfilteredReasons
)

var unfilteredReasonNames = [numUnfilteredReasons]string{"", "unknown_dsp", "no_threshold"}

// verdict is a decision with the figures the bid log records beside it.
type verdict struct {
	decision   Decision
	propensity float64 // probability that the request was sent, for inverse weighting
	threshold  float64
	// would is, in shadow mode, the decision the filter mode would have made (sent,
	// explored or filtered); DecisionNone otherwise.
	would      Decision
	unfiltered unfilteredReason
}

// decide is the traffic-shaping rule for one (request, DSP) pair, given the DSP's settings
// and threshold in force (d), why the auction fails open (failNone when it does not),
// whether the pair's request score exists and the score, and the exploration draw u in
// [0, 1) of the pair:
//
//   - mode off: sent, the model is not asked;
//   - failing open: fail_open;
//   - no score for the DSP, or no threshold (modelfile.DSP.OperatingThreshold gives
//     none): sent unfiltered, with the reason counted;
//   - score >= threshold: sent, propensity 1;
//   - else u < exploration rate: explored, propensity = the exploration rate;
//   - else filtered, propensity = the exploration rate (the chance it had to be sent).
//
// Shadow mode makes the same decision, records it as would and returns shadow,
// propensity 1: the request is sent, and the bid log keeps the score and the threshold, so
// the filter's decision can be recovered (score >= threshold: sent; below: filtered, or
// explored at the exploration rate).
func decide(d *dspState, fail failReason, scored bool, score, u float64) verdict {
	sh := &d.shaping
	switch {
	case sh.Mode == config.ModeOff:
		return verdict{decision: DecisionSent, propensity: 1}
	case fail != failNone:
		return verdict{decision: DecisionFailOpen, propensity: 1}
	case !scored || !d.known:
		return unfiltered(sh.Mode, unfilteredUnknownDSP)
	case d.source == modelfile.ThresholdNone:
		return unfiltered(sh.Mode, unfilteredNoThreshold)
	}
	v := verdict{decision: DecisionSent, propensity: 1, threshold: d.threshold}
	if !(score >= d.threshold) {
		v.decision, v.propensity = DecisionFiltered, sh.ExplorationRate
		if u < sh.ExplorationRate {
			v.decision = DecisionExplored
		}
	}
	if sh.Mode == config.ModeShadow {
		v.would = v.decision
		v.decision, v.propensity = DecisionShadow, 1
	}
	return v
}

func unfiltered(mode string, why unfilteredReason) verdict {
	v := verdict{decision: DecisionSent, propensity: 1, unfiltered: why}
	if mode == config.ModeShadow {
		v.decision, v.would = DecisionShadow, DecisionSent
	}
	return v
}

// exploreDraw is the exploration draw of a (request, DSP) pair: uniform in [0, 1), a pure
// function of the seed, the request id and the DSP's name (FNV-1a from the seed over the
// id, a terminator and the name, then one splitmix64 step), so that a replay of the same
// requests explores the same ones.
func exploreDraw(seed uint64, requestID, dsp string) float64 {
	return rnd.Float(rnd.SplitMix(rnd.FNV(rnd.String(rnd.FNVOffset^seed, requestID), dsp)))
}

// requestScore is RequestScore over a DSP's pairs, NaN when one is NaN (the scorer does
// not know the DSP).
func requestScore(p []float64) float64 {
	for _, x := range p {
		if math.IsNaN(x) {
			return math.NaN()
		}
	}
	return RequestScore(p)
}
