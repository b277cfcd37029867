package prebid

import (
	"encoding/json"
	"testing"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/gateway/auction"
)

// TestCallCode: the seatnonbid code of every (decision, outcome) a DSP can end an auction
// with, and no code where the DSP bid or was never considered.
func TestCallCode(t *testing.T) {
	tests := []struct {
		decision, outcome string
		want              NonBidCode
		ok                bool
	}{
		{bidlog.DecisionFiltered, bidlog.OutcomeNotSent, 203, true},
		{bidlog.DecisionPrivacyBlocked, bidlog.OutcomeNotSent, 204, true},
		{bidlog.DecisionThrottled, bidlog.OutcomeNotSent, 501, true},
		{bidlog.DecisionBreakerOpen, bidlog.OutcomeNotSent, 502, true},
		{bidlog.DecisionSent, bidlog.OutcomeNoBid, 0, true},
		{bidlog.DecisionSent, bidlog.OutcomeTimeout, 101, true},
		{bidlog.DecisionSent, bidlog.OutcomeError, 100, true},
		{bidlog.DecisionSent, bidlog.OutcomeNotSent, 503, true},
		{bidlog.DecisionExplored, bidlog.OutcomeNoBid, 0, true},
		{bidlog.DecisionShadow, bidlog.OutcomeTimeout, 101, true},
		{bidlog.DecisionFailOpen, bidlog.OutcomeError, 100, true},
		{bidlog.DecisionSent, bidlog.OutcomeBid, 0, false},
		{"none", bidlog.OutcomeNotSent, 0, false},
		{bidlog.DecisionSent, "weird", 0, false},
	}
	for _, tt := range tests {
		got, ok := CallCode(tt.decision, tt.outcome)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CallCode(%s, %s) = %d, %v; want %d, %v", tt.decision, tt.outcome, got, ok, tt.want, tt.ok)
		}
	}
}

// TestBidCode: the code of each auction rejection; won and outbid bids are not non-bids.
func TestBidCode(t *testing.T) {
	want := map[auction.Reason]NonBidCode{
		auction.ReasonBelowFloor:        301,
		auction.ReasonBlockedAdvertiser: 356,
		auction.ReasonUnknownImp:        300,
		auction.ReasonPrice:             300,
		auction.ReasonCurrency:          300,
		auction.ReasonBlockedSeat:       300,
		auction.ReasonUnknownBidder:     300,
	}
	for _, r := range auction.Reasons() {
		got, ok := BidCode(r)
		if r == auction.ReasonOutbid {
			if ok {
				t.Errorf("outbid gave code %d", got)
			}
			continue
		}
		if w, known := want[r]; !known || !ok || got != w {
			t.Errorf("BidCode(%v) = %d, %v; want %d", r, got, ok, w)
		}
	}
	if _, ok := BidCode(auction.ReasonNone); ok {
		t.Error("a winning bid gave a code")
	}
}

// TestRejectionCodes: every rejection of Complete maps to a response-rejected code.
func TestRejectionCodes(t *testing.T) {
	want := map[Rejection]NonBidCode{
		RejectMediaTypeNotOffered: 353, RejectAmbiguousMediaType: 353, RejectInvalidMediaType: 353,
		RejectMediaTypeConflict: 353, RejectVideoWithoutAdM: 350,
	}
	for _, r := range Rejections() {
		w, ok := want[r]
		if !ok {
			w = 300
		}
		if got := r.NonBidCode(); got != w {
			t.Errorf("%v: code %d, want %d", r, got, w)
		}
	}
	if RejectNone.NonBidCode() != NoBid {
		t.Error("RejectNone is not NoBid")
	}
}

// TestResponseExtJSON: the shapes a Prebid client reads, seats in the order added.
func TestResponseExtJSON(t *testing.T) {
	var s SeatNonBids
	if s.Slice() != nil {
		t.Fatal("empty builder is not nil")
	}
	s.Add("dspb", "1", RequestBlockedOptimized)
	s.Add("dspa", "1", ErrorTimeout)
	s.Add("dspb", "2", RequestBlockedOptimized)
	ext := ResponseExt{
		ResponseTimeMillis: map[string]int{"dspa": 120},
		Errors:             map[string][]Message{"dspa": {{Code: ErrorCodeTimeout, Message: "timeout"}}},
		SeatNonBid:         s.Slice(),
	}
	b, err := json.Marshal(ext)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"responsetimemillis":{"dspa":120},"errors":{"dspa":[{"code":1,"message":"timeout"}]},` +
		`"seatnonbid":[{"seat":"dspb","nonbid":[{"impid":"1","statuscode":203},{"impid":"2","statuscode":203}]},` +
		`{"seat":"dspa","nonbid":[{"impid":"1","statuscode":101}]}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if b, _ := json.Marshal(ResponseExt{}); string(b) != `{}` {
		t.Errorf("empty ext is %s", b)
	}
}
