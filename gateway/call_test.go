package gateway

import (
	"errors"
	"testing"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/dsp"
)

// A call's bid-log decision and outcome follow from its state: a refusal by the QPS cap or
// the breaker is logged as such, whatever the shaping decision was, and only an answer that
// arrived in time is read.
func TestCallDecisionAndOutcome(t *testing.T) {
	sent := verdict{decision: DecisionSent, propensity: 1}
	explored := verdict{decision: DecisionExplored, propensity: 0.25}
	timeout := &dsp.Error{Kind: dsp.KindTimeout, Err: errors.New("deadline")}
	tests := []struct {
		name     string
		c        call
		decision Decision
		outcome  string
	}{
		{"withheld for privacy", call{state: callPrivacy}, DecisionPrivacyBlocked, bidlog.OutcomeNotSent},
		{"breaker open at eligibility", call{state: callBreakerOpen}, DecisionBreakerOpen, bidlog.OutcomeNotSent},
		{"filtered", call{state: callFiltered, verdict: verdict{decision: DecisionFiltered, propensity: 0.25}}, DecisionFiltered, bidlog.OutcomeNotSent},
		{"explored, then throttled", call{state: callThrottled, verdict: explored}, DecisionThrottled, bidlog.OutcomeNotSent},
		{"sent, then the breaker refused", call{state: callBreakerOpen, verdict: sent}, DecisionBreakerOpen, bidlog.OutcomeNotSent},
		{"no time left", call{state: callNoTime, verdict: sent}, DecisionSent, bidlog.OutcomeNotSent},
		{"not encoded", call{state: callUnsent, verdict: sent}, DecisionSent, bidlog.OutcomeNotSent},
		{"no answer by the deadline", call{state: callSent, verdict: explored, ans: callAnswer{status: 200}}, DecisionExplored, bidlog.OutcomeTimeout},
		{"answered: timed out", call{state: callAnswered, verdict: sent, ans: callAnswer{err: timeout}}, DecisionSent, bidlog.OutcomeTimeout},
		{"answered: failed", call{state: callAnswered, verdict: sent, ans: callAnswer{err: errors.New("refused")}}, DecisionSent, bidlog.OutcomeError},
		{"answered: no bid", call{state: callAnswered, verdict: sent, ans: callAnswer{status: 204}}, DecisionSent, bidlog.OutcomeNoBid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.decision(); got != tt.decision {
				t.Errorf("decision %s, want %s", got, tt.decision)
			}
			if got := tt.c.outcome(); got != tt.outcome {
				t.Errorf("outcome %s, want %s", got, tt.outcome)
			}
		})
	}
}
