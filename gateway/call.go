package gateway

import (
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/dsp"
	"github.com/bidsieve/bidsieve/privacy"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// impSet is a set of imp indices (MaxImps <= 128).
type impSet [2]uint64

func (s *impSet) add(i int)     { s[i>>6] |= 1 << (i & 63) }
func (s *impSet) del(i int)     { s[i>>6] &^= 1 << (i & 63) }
func (s impSet) has(i int) bool { return s[i>>6]&(1<<(i&63)) != 0 }
func (s impSet) empty() bool    { return s[0]|s[1] == 0 }

func fullSet(n int) (s impSet) {
	for i := range n {
		s.add(i)
	}
	return s
}

// callState is where a call stands. The plan leaves every call withheld (privacy_blocked,
// filtered, breaker_open, throttled, no_time) or admitted; the fan-out moves an admitted call to
// sent (or unsent), and to answered when its report arrives by the deadline. Only the
// auction's goroutine reads or writes it.
type callState uint8

const (
	callPlanned     callState = iota // eligible, not decided yet
	callPrivacy                      // withheld at eligibility by the privacy signals (package privacy)
	callFiltered                     // withheld by the shaping decision
	callBreakerOpen                  // withheld at eligibility: the DSP's breaker is open and the call is not in its trial share
	callRateLimited                  // withheld at eligibility: the DSP answered 429, its send share is lowered (decision throttled)
	callThrottled                    // withheld by the DSP's QPS cap
	callNoTime                       // the decision sends it, but the auction had no time left to
	callAdmitted                     // admitted, not started yet
	callUnsent                       // admitted, but its body could not be encoded
	callSent                         // its goroutine runs; no report by the deadline
	callAnswered                     // it reported by the deadline: its answer may be read
)

// call is one (request, DSP) pair of an auction. The plan fills in everything but ans;
// ans is written by the call's goroutine before it reports, and read by the auction's
// goroutine only once the call is answered.
type call struct {
	d       *dspState
	imps    impSet // the imps offered to the DSP
	state   callState
	verdict verdict // the shaping decision; decision none for a call withheld before it
	score   float64 // the request's score for the DSP: 1 - prod(1 - p_imp)
	scored  bool    // score is the model's
	// req is the request the DSP is sent: the publisher's, or the copy the privacy rules
	// scrubbed for it (privacy.Auction.Apply; shared, read-only); nil when withheld for
	// privacy. priv is the privacy action: why it is withheld, what was scrubbed and why.
	req  *openrtb2.BidRequest
	priv privacy.Action
	// feat is where the call's feature rows start in the plan's feats: 0, or len(imps)
	// when the privacy rules removed the ids behind the user_id feature (its rows read
	// user_id false), so that scores and bid-log rows describe what the DSP saw.
	feat int
	ans  callAnswer
}

// callAnswer is what a DSP call brought back.
type callAnswer struct {
	status  int
	err     error
	latency time.Duration
	resp    *openrtb2.BidResponse // nil without bids
}

// decision is the call's decision as the bid log and the metrics name it: the refusal of
// an open breaker, of a 429 back-off or of the QPS cap when there was one, the shaping
// decision otherwise.
func (c *call) decision() Decision {
	switch c.state {
	case callPrivacy:
		return DecisionPrivacyBlocked
	case callBreakerOpen:
		return DecisionBreakerOpen
	case callThrottled, callRateLimited:
		return DecisionThrottled
	}
	return c.verdict.decision
}

// sent reports whether the call's request went out to the DSP.
func (c *call) sent() bool { return c.state >= callSent }

// answered reports whether the call's answer arrived by the deadline (and may be read).
func (c *call) answered() bool { return c.state == callAnswered }

// bids returns the DSP's answer with bids, nil when there is none (or it came too late).
func (c *call) bids() *openrtb2.BidResponse {
	if !c.answered() {
		return nil
	}
	return c.ans.resp
}

// outcome is the bid-log outcome of the call before its bids are counted: not sent,
// timed out, failed, or no bid.
func (c *call) outcome() string {
	switch {
	case !c.sent():
		return bidlog.OutcomeNotSent
	case !c.answered() || c.ans.err != nil && dsp.KindOf(c.ans.err) == dsp.KindTimeout:
		return bidlog.OutcomeTimeout
	case c.ans.err != nil:
		return bidlog.OutcomeError
	}
	return bidlog.OutcomeNoBid
}
