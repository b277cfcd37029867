package gateway

import (
	"errors"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
)

// Decision is what the gateway did with a (request, DSP) pair; the names are the bid log's
// decision column.
type Decision uint8

// Decisions.
const (
	DecisionNone        Decision = iota // not considered (disabled, or targeting does not match)
	DecisionSent                        // sent: shaping off, or the score passed the threshold
	DecisionFiltered                    // withheld by the model
	DecisionExplored                    // below the threshold but sent at the exploration rate
	DecisionThrottled                   // the DSP's QPS cap was reached
	DecisionBreakerOpen                 // the DSP's circuit breaker refused it
	DecisionShadow                      // shadow mode: decided, logged, but sent anyway
	DecisionFailOpen                    // no model, or the model failed: sent
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

// verdict is a decision with the figures the bid log records beside it.
type verdict struct {
	decision   Decision
	propensity float64 // probability that the request was sent, for inverse weighting
	threshold  float64
}

// decide is the traffic-shaping seam: given the DSP's policy in force and, when a model
// scored the request, its score, it says whether the request goes to the DSP. Today it
// never withholds: without scores it fails open, in shadow mode it sends, with shaping off
// it sends. The shaping issue fills in the filter mode (threshold from the model's curve for
// the recall target, exploration with a seeded draw, propensity).
func decide(policy *config.DSPShaping, scored bool, score float64) verdict {
	switch {
	case policy.Mode == config.ModeOff:
		return verdict{decision: DecisionSent, propensity: 1}
	case !scored:
		return verdict{decision: DecisionFailOpen, propensity: 1}
	case policy.Mode == config.ModeShadow:
		return verdict{decision: DecisionShadow, propensity: 1}
	default:
		return verdict{decision: DecisionSent, propensity: 1}
	}
}
