package dspserver

import (
	"encoding/json"
	"math"
	"net/http"
	"sync/atomic"
)

// counter is an atomic count; addFloat accumulates a quantity in millionths.
type counter struct{ v atomic.Int64 }

func (c *counter) add(n int64)        { c.v.Add(n) }
func (c *counter) addFloat(x float64) { c.v.Add(int64(math.Round(x * 1e6))) }
func (c *counter) load() int64        { return c.v.Load() }
func (c *counter) loadFloat() float64 { return float64(c.v.Load()) / 1e6 }
func (c *counter) reset()             { c.v.Store(0) }

type counters struct {
	requests, throttled, badRequests, imps, bidResponses, bids, nobids, timeouts, errors,
	wins, losses, billed, sumTrueP, spend counter
	offered, wouldBid counter // Truth: requests shown, imps it would bid on
}

// DSPStats are one DSP's counts since the start (or the last reset).
type DSPStats struct {
	Requests     int64   `json:"requests"`      // POST /bid/{name} received, throttled and bad ones included
	Throttled    int64   `json:"throttled"`     // answered 429, over the QPS limit
	BadRequests  int64   `json:"bad_requests"`  // answered 400
	Imps         int64   `json:"imps"`          // imps in the requests it handled (not throttled, not bad)
	SumTrueP     float64 `json:"sum_true_p"`    // sum of true_p over those imps: the bids expected to arrive
	BidResponses int64   `json:"bid_responses"` // answered 200 with bids, in time
	Bids         int64   `json:"bids"`          // bids in those responses (one per imp at most)
	NoBids       int64   `json:"nobids"`        // answered 204 in time
	Timeouts     int64   `json:"timeouts"`      // answered after the deadline (a late 204)
	Errors       int64   `json:"errors"`        // answered 500
	Wins         int64   `json:"wins"`          // win notices (nurl) received
	Losses       int64   `json:"losses"`        // loss notices (lurl) received
	Billed       int64   `json:"billed"`        // billing notices (burl) received
	SpendCPM     float64 `json:"spend_cpm"`     // sum of the clearing prices in win notices, CPM
	// Offered and WouldBid are the ground truth (Truth, POST /truth): the requests shown to
	// the server as offered to the gateway, sent to this DSP or not, and the imps among them
	// it would have bid on in time. Bids / WouldBid is its true recall.
	Offered  int64 `json:"offered"`
	WouldBid int64 `json:"would_bid"`
}

// Stats is the JSON of GET /stats: {"dsps": {"alpha": {...}, ...}}.
type Stats struct {
	DSPs map[string]DSPStats `json:"dsps"`
}

// Stats returns the counts of every DSP.
func (s *Server) Stats() Stats {
	r := s.roster.Load()
	out := Stats{DSPs: make(map[string]DSPStats, len(r.order))}
	for _, st := range r.order {
		c := st.c
		out.DSPs[st.d.Name] = DSPStats{
			Requests: c.requests.load(), Throttled: c.throttled.load(), BadRequests: c.badRequests.load(),
			Imps: c.imps.load(), SumTrueP: c.sumTrueP.loadFloat(),
			BidResponses: c.bidResponses.load(), Bids: c.bids.load(), NoBids: c.nobids.load(),
			Timeouts: c.timeouts.load(), Errors: c.errors.load(),
			Wins: c.wins.load(), Losses: c.losses.load(), Billed: c.billed.load(), SpendCPM: c.spend.loadFloat(),
			Offered: c.offered.load(), WouldBid: c.wouldBid.load(),
		}
	}
	return out
}

// Reset zeroes every count (requests in flight still count when they finish).
func (s *Server) Reset() {
	for _, st := range s.roster.Load().order {
		c := st.c
		for _, x := range []*counter{&c.requests, &c.throttled, &c.badRequests, &c.imps, &c.bidResponses,
			&c.bids, &c.nobids, &c.timeouts, &c.errors, &c.wins, &c.losses, &c.billed, &c.sumTrueP, &c.spend, &c.offered, &c.wouldBid} {
			x.reset()
		}
	}
}

func (s *Server) stats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(s.Stats()) // a client gone is not our error
}

func (s *Server) reset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}
