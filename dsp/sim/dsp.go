package sim

import (
	"math"

	"github.com/bidsieve/bidsieve/rnd"
)

// DSP is one simulated DSP, compiled from its profile. It is immutable and safe for
// concurrent use.
type DSP struct {
	Name string

	LatencyMedianMS float64 // median answer time in ms; 0 answers at once
	LatencyP99MS    float64
	TimeoutRate     float64 // share of requests answered after the deadline
	ErrorRate       float64 // share of requests answered with HTTP 500
	QPSLimit        int     // requests per second beyond which it answers 429; 0 for none
	PriceMedianCPM  float64 // lognormal bid price, CPM
	PriceSigma      float64

	intercept    float64
	terms        []term
	hour         *[24]float64
	userID       *[2]float64 // [false, true]
	affinities   []affinity
	interactions []interaction
	require      []match
	pacing       [24]float64

	latMu, latSigma float64
	priceMu         float64
	nameHash        uint64
}

// term is a categorical intent term: a value per listed value, star for the others.
type term struct {
	f      Feature
	values map[string]float64
	star   float64
}

// affinity boosts a seeded pseudo-random share of a feature's values.
type affinity struct {
	f     Feature
	share float64
	boost float64
	base  uint64 // hash of (seed, feature)
}

func (af *affinity) hits(v string) bool {
	return rnd.Unit(rnd.String(af.base, v)) < af.share
}

// match is a condition on one feature: the value is one of a set.
type match struct {
	f      Feature
	values map[string]bool // categorical features
	hours  hourSet         // hour_utc
	uid    [2]bool         // user_id: [false, true]
}

func (m *match) ok(a *Attrs) bool {
	switch m.f {
	case HourUTC:
		return m.hours[a.Hour]
	case UserID:
		return m.uid[b2i(a.UserID)]
	default:
		return m.values[a.value(m.f)]
	}
}

type interaction struct {
	conds []match
	add   float64
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Eval is a DSP's view of one imp.
type Eval struct {
	Eligible bool    // the imp satisfies the DSP's require
	Intent   float64 // logit of wanting the imp
	PBid     float64 // P(bid) = sigmoid(intent) x pacing x P(price >= floor); 0 when not eligible
	TrueP    float64 // PBid x (1 - timeout_rate - error_rate): the chance that a bid arrives
}

// Evaluate computes the DSP's bid probability for an imp.
func (d *DSP) Evaluate(a *Attrs) Eval {
	for i := range d.require {
		if !d.require[i].ok(a) {
			return Eval{}
		}
	}
	x := d.intercept
	for i := range d.terms {
		t := &d.terms[i]
		if v, ok := t.values[a.value(t.f)]; ok {
			x += v
		} else {
			x += t.star
		}
	}
	if d.hour != nil {
		x += d.hour[a.Hour]
	}
	if d.userID != nil {
		x += d.userID[b2i(a.UserID)]
	}
	for i := range d.affinities {
		af := &d.affinities[i]
		if af.hits(a.value(af.f)) {
			x += af.boost
		}
	}
	for i := range d.interactions {
		in := &d.interactions[i]
		all := true
		for j := range in.conds {
			if !in.conds[j].ok(a) {
				all = false
				break
			}
		}
		if all {
			x += in.add
		}
	}
	p := sigmoid(x) * d.pacing[a.Hour] * d.pAbove(a.Floor)
	return Eval{Eligible: true, Intent: x, PBid: p, TrueP: p * (1 - d.TimeoutRate - d.ErrorRate)}
}

// Boosted reports whether one of the DSP's affinities on the named feature boosts value.
func (d *DSP) Boosted(feature, value string) bool {
	f, ok := featureByName(feature)
	if !ok {
		return false
	}
	for i := range d.affinities {
		if d.affinities[i].f == f && d.affinities[i].hits(value) {
			return true
		}
	}
	return false
}

// pAbove is P(price >= floor) for the lognormal price.
func (d *DSP) pAbove(floor float64) float64 {
	if floor <= 0 {
		return 1
	}
	if d.PriceSigma == 0 {
		if d.PriceMedianCPM >= floor {
			return 1
		}
		return 0
	}
	return 0.5 * math.Erfc((math.Log(floor)-d.priceMu)/(d.PriceSigma*math.Sqrt2))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// Fate is how a DSP answers one request.
type Fate uint8

// Fates of a request.
const (
	Answered Fate = iota // answers in time, with bids or without
	TimedOut             // answers after the deadline
	Failed               // answers HTTP 500
)

func (f Fate) String() string {
	switch f {
	case TimedOut:
		return "timeout"
	case Failed:
		return "error"
	}
	return "answered"
}

// latencyCap is the share of the request's tmax below which an answered request's
// latency is truncated: only timeout_rate of the requests miss the deadline.
const latencyCap = 0.8

// DrawRequest draws the DSP's fate for a request and its latency in ms: a pure function
// of (seed, DSP name, request id), so that a DSP answers a request the same way whatever
// else it is sent, in simulate and in dsp-sim alike. An answered request's latency is
// lognormal, truncated at 80% of tmaxMS; a timed-out request's latency is tmaxMS (the
// deadline it missed).
func (d *DSP) DrawRequest(seed uint64, requestID string, tmaxMS int) (Fate, float64) {
	s := rnd.New(rnd.String(rnd.Uint64(d.nameHash, seed), requestID))
	u := s.Float64()
	z := s.Norm()
	lat := 0.0
	if d.LatencyMedianMS > 0 {
		lat = math.Exp(d.latMu + d.latSigma*z)
	}
	switch {
	case u < d.TimeoutRate:
		return TimedOut, float64(tmaxMS)
	case u < d.TimeoutRate+d.ErrorRate:
		return Failed, lat
	}
	if tmaxMS > 0 {
		lat = min(lat, latencyCap*float64(tmaxMS))
	}
	return Answered, lat
}

// DrawBid draws whether the DSP bids on an imp it answers, and its price (CPM): a pure
// function of (seed, DSP name, request id, imp id). ev must be d.Evaluate(a). The DSP
// wants the imp with probability sigmoid(intent) x pacing, draws a lognormal price and
// bids when it wants the imp and the price reaches the floor.
func (d *DSP) DrawBid(seed uint64, requestID, impID string, a *Attrs, ev *Eval) (price float64, ok bool) {
	s := rnd.New(rnd.String(rnd.String(rnd.Uint64(d.nameHash, seed), requestID), impID))
	u := s.Float64()
	z := s.Norm()
	if !ev.Eligible {
		return 0, false
	}
	price = math.Exp(d.priceMu + d.PriceSigma*z)
	want := u < sigmoid(ev.Intent)*d.pacing[a.Hour]
	if !want || price < a.Floor || price <= 0 {
		return 0, false
	}
	return price, true
}
