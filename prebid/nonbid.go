package prebid

import (
	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/gateway/auction"
)

// NonBidCode is a seatnonbid status code, as the OpenRTB community extension "seat-non-bid"
// and Prebid Server define them: 0 no bid; 100-199 the bidder was called and failed;
// 200-299 it was not called; 300-399 it was called and its bid rejected; 500 and above
// vendor-specific (bidsieve's own, below).
type NonBidCode int

// The standard codes bidsieve uses or may see.
const (
	NoBid                           NonBidCode = 0   // called, answered with no bid
	ErrorGeneral                    NonBidCode = 100 // called, failed
	ErrorTimeout                    NonBidCode = 101 // called, no answer in time
	ErrorInvalidBidResponse         NonBidCode = 102 // called, the answer was not a valid bid response
	ErrorBidderUnreachable          NonBidCode = 103 // called, could not be reached
	RequestBlockedGeneral           NonBidCode = 200 // not called
	RequestBlockedUnsupportedChan   NonBidCode = 201 // not called: it does not buy the channel (site/app/dooh)
	RequestBlockedUnsupportedMedia  NonBidCode = 202 // not called: it does not buy the imp's media type
	RequestBlockedOptimized         NonBidCode = 203 // not called: withheld by traffic shaping (the model)
	RequestBlockedPrivacy           NonBidCode = 204 // not called: privacy (the publisher's consent signals withhold it)
	ResponseRejectedGeneral         NonBidCode = 300 // its bid was rejected
	ResponseRejectedBelowFloor      NonBidCode = 301 // its bid was below the floor
	ResponseRejectedDuplicate       NonBidCode = 302 // its bid duplicated another
	ResponseRejectedBelowDealFloor  NonBidCode = 304 // its bid was below the deal floor
	ResponseRejectedInvalidCreative NonBidCode = 350 // its creative was invalid
	ResponseRejectedSizeNotAllowed  NonBidCode = 351 // its creative's size was not allowed
	ResponseRejectedNotSecure       NonBidCode = 352 // its creative was not secure
	ResponseRejectedIncorrectFormat NonBidCode = 353 // its creative's format was not the imp's
	ResponseRejectedAdvertiser      NonBidCode = 356 // its advertiser is blocked (badv)
)

// bidsieve's own codes, for reasons the standard has no code for (the extension reserves
// 500 and above for vendors). All three say the DSP was not called.
const (
	// RequestBlockedQPSCap: the DSP's QPS cap (dsps[].qps_limit) was reached.
	RequestBlockedQPSCap NonBidCode = 501
	// RequestBlockedBreakerOpen: the DSP's circuit breaker was open after repeated failures.
	RequestBlockedBreakerOpen NonBidCode = 502
	// RequestBlockedNoTime: the auction's deadline left no time to call the DSP.
	RequestBlockedNoTime NonBidCode = 503
)

// CallCode returns the seatnonbid code of a (request, DSP) pair from the bid log's
// decision and outcome (bidlog.Decision*, bidlog.Outcome*), and false when the pair is not
// a non-bid: the DSP bid (its bids' fates are BidCode's and Rejection.NonBidCode's), or
// the pair was never considered (decision "none": disabled, or its targeting did not
// match; the caller says 200, 201 or 202 if it lists those at all).
//
//   - filtered (withheld by the model): 203;
//   - privacy_blocked (withheld by the privacy signals: no consent, no vendor id): 204;
//   - throttled: 501; breaker_open: 502;
//   - sent, explored, shadow or fail_open: by outcome, nobid 0, timeout 101, error 100,
//     not_sent 503.
func CallCode(decision, outcome string) (NonBidCode, bool) {
	switch decision {
	case bidlog.DecisionFiltered:
		return RequestBlockedOptimized, true
	case bidlog.DecisionPrivacyBlocked:
		return RequestBlockedPrivacy, true
	case bidlog.DecisionThrottled:
		return RequestBlockedQPSCap, true
	case bidlog.DecisionBreakerOpen:
		return RequestBlockedBreakerOpen, true
	case bidlog.DecisionSent, bidlog.DecisionExplored, bidlog.DecisionShadow, bidlog.DecisionFailOpen:
	default:
		return 0, false
	}
	switch outcome {
	case bidlog.OutcomeNoBid:
		return NoBid, true
	case bidlog.OutcomeTimeout:
		return ErrorTimeout, true
	case bidlog.OutcomeError:
		return ErrorGeneral, true
	case bidlog.OutcomeNotSent:
		return RequestBlockedNoTime, true
	}
	return 0, false
}

// BidCode returns the seatnonbid code of a bid the auction rejected, and false for a bid
// that won or lost on price (a loss is not a non-bid): below the floor 301, a blocked
// advertiser 356, any other rejection 300.
func BidCode(r auction.Reason) (NonBidCode, bool) {
	switch r {
	case auction.ReasonNone, auction.ReasonOutbid:
		return 0, false
	case auction.ReasonBelowFloor:
		return ResponseRejectedBelowFloor, true
	case auction.ReasonBlockedAdvertiser:
		return ResponseRejectedAdvertiser, true
	}
	return ResponseRejectedGeneral, true
}
