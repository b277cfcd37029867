package auction

import (
	"math/rand/v2"
	"strings"
)

// Request is what the auction needs to know of a bid request.
type Request struct {
	ID       string   // the auction's id (${AUCTION_ID})
	Currency string   // the auction currency: bids are converted into it, floors are in it
	Cur      []string // currencies the request allows bids in; empty allows every known one
	Imps     []Imp
	BAdv     []string // blocked advertiser domains; subdomains are blocked too
	WSeat    []string // allowed buyer seats; empty allows all
	BSeat    []string // blocked buyer seats
	Seed     uint64   // seeds the tie-breaks
}

// Imp is one impression on sale.
type Imp struct {
	ID    string
	Floor Micros // in the auction currency; 0 for none
}

// Bidder is a DSP taking part.
type Bidder struct {
	Name       string
	Adjustment Adjustment // multiplies its converted prices; NoAdjustment for none
}

// Bid is one bid as a DSP sent it.
type Bid struct {
	Bidder   int    // index into the bidders given to Run
	Seat     string // the DSP's buyer seat (seatbid.seat)
	ImpID    string
	Price    Micros   // as bid, in Currency
	Currency string   // the response's currency; "" means USD
	ADomain  []string // the advertiser's domains
}

// Status is the fate of a bid.
type Status uint8

// Statuses.
const (
	Rejected Status = iota // not a valid bid (see Reason)
	Lost                   // valid, outbid
	Won                    // valid and the highest on its imp
)

// Reason says why a bid was rejected or lost; the names are metric label values.
type Reason uint8

// Reasons.
const (
	ReasonNone              Reason = iota
	ReasonUnknownBidder            // Bidder out of range
	ReasonUnknownImp               // ImpID names no imp of the request
	ReasonPrice                    // price <= 0 or above MaxPrice
	ReasonCurrency                 // unknown currency, or one the request does not allow
	ReasonBlockedSeat              // seat not in wseat, or in bseat
	ReasonBlockedAdvertiser        // an adomain in badv
	ReasonBelowFloor               // adjusted price below the imp's floor
	ReasonOutbid                   // lost to a higher bid
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:              "none",
	ReasonUnknownBidder:     "unknown_bidder",
	ReasonUnknownImp:        "unknown_imp",
	ReasonPrice:             "bad_price",
	ReasonCurrency:          "bad_currency",
	ReasonBlockedSeat:       "blocked_seat",
	ReasonBlockedAdvertiser: "blocked_advertiser",
	ReasonBelowFloor:        "below_floor",
	ReasonOutbid:            "outbid",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Reasons lists every reason, for metric label sets.
func Reasons() []Reason {
	out := make([]Reason, 0, numReasons-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		out = append(out, r)
	}
	return out
}

// OpenRTB loss codes sent in ${AUCTION_LOSS}.
const (
	LossBelowFloor  = 100
	LossHigherBid   = 102
	lossCodeNotSent = 0
)

// Outcome is the fate of one bid.
type Outcome struct {
	Status   Status
	Reason   Reason
	LossCode int    // the loss code for its lurl; 0: no loss notice
	Imp      int    // index into Request.Imps; -1 when unknown
	Price    Micros // the bid converted into the auction currency (0 when rejected before)
	Adjusted Micros // Price with the bid adjustment applied: the ranking price
}

// Win is the sale of one imp.
type Win struct {
	Imp    int    // index into Request.Imps
	Bid    int    // index into the bids given to Run
	Clear  Micros // clearing price in the auction currency: what the publisher is quoted
	Charge Micros // what the DSP pays, in the auction currency: Clear undone of its adjustment
	Second Micros // the second price used (0: none)
}

// Result is the outcome of an auction. Its slices are reused by the next Run given the
// same Result.
type Result struct {
	Outcomes []Outcome // one per bid, in the order of the bids
	Wins     []Win     // at most one per imp, in the order of the imps
}

// Run runs the auction of req on bids from bidders, converting currencies with rates, and
// writes the outcome to res. It is deterministic for a given req.Seed.
func Run(req *Request, bidders []Bidder, bids []Bid, rates *Rates, res *Result) {
	res.Outcomes = grow(res.Outcomes, len(bids))
	res.Wins = res.Wins[:0]
	for i := range bids {
		res.Outcomes[i] = validate(req, bidders, &bids[i], rates)
	}
	for imp := range req.Imps {
		if w, ok := sell(req, imp, bids, res.Outcomes, bidders); ok {
			res.Wins = append(res.Wins, w)
		}
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// validate checks one bid and computes its prices; a valid bid comes out as Lost, to be
// promoted by sell.
func validate(req *Request, bidders []Bidder, b *Bid, rates *Rates) Outcome {
	o := Outcome{Status: Rejected, Imp: -1}
	if b.Bidder < 0 || b.Bidder >= len(bidders) {
		o.Reason = ReasonUnknownBidder
		return o
	}
	for i := range req.Imps {
		if req.Imps[i].ID == b.ImpID {
			o.Imp = i
			break
		}
	}
	if o.Imp < 0 {
		o.Reason = ReasonUnknownImp
		return o
	}
	if b.Price <= 0 || b.Price > MaxPrice {
		o.Reason = ReasonPrice
		return o
	}
	cur := b.Currency
	if cur == "" {
		cur = DefaultCurrency
	}
	if len(req.Cur) > 0 && !contains(req.Cur, cur) {
		o.Reason = ReasonCurrency
		return o
	}
	price, ok := rates.Convert(b.Price, cur, req.Currency)
	if !ok {
		o.Reason = ReasonCurrency
		return o
	}
	adjusted, ok := bidders[b.Bidder].Adjustment.apply(price)
	if !ok || price <= 0 || adjusted <= 0 {
		o.Reason = ReasonPrice
		return o
	}
	o.Price, o.Adjusted = price, adjusted
	if (len(req.WSeat) > 0 && !contains(req.WSeat, b.Seat)) || contains(req.BSeat, b.Seat) {
		o.Reason = ReasonBlockedSeat
		return o
	}
	if blockedAdvertiser(req.BAdv, b.ADomain) {
		o.Reason = ReasonBlockedAdvertiser
		return o
	}
	if adjusted < req.Imps[o.Imp].Floor {
		o.Reason, o.LossCode = ReasonBelowFloor, LossBelowFloor
		return o
	}
	o.Status, o.Reason, o.LossCode = Lost, ReasonOutbid, LossHigherBid
	return o
}

// sell picks the winner of one imp among the valid bids and prices it.
func sell(req *Request, imp int, bids []Bid, out []Outcome, bidders []Bidder) (Win, bool) {
	var pcg rand.PCG
	pcg.Seed(req.Seed, uint64(imp))
	best, ties := -1, uint64(0)
	for i := range out {
		o := &out[i]
		if o.Status != Lost || o.Imp != imp {
			continue
		}
		switch {
		case best < 0 || o.Adjusted > out[best].Adjusted:
			best, ties = i, 1
		case o.Adjusted == out[best].Adjusted:
			ties++ // reservoir sampling: each of the k tied bids wins with probability 1/k
			if pcg.Uint64()%ties == 0 {
				best = i
			}
		}
	}
	if best < 0 {
		return Win{}, false
	}
	winner := bids[best].Bidder
	var second Micros
	for i := range out {
		o := &out[i]
		if o.Status == Lost && o.Imp == imp && bids[i].Bidder != winner && o.Adjusted > second {
			second = o.Adjusted
		}
	}
	floor := req.Imps[imp].Floor
	clearing := max(floor, Increment)
	if second > 0 {
		clearing = max(floor, second+Increment)
	}
	clearing = min(clearing, out[best].Adjusted)
	charge, ok := bidders[winner].Adjustment.undo(clearing)
	if !ok || charge > out[best].Price {
		charge = out[best].Price
	}
	out[best].Status, out[best].Reason, out[best].LossCode = Won, ReasonNone, lossCodeNotSent
	return Win{Imp: imp, Bid: best, Clear: clearing, Charge: charge, Second: second}, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// blockedAdvertiser reports whether a domain of adomain is in badv or a subdomain of one,
// ignoring case.
func blockedAdvertiser(badv, adomain []string) bool {
	for _, d := range adomain {
		for _, b := range badv {
			if b == "" {
				continue
			}
			if strings.EqualFold(d, b) {
				return true
			}
			if len(d) > len(b) && d[len(d)-len(b)-1] == '.' && strings.EqualFold(d[len(d)-len(b):], b) {
				return true
			}
		}
	}
	return false
}
