package gateway

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/bidsieve/bidsieve/gateway/auction"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// bidRef locates one bid of the auction in its DSP's answer.
type bidRef struct{ call, seat, bid int }

// settlement is the settle stage's output: the auction's request and calls it settled,
// the bids taken from the answers (refs[k] says where bids[k] came from) and the result.
type settlement struct {
	areq  *auction.Request
	calls []call
	bids  []auction.Bid
	refs  []bidRef
	res   auction.Result
}

// settle turns the answers of the calls into auction bids and runs the auction on areq:
// a bid on an imp its DSP was not offered is refused as an unknown imp. It counts the
// bids, wins and invalid bids per DSP.
func (g *Gateway) settle(st *state, areq *auction.Request, calls []call, s *settlement) {
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
				price, ok := auction.FromFloat(bid.Price)
				if !ok {
					price = -1 // refused by the auction as a bad price
				}
				impID := bid.ImpID
				if k := s.impIndex(impID); k >= 0 && !c.imps.has(k) {
					impID = "" // an imp this DSP was not offered is unknown to it ("" is no valid imp id)
				}
				s.bids = append(s.bids, auction.Bid{
					Bidder: c.d.idx, Seat: sb.Seat, ImpID: impID, Price: price, Currency: resp.Cur, ADomain: bid.ADomain,
				})
				s.refs = append(s.refs, bidRef{call: i, seat: si, bid: b})
			}
		}
	}
	auction.Run(areq, st.bidders, s.bids, st.rates, &s.res)
	g.countBids(s)
}

// countBids counts the auction's outcomes per DSP: bids, wins, invalid bids by reason.
func (g *Gateway) countBids(s *settlement) {
	ctx := context.Background()
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

// answer is the publisher's answer to req: 200 with the winners' BidResponse or, when
// nothing sold, the no-bid answer that auction.nobid (mode) gives (noBidAnswer).
func (g *Gateway) answer(mode string, req *openrtb2.BidRequest, s *settlement) reply {
	if len(s.res.Wins) > 0 {
		out, err := json.Marshal(s.response())
		if err == nil {
			return reply{status: http.StatusOK, body: out, sold: true}
		}
		// Cannot happen with openrtb2 types; never blame the publisher.
		g.log.Error("encode bid response", "err", err)
	}
	status, body := s.noBidAnswer(mode, req)
	return reply{status: status, body: body}
}

// response builds the publisher's BidResponse: one seatbid per winning DSP (seat = the
// DSP's name), each winning bid priced at its clearing price, macros substituted in adm
// and burl; nurl and lurl are the gateway's to fire, so they are not passed on.
func (s *settlement) response() *openrtb2.BidResponse {
	resp := &openrtb2.BidResponse{ID: s.areq.ID, Cur: s.areq.Currency}
	for _, w := range s.res.Wins {
		c, sb, orig := s.bidOf(w.Bid)
		m := s.macros(c, sb, orig, w.Charge, 0)
		b := *orig
		b.Price = w.Clear.Float()
		b.AdM = auction.Expand(b.AdM, &m, false)
		b.BURL = auction.Expand(b.BURL, &m, true)
		b.NURL, b.LURL = "", ""
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
