package gateway

import (
	"encoding/json"
	"strconv"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/dsp"
	"github.com/bidsieve/bidsieve/gateway/auction"
	"github.com/bidsieve/bidsieve/prebid"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// Prebid response extensions. A request that carries ext.prebid comes from a Prebid client
// (Prebid.js's Prebid Server adapter, AMP, the mobile SDKs, a Prebid Server calling
// bidsieve as a bidder); its answer, a 200 whether or not anything sold, carries what such
// clients read:
//
//   - ext.responsetimemillis: per DSP called, how long it took (the auction's whole time
//     budget for a DSP that did not answer in it);
//   - ext.errors: per DSP, Prebid Server's {code, message} for a timeout (1), an unusable
//     answer or a bid refused before the auction (4), a transport failure (999); the
//     messages name the failure, never the DSP's endpoint or an error's text;
//   - ext.seatnonbid, when ext.prebid.returnallbidstatus is true (as Prebid.js sets it
//     with s2sConfig.extPrebid.returnallbidstatus): per DSP and imp offered on which it has
//     no bid in the auction, the reason code (prebid.CallCode, Rejection.NonBidCode,
//     prebid.BidCode), 203 for a call the model withheld;
//   - seatbid[].bid[].ext.prebid.targeting, when ext.prebid.targeting is given: the winner's
//     hb_ keys (prebid.Targeting.Keys) at its clearing price.
//
// Other clients get none of it: their answers are as before.

// prebidAsk is what a request's ext.prebid asks of its answer, read at intake.
type prebidAsk struct {
	client    bool              // the request carries ext.prebid
	allStatus bool              // ext.prebid.returnallbidstatus: ext.seatnonbid
	targeting *prebid.Targeting // ext.prebid.targeting; nil when not asked
}

// readPrebidAsk reads what req's ext.prebid asks into a; an unusable ext.prebid.targeting
// refuses the request, naming the field, as Prebid Server does.
func readPrebidAsk(req *openrtb2.BidRequest, a *prebidAsk) *RequestError {
	p := member(req.Ext, "prebid")
	if len(p) == 0 || string(p) == "null" {
		return nil
	}
	a.client = true
	a.allStatus = string(member(p, "returnallbidstatus")) == "true"
	if t := member(p, "targeting"); len(t) == 0 || string(t) == "null" {
		return nil
	}
	t, err := prebid.ParseTargeting(req.Ext)
	if err != nil {
		return badField("ext.prebid.targeting", "%v", err)
	}
	a.targeting = t
	return nil
}

// responseExt is the answer's BidResponse.ext for a Prebid client, nil for any other.
func (r *run) responseExt() json.RawMessage {
	if !r.ask.client {
		return nil
	}
	s := &r.set
	ext := prebid.ResponseExt{}
	budget := int(r.deadline.Sub(r.start).Milliseconds())
	for i := range s.calls {
		c := &s.calls[i]
		if !c.sent() {
			continue
		}
		if ext.ResponseTimeMillis == nil {
			ext.ResponseTimeMillis = make(map[string]int, len(s.calls))
		}
		ms := budget
		if c.answered() {
			ms = int(c.ans.latency.Milliseconds())
		}
		ext.ResponseTimeMillis[c.d.name] = ms
		if msg, ok := callError(c); ok {
			ext.Errors = addMessage(ext.Errors, c.d.name, msg)
		}
	}
	for _, rb := range s.rejected {
		c := &s.calls[rb.ref.call]
		b := &c.ans.resp.SeatBid[rb.ref.seat].Bid[rb.ref.bid]
		ext.Errors = addMessage(ext.Errors, c.d.name, prebid.Message{
			Code: prebid.ErrorCodeBadServerResponse, Message: "bid " + strconv.Quote(b.ID) + " rejected: " + rb.why.String(),
		})
	}
	if r.ask.allStatus {
		ext.SeatNonBid = r.seatNonBids()
	}
	out, err := json.Marshal(&ext)
	if err != nil { // cannot happen: strings and numbers
		return nil
	}
	return out
}

func addMessage(m map[string][]prebid.Message, dsp string, msg prebid.Message) map[string][]prebid.Message {
	if m == nil {
		m = map[string][]prebid.Message{}
	}
	m[dsp] = append(m[dsp], msg)
	return m
}

// callError is the ext.errors entry of a call that failed: a timeout, an unusable answer,
// a transport failure. The message is the failure's kind (and status), never the error's
// text, which may name the DSP's endpoint.
func callError(c *call) (prebid.Message, bool) {
	switch c.outcome() {
	case bidlog.OutcomeTimeout:
		return prebid.Message{Code: prebid.ErrorCodeTimeout, Message: "timeout: no answer within the auction's time"}, true
	case bidlog.OutcomeError:
	default:
		return prebid.Message{}, false
	}
	switch k := dsp.KindOf(c.ans.err); k {
	case dsp.KindStatus:
		return prebid.Message{Code: prebid.ErrorCodeBadServerResponse, Message: "unexpected status " + strconv.Itoa(c.ans.status)}, true
	case dsp.KindMalformed, dsp.KindTooLarge:
		return prebid.Message{Code: prebid.ErrorCodeBadServerResponse, Message: "unusable answer: " + k.String()}, true
	default:
		return prebid.Message{Code: prebid.ErrorCodeUnknown, Message: "call failed: " + k.String()}, true
	}
}

// seatNonBids lists, per DSP considered and imp it was offered, why it has no bid on that
// imp in the auction: its bid was refused (before the auction or by it), or the call's
// decision and outcome say why (withheld by the model, throttled, breaker open, no bid,
// timeout, error, no time left).
func (r *run) seatNonBids() []prebid.SeatNonBid {
	s := &r.set
	n := len(r.req.Imp)
	// code[i*n+imp]: 0 nothing yet, -1 the DSP has a bid in the auction, else code+1.
	code := make([]int, len(s.calls)*n)
	for k, o := range s.res.Outcomes {
		at := s.refs[k].call*n + o.Imp
		switch {
		case o.Imp < 0:
		case o.Status == auction.Won || o.Status == auction.Lost:
			code[at] = -1
		case code[at] == 0:
			if c, ok := prebid.BidCode(o.Reason); ok {
				code[at] = int(c) + 1
			}
		}
	}
	for _, rb := range s.rejected {
		b := &s.calls[rb.ref.call].ans.resp.SeatBid[rb.ref.seat].Bid[rb.ref.bid]
		if imp := s.impIndex(b.ImpID); imp >= 0 && code[rb.ref.call*n+imp] == 0 {
			code[rb.ref.call*n+imp] = int(rb.why.NonBidCode()) + 1
		}
	}
	var out prebid.SeatNonBids
	for i := range s.calls {
		c := &s.calls[i]
		callCode, callOK := prebid.CallCode(c.decision().String(), c.outcome())
		for imp := 0; imp < n; imp++ {
			if !c.imps.has(imp) {
				continue
			}
			switch v := code[i*n+imp]; {
			case v > 0:
				out.Add(c.d.name, r.req.Imp[imp].ID, prebid.NonBidCode(v-1))
			case v == 0 && callOK:
				out.Add(c.d.name, r.req.Imp[imp].ID, callCode)
			}
		}
	}
	return out.Slice()
}

// setTargeting writes the winning bid b's targeting keys into its ext.prebid.targeting,
// priced at clear, when the request asked for targeting.
func setTargeting(t *prebid.Targeting, app bool, dspName string, b *openrtb2.Bid, clear auction.Micros) {
	if t == nil {
		return
	}
	kvs := t.Keys(nil, &prebid.TargetBid{
		Bidder: dspName, ID: b.ID, Price: clear, Media: prebid.MediaType(b.MType),
		W: b.W, H: b.H, DealID: b.DealID, App: app, Winner: true,
	})
	if ext, ok := prebid.SetTargeting(b.Ext, kvs); ok {
		b.Ext = ext
	}
}
