package gateway

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/bidsieve/bidsieve/gateway/auction"
	"github.com/bidsieve/bidsieve/prebid"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// bidRef locates one bid of the auction in its DSP's answer.
type bidRef struct{ call, seat, bid int }

// settlement is the settle stage's output: the auction's request and calls it settled,
// the bids taken from the answers (refs[k] says where bids[k] came from), the bids
// refused before the auction and the result.
type settlement struct {
	areq     *auction.Request
	calls    []call
	bids     []auction.Bid
	refs     []bidRef
	rejected []rejectedBid
	res      auction.Result
}

// rejectedBid is a DSP's bid that prebid.Complete refused: it never entered the auction.
type rejectedBid struct {
	ref bidRef
	why prebid.Rejection
}

// settle turns the answers of the calls into auction bids and runs the auction on areq.
// Each bid is first validated and completed against the imp it names (prebid.Complete:
// id, impid and crid required, media type and size filled in from the imp where it has
// one, a media type the imp did not offer refused); a bid on an imp its DSP was not
// offered is refused as an unknown imp. It counts the bids, wins, rejected and invalid
// bids per DSP.
func (g *Gateway) settle(st *state, req *openrtb2.BidRequest, areq *auction.Request, calls []call, s *settlement) {
	s.areq, s.calls = areq, calls
	n := 0
	for i := range calls {
		if resp := calls[i].bids(); resp != nil {
			for sb := range resp.SeatBid {
				n += len(resp.SeatBid[sb].Bid)
			}
		}
	}
	s.bids = make([]auction.Bid, 0, n)
	s.refs = make([]bidRef, 0, n)
	s.rejected = s.rejected[:0]
	for i := range calls {
		c := &calls[i]
		resp := c.bids()
		if resp == nil {
			continue
		}
		for si := range resp.SeatBid {
			sb := &resp.SeatBid[si]
			for b := range sb.Bid {
				bid := &sb.Bid[b]
				ref := bidRef{call: i, seat: si, bid: b}
				var imp *openrtb2.Imp // nil: an imp the DSP was not offered is unknown to it
				if k := s.impIndex(bid.ImpID); k >= 0 && c.imps.has(k) {
					imp = &req.Imp[k]
				}
				if why := prebid.Complete(bid, imp); why != prebid.RejectNone {
					s.rejected = append(s.rejected, rejectedBid{ref: ref, why: why})
					continue
				}
				price, ok := auction.FromFloat(bid.Price)
				if !ok {
					price = -1 // refused by the auction as a bad price
				}
				s.bids = append(s.bids, auction.Bid{
					Bidder: c.d.idx, Seat: sb.Seat, ImpID: bid.ImpID, Price: price, Currency: resp.Cur, ADomain: bid.ADomain,
				})
				s.refs = append(s.refs, ref)
			}
		}
	}
	auction.Run(areq, st.bidders, s.bids, st.rates, &s.res)
	g.countBids(s)
}

// countBids counts the auction's outcomes per DSP: bids, wins, invalid bids by reason
// (those refused before the auction and those the auction refused, in one metric).
func (g *Gateway) countBids(s *settlement) {
	ctx := context.Background()
	for _, rb := range s.rejected {
		if m := s.calls[rb.ref.call].d.m; int(rb.why) < len(m.rejected) {
			g.m.dspInvalidBids.Add(ctx, 1, m.rejected[rb.why]...)
		}
	}
	for k, o := range s.res.Outcomes {
		m := s.calls[s.refs[k].call].d.m
		switch o.Status {
		case auction.Won:
			g.m.dspBids.Add(ctx, 1, m.dsp...)
			g.m.dspWins.Add(ctx, 1, m.dsp...)
		case auction.Lost:
			g.m.dspBids.Add(ctx, 1, m.dsp...)
		default:
			if int(o.Reason) < numReasonSlots && m.invalid[o.Reason] != nil {
				g.m.dspInvalidBids.Add(ctx, 1, m.invalid[o.Reason]...)
			}
		}
	}
}

func (s *settlement) impIndex(id string) int {
	for i := range s.areq.Imps {
		if s.areq.Imps[i].ID == id {
			return i
		}
	}
	return -1
}

// bidOf returns the DSP's bid behind auction bid k.
func (s *settlement) bidOf(k int) (*call, *openrtb2.SeatBid, *openrtb2.Bid) {
	ref := s.refs[k]
	c := &s.calls[ref.call]
	sb := &c.ans.resp.SeatBid[ref.seat]
	return c, sb, &sb.Bid[ref.bid]
}

// macros are the substitutions for one of the DSP's bids, at price with loss code loss.
func (s *settlement) macros(c *call, sb *openrtb2.SeatBid, b *openrtb2.Bid, price auction.Micros, loss int) auction.Macros {
	bidID := c.ans.resp.BidID
	if bidID == "" {
		bidID = b.ID
	}
	return auction.Macros{
		AuctionID: s.areq.ID, BidID: bidID, ImpID: b.ImpID, SeatID: sb.Seat, AdID: b.AdID,
		Price: price, Currency: s.areq.Currency, Loss: loss,
	}
}

// reply is the publisher's answer: its HTTP status and body (none for 204), and whether
// anything sold.
type reply struct {
	status int
	body   []byte
	sold   bool
}

// answer is the publisher's answer to run r: 200 with the winners' BidResponse or, when
// nothing sold, the no-bid answer that auction.nobid gives (noBidAnswer); a Prebid
// client's carries the Prebid response extensions (respext.go).
func (g *Gateway) answer(r *run) reply {
	s := &r.set
	ext := r.responseExt()
	if len(s.res.Wins) > 0 {
		out, err := json.Marshal(s.response(&r.ask, r.req.App != nil, ext))
		if err == nil {
			return reply{status: http.StatusOK, body: out, sold: true}
		}
		// Cannot happen with openrtb2 types; never blame the publisher.
		g.log.Error("encode bid response", "err", err)
	}
	status, body := s.noBidAnswer(r.st.cfg.Auction.NoBid, r.ask.client, ext)
	return reply{status: status, body: body}
}

// response builds the publisher's BidResponse: one seatbid per winning DSP (seat = the
// DSP's name), each winning bid priced at its clearing price, macros substituted in adm
// and burl, targeting keys added where ask asks for them; nurl and lurl are the gateway's
// to fire, so they are not passed on. ext is the response's ext (nil: none).
func (s *settlement) response(ask *prebidAsk, app bool, ext json.RawMessage) *openrtb2.BidResponse {
	resp := &openrtb2.BidResponse{ID: s.areq.ID, Cur: s.areq.Currency, Ext: ext}
	for _, w := range s.res.Wins {
		c, sb, orig := s.bidOf(w.Bid)
		m := s.macros(c, sb, orig, w.Charge, 0)
		b := *orig
		b.Price = w.Clear.Float()
		b.AdM = auction.Expand(b.AdM, &m, false)
		b.BURL = auction.Expand(b.BURL, &m, true)
		b.NURL, b.LURL = "", ""
		setTargeting(ask.targeting, app, c.d.name, &b, w.Clear)
		k := -1
		for j := range resp.SeatBid {
			if resp.SeatBid[j].Seat == c.d.name {
				k = j
			}
		}
		if k < 0 {
			resp.SeatBid = append(resp.SeatBid, openrtb2.SeatBid{Seat: c.d.name})
			k = len(resp.SeatBid) - 1
		}
		resp.SeatBid[k].Bid = append(resp.SeatBid[k].Bid, b)
	}
	return resp
}
