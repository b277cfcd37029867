package gateway

import (
	"math"
	"sync"
	"time"

	"github.com/bidsieve/bidsieve/config"
)

// Admission by score while a DSP's QPS cap binds (docs/DESIGN.md, "One auction, step by step", step 8: the
// requests with the highest scores go first). The token bucket alone would send the first
// requests of every second and refuse the rest, whatever their scores. Instead, each DSP
// keeps the recent distribution of the scores of the requests that its shaping decision
// sends; when their rate exceeds the cap, a request needs an admission threshold chosen so
// that the expected rate of those above it is admHeadroom of the cap. The token bucket stays
// the hard limit. Requests below the admission threshold are throttled.
const (
	admBins     = 96            // score bins, on the logit scale
	admLogitMin = -16.0         // logit of the lowest bin's lower edge (p about 1e-7)
	admBinWidth = 0.25          // logit units: [-16, 8]
	admWindow   = time.Second   // the estimate is updated once per window
	admHeadroom = 0.95          // share of the cap the admitted rate aims at
	admStale    = 5 * admWindow // after this long without traffic the old estimate is dropped
	admMinRate  = 1e-9          // below this, a bin is empty
	admNoCutoff = math.SmallestNonzeroFloat64
)

// admitCall is the admission of a call that the shaping decision sends, at time now: while
// the DSP's QPS cap binds, a request sent on its score needs the DSP's admission threshold
// (the highest scores go first); every request then needs a token from the DSP's bucket
// (the hard limit). The DSP's health was asked at eligibility (plan.eligible). It returns
// the call's state, admitted or throttled (refused by the cap); it leaves the shaping
// decision as it was. Explored requests skip the admission threshold (they are the
// unbiased sample of the filtered traffic), as do unscored ones (fail-open, shadow, off:
// first come, first served).
func admitCall(c *call, now time.Time) callState {
	d := c.d
	if d.qpsLimit > 0 && c.scored && c.verdict.decision == DecisionSent && d.shaping.Mode == config.ModeFilter &&
		!d.rt.adm.admit(c.score, now, d.qpsLimit) {
		return callThrottled
	}
	if !d.rt.limiter.Allow() {
		return callThrottled
	}
	return callAdmitted
}

// admission is one DSP's admission threshold; it outlives reloads with the DSP's runtime.
type admission struct {
	mu     sync.Mutex
	start  time.Time        // of the current window; zero before the first request
	counts [admBins]float64 // requests of the current window by score bin
	rate   [admBins]float64 // smoothed requests per second by score bin
	primed bool             // rate holds an estimate
	cutoff float64          // the score a request needs; 0: every request goes on
}

// admit counts a request that the shaping decision sends, with its score, and reports
// whether it may go on to the DSP's token bucket: its score reaches the admission threshold
// in force for a cap of limit requests per second (limit > 0).
func (a *admission) admit(score float64, now time.Time, limit int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.start.IsZero() {
		a.start = now
	}
	if el := now.Sub(a.start); el >= admWindow {
		a.roll(el, limit)
		a.start = now
	}
	a.counts[scoreBin(score)]++
	return score >= a.cutoff
}

// threshold returns the admission threshold in force (0: none).
func (a *admission) threshold() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cutoff
}

// roll ends a window of length el: the rates are smoothed over windows (half from the
// window just ended) and the threshold recomputed for the cap.
func (a *admission) roll(el time.Duration, limit int) {
	sec := el.Seconds()
	fresh := !a.primed || el >= admStale
	var total float64
	for b := range a.rate {
		cur := a.counts[b] / sec
		if fresh {
			a.rate[b] = cur
		} else {
			a.rate[b] = 0.5*a.rate[b] + 0.5*cur
		}
		a.counts[b] = 0
		total += a.rate[b]
	}
	a.primed = true
	budget := admHeadroom * float64(limit)
	if total <= budget {
		a.cutoff = 0
		return
	}
	// From the top bin down, admit whole bins while they fit, then the top part of the
	// bin that does not (scores spread evenly within a bin, on the logit scale).
	var cum float64
	for b := admBins - 1; b >= 0; b-- {
		r := a.rate[b]
		if r < admMinRate {
			continue
		}
		if cum+r >= budget {
			frac := (budget - cum) / r
			hi := admLogitMin + float64(b+1)*admBinWidth
			a.cutoff = max(sigmoid(hi-frac*admBinWidth), admNoCutoff)
			return
		}
		cum += r
	}
	a.cutoff = 0
}

// scoreBin is the logit-scale bin of a probability.
func scoreBin(p float64) int {
	p = min(max(p, 1e-12), 1-1e-12)
	b := int(math.Floor((math.Log(p/(1-p)) - admLogitMin) / admBinWidth))
	return min(max(b, 0), admBins-1)
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
