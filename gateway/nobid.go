package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/bidsieve/bidsieve/config"
)

// nbrTechnicalError is OpenRTB's no-bid reason 1, "technical error": every DSP called
// failed or timed out.
const nbrTechnicalError = 1

// noBidBody is the answer to a Prebid client when nothing wins: Prebid.js reads a 204 as
// "error parsing response" and skips its bidder-done event, so it gets a BidResponse with
// an empty seatbid instead.
type noBidBody struct {
	ID      string          `json:"id"`
	SeatBid []struct{}      `json:"seatbid"`
	Cur     string          `json:"cur,omitempty"`
	NBR     *int            `json:"nbr,omitempty"`
	Ext     json.RawMessage `json:"ext,omitempty"`
}

// noBidAnswer returns the status and body of an auction nothing won, as auction.nobid
// says: 204 and no body, or 200 and {"id", "seatbid": [], "cur", "nbr" where known, "ext"
// when ext is not nil}; "auto" gives the 200 to requests from Prebid clients (client: they
// carry ext.prebid, as intake read into prebidAsk).
func (s *settlement) noBidAnswer(mode string, client bool, ext json.RawMessage) (int, []byte) {
	if mode == config.NoBid204 || (mode != config.NoBid200 && !client) {
		return http.StatusNoContent, nil
	}
	out := noBidBody{ID: s.areq.ID, SeatBid: []struct{}{}, Cur: s.areq.Currency, Ext: ext}
	if allCallsFailed(s.calls) {
		nbr := nbrTechnicalError
		out.NBR = &nbr
	}
	b, err := json.Marshal(out)
	if err != nil { // cannot happen: strings and an int
		return http.StatusNoContent, nil
	}
	return http.StatusOK, b
}

// allCallsFailed reports whether the auction called at least one DSP and every call
// failed: an error, or no answer before the deadline.
func allCallsFailed(calls []call) bool {
	sent := 0
	for i := range calls {
		c := &calls[i]
		if !c.sent() {
			continue
		}
		sent++
		if c.answered() && c.ans.err == nil {
			return false
		}
	}
	return sent > 0
}
